package cluster

import (
	"sync"
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
	// Published and Received count every message, whatever its channel.
	Published prometheus.Counter
	Received  prometheus.Counter
	// Messages counts messages by direction ("published", "received") and
	// channel class (see ChannelClass), for the buses that say which
	// channel a message was on.
	Messages *prometheus.CounterVec
	// SubscriptionDrops counts the times a subscription's connection
	// dropped (Redis restarted, or cut a subscriber that fell behind its
	// pub/sub output limit): what was published until it came back is
	// lost, and the node resyncs (see Resubscriber).
	SubscriptionDrops prometheus.Counter
	LeasesHeld        prometheus.Gauge
	// LeasesTakenOver counts lapsed leases this node took from another
	// holder: each one a room whose owner died or stalled.
	LeasesTakenOver prometheus.Counter

	// mu guards classes: the channel classes seen, at most maxClasses.
	mu      sync.Mutex
	classes map[string]bool
}

// maxClasses bounds the class label's values: channels beyond it count as
// "other", so a naming mistake cannot grow the metrics without bound.
const maxClasses = 32

// NewMetrics makes the bus metrics of node.
func NewMetrics(node NodeID) *Metrics {
	l := prometheus.Labels{"node": string(node)}
	return &Metrics{
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "leitai_bus_publish_seconds", Help: "Time to publish one message on the cluster bus.", ConstLabels: l,
			Buckets: []float64{.0001, .0002, .0005, .001, .002, .005, .01, .02, .05, .1, .5},
		}),
		Published: prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_bus_published_total", Help: "Messages published on the cluster bus.", ConstLabels: l}),
		Received:  prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_bus_received_total", Help: "Messages delivered to this node's bus subscribers.", ConstLabels: l}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leitai_bus_messages_total",
			Help: "Bus messages by direction (published, received) and channel class (the channel name up to its first ':').", ConstLabels: l},
			[]string{"direction", "class"}),
		SubscriptionDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_bus_subscription_drops_total",
			Help: "Times a bus subscription's connection dropped; messages published until it came back are lost.", ConstLabels: l}),
		LeasesHeld:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "leitai_leases_held", Help: "Leases (rooms) this node holds.", ConstLabels: l}),
		LeasesTakenOver: prometheus.NewCounter(prometheus.CounterOpts{Name: "leitai_leases_taken_over_total", Help: "Lapsed leases this node took over from another holder.", ConstLabels: l}),
		classes:         map[string]bool{},
	}
}

// Collectors lists the metrics for a registry's MustRegister.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.PublishSeconds, m.Published, m.Received, m.Messages, m.SubscriptionDrops, m.LeasesHeld, m.LeasesTakenOver}
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

// ChannelClass is the class a channel's messages are counted under: its
// name up to the first ':' ("room:4f2a…" is "room"), or the whole name
// when it has none, if that is 1 to 24 lowercase letters, digits, '_' or
// '-'; "other" otherwise.
func ChannelClass(channel string) string {
	c := channel
	for i := 0; i < len(c); i++ {
		if c[i] == ':' {
			c = c[:i]
			break
		}
	}
	if c == "" || len(c) > 24 {
		return "other"
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "other"
		}
	}
	return c
}

// class is channel's class, "other" once maxClasses classes were seen.
func (m *Metrics) class(channel string) string {
	c := ChannelClass(channel)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.classes[c] {
		if len(m.classes) >= maxClasses {
			return "other"
		}
		m.classes[c] = true
	}
	return c
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

// publishedOn records a publish on channel: the totals and its class.
func (m *Metrics) publishedOn(channel string, d time.Duration) {
	if m != nil {
		m.published(d)
		m.Messages.WithLabelValues("published", m.class(channel)).Inc()
	}
}

// receivedOn records a delivery from channel: the total and its class.
func (m *Metrics) receivedOn(channel string) {
	if m != nil {
		m.received()
		m.Messages.WithLabelValues("received", m.class(channel)).Inc()
	}
}

func (m *Metrics) subscriptionDropped() {
	if m != nil {
		m.SubscriptionDrops.Inc()
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
