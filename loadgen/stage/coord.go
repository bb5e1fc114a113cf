package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leitai/leitai/loadgen"
)

// coord is one run's coordinator: it owns the workers and everything they
// report. Only the goroutine running Run touches its fields, except evc.
type coord struct {
	cfg   Config
	procs []*workerProc
	plan  []command // each worker's share: count and source addresses
	evc   chan event

	// What the workers have reported in the current phase.
	ready   map[int]event
	all     map[string]int // "kind/index" -> workers done
	reports map[int]*workerReport
	closed  int
	exited  int
	failed  []string
}

func (c *coord) logf(format string, args ...any) {
	if c.cfg.Log != nil {
		fmt.Fprintf(c.cfg.Log, "bench event: "+format+"\n", args...)
	}
}

// start spawns the workers and their readers.
func (c *coord) start(ctx context.Context) error {
	c.evc = make(chan event, 1024)
	per := (c.cfg.Contestants + c.cfg.Workers - 1) / c.cfg.Workers
	first := c.cfg.FirstAddr
	left := c.cfg.Contestants
	for i := range c.cfg.Workers {
		n := min(per, left)
		left -= n
		addrs := max((n+loadgen.PerAddr-1)/loadgen.PerAddr, 1)
		c.plan = append(c.plan, command{
			Count: n, FirstAddr: first, Addrs: addrs, Name: fmt.Sprintf("w%d", i),
			Questions: c.cfg.Questions, AnswerWithinMS: c.cfg.AnswerWithin.Milliseconds(),
			AnswerAfterMS:   c.cfg.AnswerAfter.Milliseconds(),
			DialConcurrency: c.cfg.DialConcurrency, ConnectTimeoutMS: c.cfg.ConnectTimeout.Milliseconds(),
		})
		first += addrs
		if first-1 > 254 {
			return fmt.Errorf("%w: source addresses run past 127.0.0.254", loadgen.ErrBadConfig)
		}
		in, out, wait, err := c.cfg.Spawn(ctx, i)
		if err != nil {
			return err
		}
		c.procs = append(c.procs, &workerProc{in: in, out: out, wait: wait})
		go func() {
			err := readLines(out, func(b []byte) error {
				var ev event
				if err := json.Unmarshal(b, &ev); err != nil {
					return fmt.Errorf("stage: worker %d: bad event %q: %w", i, b, err)
				}
				ev.worker = i
				c.evc <- ev
				return nil
			})
			e := event{Ev: "exit", worker: i}
			if err != nil {
				e.Err = err.Error()
			}
			c.evc <- e
		}()
	}
	return nil
}

// stop closes the workers' stdin and waits for them.
func (c *coord) stop() {
	for _, p := range c.procs {
		p.in.Close()
	}
	var wg sync.WaitGroup
	for _, p := range c.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.wait()
		}()
	}
	// Keep draining events so no reader blocks on evc.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-c.evc:
		case <-time.After(30 * time.Second):
			return
		}
	}
}

// resetPhase forgets the previous phase's reports.
func (c *coord) resetPhase() {
	c.ready = map[int]event{}
	c.all = map[string]int{}
	c.reports = map[int]*workerReport{}
	c.closed = 0
}

// sendAll gives every worker its share of op.
func (c *coord) sendAll(op command) error {
	for i, p := range c.procs {
		cmd := c.plan[i]
		cmd.Op, cmd.URL, cmd.URLs, cmd.PIN, cmd.Answers = op.Op, op.URL, op.URLs, op.PIN, op.Answers
		b, _ := json.Marshal(cmd)
		if _, err := p.in.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("stage: worker %d: %w", i, err)
		}
	}
	return nil
}

// errWorkerGone is returned by await when a worker ended.
var errWorkerGone = errors.New("stage: a worker ended")

// await takes in worker events until done reports true or timeout passes.
// It returns false on timeout.
func (c *coord) await(ctx context.Context, timeout time.Duration, done func() bool) (bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
			return false, nil
		case ev := <-c.evc:
			switch ev.Ev {
			case evReady:
				c.ready[ev.worker] = ev
			case evAll:
				c.all[fmt.Sprintf("%s/%d", ev.Kind, ev.Index)]++
			case evReport:
				c.reports[ev.worker] = ev.Report
			case evClosed:
				c.closed++
			case evFailed:
				c.failed = append(c.failed, fmt.Sprintf("worker %d: %s", ev.worker, ev.Err))
				return false, fmt.Errorf("stage: worker %d: %s", ev.worker, ev.Err)
			case "exit":
				c.exited++
				return false, fmt.Errorf("%w: worker %d %s", errWorkerGone, ev.worker, ev.Err)
			}
		}
	}
	return true, nil
}

// allDone reports whether every worker has said every contestant has kind
// for index i.
func (c *coord) allDone(kind string, i int) func() bool {
	key := fmt.Sprintf("%s/%d", kind, i)
	return func() bool { return c.all[key] >= len(c.procs) }
}

// connect sends op to every worker and waits for them all to be ready; it
// returns the contestants ready.
func (c *coord) connect(ctx context.Context, op command) (int, error) {
	c.resetPhase()
	if err := c.sendAll(op); err != nil {
		return 0, err
	}
	ok, err := c.await(ctx, c.cfg.ConnectTimeout+30*time.Second, func() bool { return len(c.ready) == len(c.procs) })
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("stage: workers not ready after %v", c.cfg.ConnectTimeout+30*time.Second)
	}
	n := 0
	for _, ev := range c.ready {
		n += ev.Ready
	}
	return n, nil
}

// collect asks every worker for its report, then closes its connections.
func (c *coord) collect(ctx context.Context) ([]*workerReport, error) {
	if err := c.sendAll(command{Op: opReport}); err != nil {
		return nil, err
	}
	if _, err := c.await(ctx, time.Minute, func() bool { return len(c.reports) == len(c.procs) }); err != nil {
		return nil, err
	}
	out := make([]*workerReport, 0, len(c.reports))
	for i := range c.procs {
		if r := c.reports[i]; r != nil {
			out = append(out, r)
		}
	}
	if err := c.sendAll(command{Op: opClose}); err != nil {
		return out, err
	}
	_, err := c.await(ctx, time.Minute, func() bool { return c.closed == len(c.procs) })
	return out, err
}

// sampler reads a server's resource use (the sum over a cluster's nodes)
// and, when it has one, its Redis's CPU; a nil sampler reads nothing.
type sampler struct {
	probe loadgen.Probes // none: nothing but Redis
	redis *loadgen.RedisCPU

	mu   sync.Mutex
	peak float64
	quit chan struct{}
	wg   sync.WaitGroup
}

// newSampler reads the processes pids from /proc; nil without any.
func newSampler(pids ...int) *sampler {
	var ps loadgen.Probes
	for _, pid := range pids {
		if pid > 0 {
			ps = append(ps, &loadgen.Probe{PID: pid})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &sampler{probe: ps, peak: -1}
}

// sample returns RSS (bytes) and CPU (seconds), or -1s.
func (s *sampler) sample() (rss, cpu float64) {
	if s == nil || len(s.probe) == 0 {
		return -1, -1
	}
	v, err := s.probe.Sample(context.Background())
	if err != nil {
		return -1, -1
	}
	s.mu.Lock()
	s.peak = max(s.peak, v.RSSBytes)
	s.mu.Unlock()
	return v.RSSBytes, v.CPUSeconds
}

// watch samples every 200 ms, for the peak RSS, until unwatch.
func (s *sampler) watch() {
	if s == nil {
		return
	}
	s.quit = make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
}

// unwatch stops watch (if it runs) and returns the peak RSS seen. It may
// be called more than once.
func (s *sampler) unwatch() float64 {
	if s == nil {
		return -1
	}
	if s.quit != nil {
		close(s.quit)
		s.wg.Wait()
		s.quit = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}
