package loadgen

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// counters are a run's tallies; the atomics are safe from any goroutine.
type counters struct {
	open, peakOpen, dialFailed, welcomed, lost, forced atomic.Int64

	finds, timeouts, matchesFound                     atomic.Int64
	finishedWarmup, finishedWindow, finishedDrain     atomic.Int64
	answersSent, acked, duplicates, answerErrs        atomic.Int64
	answersWindow, revealBeforeAck, finishedBeforeAck atomic.Int64

	// mu guards the following fields.
	mu         sync.Mutex
	errors     map[string]int64
	violations map[string]int64
	samples    []string // the first error text of the first few codes, for diagnosis
}

// maxSamples bounds the error texts kept.
const maxSamples = 8

func (c *counters) opened() {
	n := c.open.Add(1)
	for {
		p := c.peakOpen.Load()
		if n <= p || c.peakOpen.CompareAndSwap(p, n) {
			return
		}
	}
}

// fail counts an error by its code; text, if any, may be kept as a sample.
func (c *counters) fail(code, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errors == nil {
		c.errors = map[string]int64{}
	}
	c.errors[code]++
	if text != "" && c.errors[code] == 1 && len(c.samples) < maxSamples {
		c.samples = append(c.samples, code+": "+text)
	}
}

// violation counts a broken promise of the server (a player matched twice).
func (c *counters) violation(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.violations == nil {
		c.violations = map[string]int64{}
	}
	c.violations[what]++
}

// Latency summarizes a latency histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Summary reads the histogram's quantiles.
func (h *Histogram) Summary() Latency {
	return Latency{
		Count: h.Count(), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), Max: ms(h.Max()), Mean: ms(h.Mean()),
	}
}

// Answers counts answers and what became of them. Every answer sent is
// acked, refused with an error (counted in Errors under "answer:<code>"),
// or unresolved when its connection closed first.
type Answers struct {
	Sent       int64 `json:"sent"`
	Acked      int64 `json:"acked"`
	Duplicates int64 `json:"duplicates"`
	// RevealBeforeAck counts answers whose question was revealed to the
	// player before the answer was acked (durable); FinishedBeforeAck those
	// whose room finished first.
	RevealBeforeAck   int64 `json:"reveal_before_ack"`
	FinishedBeforeAck int64 `json:"finished_before_ack"`
	Errors            int64 `json:"errors"`
	Unresolved        int64 `json:"unresolved"`
}

// Result is what a run measured.
type Result struct {
	URL     string `json:"url"`
	Mode    string `json:"mode"`
	Rooms   int    `json:"rooms"`
	Players int    `json:"players"`
	Addrs   int    `json:"source_addrs"`
	// Connected players said hello and got welcome; PeakConnections were
	// open at once; Lost were closed by the server or the network before
	// the run let them go.
	Connected       int64   `json:"connected"`
	DialFailed      int64   `json:"dial_failed"`
	PeakConnections int64   `json:"peak_connections"`
	Lost            int64   `json:"lost"`
	ConnectSeconds  float64 `json:"connect_s"`
	// WindowSeconds is the measured window; matches finished in it give
	// MatchesPerSecond. Warmup counts matches finished while players were
	// still connecting, Drain those finished after the window.
	WindowSeconds    float64 `json:"window_s"`
	MatchesFound     int64   `json:"matches_found"`
	MatchesFinished  int64   `json:"matches_finished"`
	MatchesPerSecond float64 `json:"matches_per_s"`
	MatchesWarmup    int64   `json:"matches_warmup"`
	MatchesDrain     int64   `json:"matches_drain"`
	// Finds counts match.find requests, Timeouts the match.timeout replies.
	Finds    int64 `json:"finds"`
	Timeouts int64 `json:"match_timeouts"`
	// AnswersPerSecond is the rate of answers sent in the window.
	Answers          Answers `json:"answers"`
	AnswersPerSecond float64 `json:"answers_per_s"`
	// Ack is the time from writing an answer to reading its answer.ack.
	Ack Latency `json:"ack"`
	// MatchWait is the time from match.find to match.found, MatchTime from
	// match.found to room.finished.
	MatchWait Latency `json:"match_wait"`
	MatchTime Latency `json:"match_time"`
	// Errors counts error replies by code (prefixed by the request:
	// "answer:too_late"), close codes ("close:4002"), and dial and read
	// failures ("dial:refused", "read:reset").
	Errors map[string]int64 `json:"errors"`
	// ErrorSamples hold the first error text of each of the first few codes.
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Violations count broken promises: a player sent match.found while it
	// was already in a match ("matched_twice"), a room announced to more
	// players than it seats ("room_overfull").
	Violations map[string]int64 `json:"violations"`
	// Forced counts connections still open when the drain ran out.
	Forced int64 `json:"forced_closes"`
	// GeneratorCPU is this process's CPU time (user+system) in the window,
	// in cores: 1.0 is one core busy.
	GeneratorCores float64 `json:"generator_cores"`
	// GeneratorCPUSeconds is this process's CPU time over the whole run.
	GeneratorCPUSeconds float64 `json:"generator_cpu_s"`
}

// ErrorCodes returns the error keys in a stable order.
func (r *Result) ErrorCodes() []string {
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (g *gen) result(connect, cpuWindow, cpuAll time.Duration) *Result {
	s := &g.stats
	window := time.Duration(g.windowEnd.Load() - g.windowStart.Load())
	r := &Result{
		URL: strings.Join(g.cfg.URLs, ","), Mode: g.cfg.Mode, Rooms: g.cfg.Rooms, Players: g.cfg.Players(), Addrs: g.cfg.Addrs,
		Connected: s.welcomed.Load(), DialFailed: s.dialFailed.Load(), PeakConnections: s.peakOpen.Load(),
		Lost: s.lost.Load(), ConnectSeconds: connect.Seconds(), WindowSeconds: window.Seconds(),
		MatchesFound: s.matchesFound.Load(), MatchesFinished: s.finishedWindow.Load(),
		MatchesWarmup: s.finishedWarmup.Load(), MatchesDrain: s.finishedDrain.Load(),
		Finds: s.finds.Load(), Timeouts: s.timeouts.Load(),
		Answers: Answers{
			Sent: s.answersSent.Load(), Acked: s.acked.Load(), Duplicates: s.duplicates.Load(), Errors: s.answerErrs.Load(),
			RevealBeforeAck: s.revealBeforeAck.Load(), FinishedBeforeAck: s.finishedBeforeAck.Load(),
		},
		Ack:                 g.hist.Summary(),
		MatchWait:           g.wait.Summary(),
		MatchTime:           g.match.Summary(),
		Forced:              s.forced.Load(),
		GeneratorCPUSeconds: cpuAll.Seconds(),
	}
	r.Answers.Unresolved = r.Answers.Sent - r.Answers.Acked - r.Answers.Errors
	if window > 0 {
		r.MatchesPerSecond = float64(r.MatchesFinished) / window.Seconds()
		r.AnswersPerSecond = float64(s.answersWindow.Load()) / window.Seconds()
		r.GeneratorCores = cpuWindow.Seconds() / window.Seconds()
	}
	s.mu.Lock()
	r.Errors = copyMap(s.errors)
	r.Violations = copyMap(s.violations)
	r.ErrorSamples = append([]string(nil), s.samples...)
	s.mu.Unlock()
	return r
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
