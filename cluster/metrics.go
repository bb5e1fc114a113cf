package cluster

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a bus's Prometheus metrics, labelled with the node id. The
// caller makes them, registers them on its registry and hands them to the
// bus; a nil *Metrics records nothing.
type Metrics struct {
	// PublishSeconds is the time a Publish call takes, the Redis round trip
	// included.
	PublishSeconds prometheus.Histogram
	Published      prometheus.Counter
	Received       prometheus.Counter
	LeasesHeld     prometheus.Gauge
	// LeasesTakenOver counts lapsed leases this node took from another
	// holder: each one a room whose owner died or stalled.
	LeasesTakenOver prometheus.Counter
}

// NewMetrics makes the bus metrics of node.
func NewMetrics(node NodeID) *Metrics {
	l := prometheus.Labels{"node": string(node)}
	return &Metrics{
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "leitai_bus_publish_seconds", Help: "Time to publish one message on the cluster bus.", ConstLabels: l,
			Buckets: []float64{.0001, .0002, .0005, .001, .002, .005, .01, .02, .05, .1, .5},
		}),
		Published:       prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_bus_published_total", Help: "Messages published on the cluster bus.", ConstLabels: l}),
		Received:        prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_bus_received_total", Help: "Messages delivered to this node's bus subscribers.", ConstLabels: l}),
		LeasesHeld:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "leitai_leases_held", Help: "Leases (rooms) this node holds.", ConstLabels: l}),
		LeasesTakenOver: prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_leases_taken_over_total", Help: "Lapsed leases this node took over from another holder.", ConstLabels: l}),
	}
}

// Collectors lists the metrics for a registry's MustRegister.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.PublishSeconds, m.Published, m.Received, m.LeasesHeld, m.LeasesTakenOver}
}

// Register registers every metric on r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range m.Collectors() {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) published(d time.Duration) {
	if m != nil {
		m.Published.Inc()
		m.PublishSeconds.Observe(d.Seconds())
	}
}

func (m *Metrics) received() {
	if m != nil {
		m.Received.Inc()
	}
}

func (m *Metrics) setHeld(n int) {
	if m != nil {
		m.LeasesHeld.Set(float64(n))
	}
}

func (m *Metrics) tookOver() {
	if m != nil {
		m.LeasesTakenOver.Inc()
	}
}
