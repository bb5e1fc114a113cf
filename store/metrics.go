package store

import "github.com/prometheus/client_golang/prometheus"

// committerMetrics are a Committer's Prometheus metrics, labelled with its
// backend. They are always kept (a histogram observation per batch is
// cheap) and exposed only if the caller registers Collector().
type committerMetrics struct {
	latency       prometheus.Histogram
	failed, stale prometheus.Counter
	all           []prometheus.Collector
}

func newCommitterMetrics(c *Committer, backend string) *committerMetrics {
	labels := prometheus.Labels{"backend": backend}
	m := &committerMetrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "leitai_journal_commit_seconds",
			Help:        "Time to write one journal batch durably: its transaction, commit and flush.",
			ConstLabels: labels,
			Buckets:     []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1},
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "leitai_journal_failed_entries_total",
			Help:        "Journal entries whose write failed or was refused (their answers got unavailable).",
			ConstLabels: labels,
		}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "leitai_journal_stale_entries_total",
			Help:        "Journal entries refused because another node has taken their room over (a stale epoch).",
			ConstLabels: labels,
		}),
	}
	batches := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "leitai_journal_batches_total",
		Help:        "Journal batches written, each one transaction and one flush.",
		ConstLabels: labels,
	}, func() float64 { b, _ := c.Stats(); return float64(b) })
	entries := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "leitai_journal_entries_total",
		Help:        "Journal entries written in those batches.",
		ConstLabels: labels,
	}, func() float64 { _, e := c.Stats(); return float64(e) })
	m.all = []prometheus.Collector{batches, entries, m.latency, m.failed, m.stale}
	return m
}

// Collector returns the committer's metrics for the caller to register:
// leitai_journal_batches_total, leitai_journal_entries_total,
// leitai_journal_commit_seconds (a histogram),
// leitai_journal_failed_entries_total and
// leitai_journal_stale_entries_total, each labelled backend="sqlite" or
// "postgres". The first two replace the unlabelled ones of the same names
// a registry may already have from Stats.
func (c *Committer) Collector() prometheus.Collector { return collectors(c.metrics.all) }

// collectors is several collectors as one.
type collectors []prometheus.Collector

func (cs collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

func (cs collectors) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}
