package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/leitai/leitai/loadgen"
)

// benchCmd plays many concurrent quick matches against a server running on
// this machine and reports matches per second, answer-ack latency, errors,
// and the server's memory and CPU.
func benchCmd(ctx context.Context, args []string) error {
	if sub := benchSub(args); sub != nil { // bench event (stage events): benchevent.go
		return sub(ctx, args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: leitai bench [flags]\n\nPlays quick matches against a Leitai server on this machine (loopback only).\n\nFlags:")
		fs.PrintDefaults()
	}
	var cfg loadgen.Config
	urls := fs.String("url", "ws://127.0.0.1:8080/ws", "the server's WebSocket URL, or the nodes' comma-separated (players spread over them in turn); loopback hosts only")
	fs.StringVar(&cfg.Mode, "mode", "duel", "duel or four")
	fs.IntVar(&cfg.Rooms, "rooms", 100, "rooms playing at once; players = rooms × 2 (duel) or × 4 (four)")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "measured window, after every player has connected (at most 2h)")
	fs.DurationVar(&cfg.ThinkMin, "think-min", 300*time.Millisecond, "shortest think time before answering")
	fs.DurationVar(&cfg.ThinkMax, "think-max", 1500*time.Millisecond, "longest think time before answering")
	fs.IntVar(&cfg.Addrs, "addrs", 0, fmt.Sprintf("source addresses 127.0.0.x to spread connections over; 0: one per %d players", loadgen.PerAddr))
	fs.IntVar(&cfg.FirstAddr, "first-addr", 1, "last octet of the first source address; give each of several bench processes its own range")
	fs.DurationVar(&cfg.Drain, "drain", 60*time.Second, "how long matches in flight at the end may take to finish")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", 64, "connection attempts in flight")
	fs.BoolVar(&cfg.Idle, "idle", false, "players only connect and say hello, then hold their connections: measures memory per connection")
	pids := fs.String("server-pid", "", "the server's process id, or the nodes' comma-separated in --url's order: read RSS and CPU from /proc (default: from each node's /metrics)")
	redisURL := fs.String("redis-url", "", "the cluster's Redis (a --redis URL): report the CPU it used beside the nodes'")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout (the text report goes to stderr)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.URLs, err = loadgen.ParseURLs(*urls); err != nil {
		return err
	}
	cfg, err = cfg.WithDefaults()
	if err != nil {
		return err
	}
	serverPIDs, err := loadgen.ParsePIDs(*pids)
	if err != nil {
		return err
	}
	mon := newMonitor(loadgen.NewProbes(cfg.URLs, serverPIDs))
	if *redisURL != "" {
		if mon.redis, err = loadgen.NewRedisCPU(*redisURL); err != nil {
			return err
		}
		defer mon.redis.Close()
		if _, err := mon.redis.Seconds(ctx); err != nil {
			return err
		}
	}
	if _, err := mon.probe.Sample(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "bench: cannot read the server's resource use (%v); reporting the generator's side only\n", err)
	}
	mon.mark(ctx, "idle")
	loadBefore := loadAvg()
	go mon.run(ctx)
	defer mon.stop()

	fmt.Fprintf(os.Stderr, "bench: connecting %d players (%s, %d rooms) from %d source addresses…\n", cfg.Players(), cfg.Mode, cfg.Rooms, cfg.Addrs)
	cfg.OnPhase = func(p string) {
		switch p {
		case loadgen.PhaseConnected:
			mon.mark(ctx, "start")
			fmt.Fprintf(os.Stderr, "bench: playing for %v…\n", cfg.Duration)
		case loadgen.PhaseDraining:
			mon.mark(ctx, "end")
			fmt.Fprintf(os.Stderr, "bench: window over; letting matches in flight finish (up to %v)…\n", cfg.Drain)
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	mon.stop()
	rep := benchReport{
		Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Args: strings.Join(args, " "),
		LoadBefore: loadBefore, LoadAfter: loadAvg(), Result: res, Server: mon.summary(res),
	}
	if *asJSON {
		// JSON on stdout for scripts; the text report still goes to stderr.
		rep.print(os.Stderr)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(os.Stdout)
	}
	if len(res.Violations) > 0 {
		return fmt.Errorf("bench: the server broke a promise: %v", res.Violations)
	}
	return nil
}

// monitor samples the server (every node of a cluster, summed) every
// second during a run, and at its marks.
type monitor struct {
	probe loadgen.Probes
	// redis, if set, reads the cluster's Redis's CPU at the marks.
	redis *loadgen.RedisCPU
	quit  chan struct{}
	once  sync.Once

	// mu guards the following fields.
	mu         sync.Mutex
	marks      map[string]loadgen.ServerSample
	redisMarks map[string]float64
	peakRSS    float64
	peakConn   float64
	// The peaks of the Go runtime's memory, its goroutine stacks, and the
	// memory held outside it (RSS less the Go runtime's), each over the
	// samples; -1 when not read.
	peakGo, peakStack, peakOutside float64
}

func newMonitor(p loadgen.Probes) *monitor {
	return &monitor{probe: p, quit: make(chan struct{}), marks: map[string]loadgen.ServerSample{}, redisMarks: map[string]float64{}, peakRSS: -1, peakConn: -1,
		peakGo: -1, peakStack: -1, peakOutside: -1}
}

// run samples until stop. Runs in its own goroutine.
func (m *monitor) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.quit:
			return
		case <-t.C:
			m.take(ctx)
		}
	}
}

func (m *monitor) stop() { m.once.Do(func() { close(m.quit) }) }

func (m *monitor) take(ctx context.Context) (loadgen.ServerSample, bool) {
	s, err := m.probe.Sample(ctx)
	if err != nil {
		return s, false
	}
	m.mu.Lock()
	m.peakRSS = max(m.peakRSS, s.RSSBytes)
	m.peakConn = max(m.peakConn, s.Connections)
	m.peakGo = max(m.peakGo, s.GoHeldBytes)
	m.peakStack = max(m.peakStack, s.GoStackBytes)
	if s.RSSBytes >= 0 && s.GoHeldBytes >= 0 {
		m.peakOutside = max(m.peakOutside, s.RSSBytes-s.GoHeldBytes)
	}
	m.mu.Unlock()
	return s, true
}

// mark takes a sample now and keeps it under name.
func (m *monitor) mark(ctx context.Context, name string) {
	if s, ok := m.take(ctx); ok {
		m.mu.Lock()
		m.marks[name] = s
		m.mu.Unlock()
	}
	if m.redis != nil {
		if v, err := m.redis.Seconds(ctx); err == nil {
			m.mu.Lock()
			m.redisMarks[name] = v
			m.mu.Unlock()
		}
	}
}

// serverSummary is what the run cost the server. Negative values were not
// measured.
type serverSummary struct {
	Source     string  `json:"source"`
	RSSIdleMiB float64 `json:"rss_idle_mib"`
	RSSPeakMiB float64 `json:"rss_peak_mib"`
	PeakConns  float64 `json:"peak_connections"`
	KiBPerConn float64 `json:"kib_per_connection"`
	// The same split in two (from the server's /metrics): the Go runtime's
	// memory (heap, goroutine stacks, runtime structures; see
	// loadgen.ServerSample.GoHeldBytes), idle and at its peak, its growth
	// per connection and the stacks' share of it; and what the process
	// holds outside the Go runtime, chiefly SQLite's page cache, which is
	// bounded by the store's cache_size and grows with the data written,
	// not with the connections, so it is reported whole, not per
	// connection.
	GoIdleMiB        float64 `json:"go_idle_mib"`
	GoPeakMiB        float64 `json:"go_peak_mib"`
	GoKiBPerConn     float64 `json:"go_kib_per_connection"`
	StackKiBPerConn  float64 `json:"go_stack_kib_per_connection"`
	OutsideGoIdleMiB float64 `json:"outside_go_idle_mib"`
	OutsideGoPeakMiB float64 `json:"outside_go_peak_mib"`
	CPUCores         float64 `json:"cpu_cores"`
	CPUMsPerMatch    float64 `json:"cpu_ms_per_match"`
	// Nodes is how many servers the figures add up.
	Nodes int `json:"nodes"`
	// RedisCores and RedisCPUMsPerMatch are the cluster's Redis's CPU
	// (INFO cpu) over the window; -1 when not measured.
	RedisCores         float64 `json:"redis_cpu_cores"`
	RedisCPUMsPerMatch float64 `json:"redis_cpu_ms_per_match"`
	RoomsFinished      float64 `json:"rooms_finished"`
	SlowDisconnect     float64 `json:"slow_disconnects"`
	Refused            float64 `json:"refused_connections"`
}

func (m *monitor) summary(res *loadgen.Result) serverSummary {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := serverSummary{RSSIdleMiB: -1, RSSPeakMiB: -1, PeakConns: m.peakConn, KiBPerConn: -1, CPUCores: -1, CPUMsPerMatch: -1,
		GoIdleMiB: -1, GoPeakMiB: -1, GoKiBPerConn: -1, StackKiBPerConn: -1, OutsideGoIdleMiB: -1, OutsideGoPeakMiB: -1,
		RoomsFinished: -1, SlowDisconnect: -1, Refused: -1, Nodes: len(m.probe), RedisCores: -1, RedisCPUMsPerMatch: -1}
	idle, okIdle := m.marks["idle"]
	start, okStart := m.marks["start"]
	end, okEnd := m.marks["end"]
	s.Source = idle.Source
	conns := float64(res.PeakConnections)
	if m.peakConn > 0 {
		conns = m.peakConn
	}
	if okIdle && idle.RSSBytes >= 0 {
		s.RSSIdleMiB = idle.RSSBytes / (1 << 20)
		s.RSSPeakMiB = m.peakRSS / (1 << 20)
		s.KiBPerConn = kibPerConn(idle.RSSBytes, m.peakRSS, conns)
	}
	if okIdle && idle.GoHeldBytes >= 0 && m.peakGo >= 0 {
		s.GoIdleMiB = idle.GoHeldBytes / (1 << 20)
		s.GoPeakMiB = m.peakGo / (1 << 20)
		s.GoKiBPerConn = kibPerConn(idle.GoHeldBytes, m.peakGo, conns)
		s.StackKiBPerConn = kibPerConn(idle.GoStackBytes, m.peakStack, conns)
		if idle.RSSBytes >= 0 && m.peakOutside >= 0 {
			s.OutsideGoIdleMiB = (idle.RSSBytes - idle.GoHeldBytes) / (1 << 20)
			s.OutsideGoPeakMiB = m.peakOutside / (1 << 20)
		}
	}
	if okStart && okEnd && start.CPUSeconds >= 0 && end.CPUSeconds >= 0 {
		cpu := end.CPUSeconds - start.CPUSeconds
		if w := end.At.Sub(start.At).Seconds(); w > 0 {
			s.CPUCores = cpu / w
		}
		if res.MatchesFinished > 0 {
			s.CPUMsPerMatch = cpu * 1000 / float64(res.MatchesFinished)
		}
	}
	rStart, okRS := m.redisMarks["start"]
	rEnd, okRE := m.redisMarks["end"]
	if okStart && okEnd && okRS && okRE {
		if w := end.At.Sub(start.At).Seconds(); w > 0 {
			s.RedisCores = (rEnd - rStart) / w
		}
		if res.MatchesFinished > 0 {
			s.RedisCPUMsPerMatch = (rEnd - rStart) * 1000 / float64(res.MatchesFinished)
		}
	}
	if okStart && okEnd && start.Counters != nil && end.Counters != nil {
		d := func(name string) float64 { return end.Counters[name] - start.Counters[name] }
		s.RoomsFinished = d("leitai_rooms_finished_total")
		s.SlowDisconnect = d("leitai_slow_disconnects_total")
		s.Refused = d("leitai_refused_connections_total")
	}
	return s
}

// kibPerConn is the growth from idle to peak (bytes) per connection, in
// KiB; -1 when either reading or the connections are missing.
func kibPerConn(idle, peak, conns float64) float64 {
	if idle < 0 || peak < 0 || conns <= 0 {
		return -1
	}
	return (peak - idle) / 1024 / conns
}

// benchReport is the whole report, as printed or as JSON.
type benchReport struct {
	Date string `json:"date"`
	CPUs int    `json:"cpus"`
	Args string `json:"args"`
	// LoadBefore and LoadAfter are the machine's load averages (1, 5 and
	// 15 minutes): other work on a shared machine skews every figure.
	LoadBefore string          `json:"load_before"`
	LoadAfter  string          `json:"load_after"`
	Result     *loadgen.Result `json:"result"`
	Server     serverSummary   `json:"server"`
}

// loadAvg returns the first three fields of /proc/loadavg, or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func (r benchReport) print(w io.Writer) {
	res, s := r.Result, r.Server
	p := func(label, format string, a ...any) {
		fmt.Fprintf(w, "%-13s "+format+"\n", append([]any{label}, a...)...)
	}
	fmt.Fprintf(w, "leitai bench  %s, %d rooms (%d players) from %d source addresses, against %s\n",
		res.Mode, res.Rooms, res.Players, res.Addrs, res.URL)
	p("connect", "%d/%d players welcomed in %.1f s; %d dials failed; peak %d connections",
		res.Connected, res.Players, res.ConnectSeconds, res.DialFailed, res.PeakConnections)
	p("matches", "%d finished in %.1f s: %.1f matches/s (plus %d while connecting, %d while draining)",
		res.MatchesFinished, res.WindowSeconds, res.MatchesPerSecond, res.MatchesWarmup, res.MatchesDrain)
	p("", "%d match.find sent, %d rooms found, %d match.timeout", res.Finds, res.MatchesFound, res.Timeouts)
	a := res.Answers
	p("answers", "%d sent (%.0f/s in the window), %d acked, %d refused, %d unresolved, %d duplicate acks",
		a.Sent, res.AnswersPerSecond, a.Acked, a.Errors, a.Unresolved, a.Duplicates)
	if a.RevealBeforeAck+a.FinishedBeforeAck > 0 {
		p("", "%d answers revealed and %d rooms finished before the answer's ack arrived", a.RevealBeforeAck, a.FinishedBeforeAck)
	}
	lat := func(label string, l loadgen.Latency) {
		p(label, "p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  mean %.1f ms  (%d samples)", l.P50, l.P90, l.P99, l.Max, l.Mean, l.Count)
	}
	lat("ack latency", res.Ack)
	lat("match wait", res.MatchWait)
	lat("match time", res.MatchTime)
	if len(res.Errors) == 0 {
		p("errors", "none")
	} else {
		var parts []string
		for _, k := range res.ErrorCodes() {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, res.Errors[k]))
		}
		p("errors", "%s", strings.Join(parts, ", "))
		for _, e := range res.ErrorSamples {
			p("", "e.g. %s", e)
		}
	}
	p("connections", "%d lost during the run, %d still open when the drain ran out", res.Lost, res.Forced)
	if s.RSSIdleMiB >= 0 {
		p("server RSS", "%.1f MiB idle, %.1f MiB peak with %.0f connections: %.1f KiB per connection (%s)",
			s.RSSIdleMiB, s.RSSPeakMiB, max(s.PeakConns, float64(res.PeakConnections)), s.KiBPerConn, s.Source)
	} else {
		p("server RSS", "not measured")
	}
	if s.GoKiBPerConn >= 0 {
		p("  Go runtime", "%.1f MiB idle, %.1f MiB peak: %.1f KiB per connection (goroutine stacks %.1f KiB of it)",
			s.GoIdleMiB, s.GoPeakMiB, s.GoKiBPerConn, s.StackKiBPerConn)
	}
	if s.OutsideGoPeakMiB >= 0 {
		p("  outside Go", "%.1f MiB idle, %.1f MiB peak: the store's (SQLite's page cache, bounded by its cache_size; grows with the data written)",
			s.OutsideGoIdleMiB, s.OutsideGoPeakMiB)
	}
	switch {
	case s.CPUCores >= 0 && s.CPUMsPerMatch >= 0:
		p("server CPU", "%.2f cores over the window, %.1f ms per finished match", s.CPUCores, s.CPUMsPerMatch)
	case s.CPUCores >= 0:
		p("server CPU", "%.2f cores over the window", s.CPUCores)
	default:
		p("server CPU", "not measured")
	}
	if s.Nodes > 1 {
		p("", "(the sum over %d nodes)", s.Nodes)
	}
	switch {
	case s.RedisCores >= 0 && s.RedisCPUMsPerMatch >= 0:
		p("redis CPU", "%.2f cores over the window, %.2f ms per finished match", s.RedisCores, s.RedisCPUMsPerMatch)
	case s.RedisCores >= 0:
		p("redis CPU", "%.2f cores over the window", s.RedisCores)
	}
	if s.RoomsFinished >= 0 {
		p("server says", "%.0f rooms finished in the window, %.0f slow disconnects, %.0f connections refused",
			s.RoomsFinished, s.SlowDisconnect, s.Refused)
	}
	p("generator", "%.2f cores over the window (%d CPUs on this machine)", res.GeneratorCores, r.CPUs)
	if r.LoadBefore != "" {
		p("machine load", "%s before, %s after (1, 5, 15 min)", r.LoadBefore, r.LoadAfter)
	}
	if len(res.Violations) == 0 {
		p("checks", "no player matched twice, no room over its size")
	} else {
		p("checks", "VIOLATIONS %v", res.Violations)
	}
}
