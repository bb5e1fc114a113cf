package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leitai/leitai/gateway"
	"github.com/leitai/leitai/internal/version"
	"github.com/leitai/leitai/store"
)

// metrics are the node's Prometheus metrics, on a registry of its own so
// several servers can live in one test process.
type metrics struct {
	reg      *prometheus.Registry
	rooms    prometheus.Counter
	finished prometheus.Counter
	// gateway are the connections' instruments, see gateway.Metrics.
	gateway gateway.Metrics
}

func newMetrics(journal *store.Committer, node string, extra []prometheus.Collector) *metrics {
	m := &metrics{
		reg:      prometheus.NewRegistry(),
		rooms:    prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_rooms_opened_total", Help: "Rooms opened."}),
		finished: prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_rooms_finished_total", Help: "Rooms finished."}),
	}
	g := &m.gateway
	*g = gateway.Metrics{
		Conns:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "leitai_connections", Help: "Open WebSocket connections."}),
		Messages: prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_messages_total", Help: "Inbound WebSocket messages."}),
		Answers:  prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_answers_total", Help: "Answers accepted."}),
		Slow:     prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_slow_disconnects_total", Help: "Connections closed because their send queue filled."}),
		Refused:  prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_refused_connections_total", Help: "Connections refused by the per-address limit."}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "leitai_answer_ack_seconds",
			Help:    "From reading an answer to writing its ack to the socket: durable write included.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .15, .2, .3, .5, 1, 2, 5},
		}),
	}
	g.RateLimited = prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_rate_limited_total", Help: "Messages refused by a rate limit (at most one rate_limited reply a second)."})
	g.AnswerWaits = prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_answer_reply_waits_total", Help: "Times an answer relayed to another node outwaited the reply wait and went on waiting, its room's owner alive."})
	v := version.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "leitai_build_info", Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": v.Version, "commit": v.Commit, "goversion": v.GoVersion}})
	build.Set(1)
	var reg prometheus.Registerer = m.reg
	if node != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, m.reg)
	}
	reg.MustRegister(build, g.Conns, g.Messages, g.Answers, g.Slow, g.Refused, g.RateLimited, g.AnswerWaits, m.rooms, m.finished, g.AckLatency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	// The journal's metrics are the committer's own, labelled with its
	// backend (sqlite or postgres): batches, entries, commit time, failed
	// and stale entries.
	if journal != nil {
		reg.MustRegister(journal.Collector())
	}
	// Collectors of other parts (the bus's) carry their own node label.
	for _, c := range extra {
		m.reg.MustRegister(c)
	}
	return m
}

// metricsHandler serves the node's metrics in the Prometheus text format.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// serveMetrics serves GET /metrics on the metrics listener, if the server
// has one (then the main listener does not serve it), until stop is
// called; stop shuts it down and waits for it.
func (s *Server) serveMetrics() (stop func()) {
	if s.metricsLn == nil {
		return func() {}
	}
	m := http.NewServeMux()
	m.Handle("GET /metrics", s.metricsHandler())
	srv := s.httpServer(secure(m))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(s.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("metrics listener")
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}
