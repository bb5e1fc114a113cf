package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/loadgen"
)

// ServeWorker runs one worker: it reads commands from in and writes events
// to out until in ends or ctx is cancelled, then closes whatever
// connections it still holds. A worker holds one phase's contestants at a
// time.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newLineWriter(out)
	var ph *phase
	defer func() {
		if ph != nil {
			ph.close()
		}
	}()
	cmds := make(chan command)
	readErr := make(chan error, 1)
	go func() {
		readErr <- readLines(in, func(b []byte) error {
			var c command
			if err := json.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("stage: worker: bad command %q: %w", b, err)
			}
			select {
			case cmds <- c:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for {
		var c command
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case c = <-cmds:
		}
		switch c.Op {
		case opJoin, opBare:
			if ph != nil {
				ph.close()
			}
			var err error
			ph, err = newPhase(c, w)
			if err != nil {
				_ = w.write(event{Ev: evFailed, Err: err.Error()})
				ph = nil
				continue
			}
			ready, failed := ph.connect(ctx)
			_ = w.write(event{Ev: evReady, Ready: ready, Failed: failed})
		case opReport:
			if ph == nil {
				_ = w.write(event{Ev: evFailed, Err: "nothing to report"})
				continue
			}
			ph.awaitFinished(ctx, finishWait)
			_ = w.write(event{Ev: evReport, Report: ph.report()})
		case opClose:
			if ph != nil {
				ph.close()
				ph = nil
			}
			_ = w.write(event{Ev: evClosed})
		default:
			_ = w.write(event{Ev: evFailed, Err: "unknown op " + c.Op})
		}
	}
}

// Counted kinds, as indexes into phase.counts.
const (
	cQuestion = iota
	cReveal
	cAck
	nKinds
)

var kindNames = [nKinds]string{kindQuestion, kindReveal, kindAck}

// phase is one set of contestants on one server.
type phase struct {
	cmd     command // Static after construction.
	bare    bool    // Static after construction.
	answers bool    // Static after construction: contestants answer questions.
	out     *lineWriter
	dialers []*websocket.Dialer
	cpu0    time.Duration

	// Per question index i and contestant k; written by k's goroutines.
	question, reveal, ack, answered [][]atomic.Int64
	// counts[kind][i] counts contestants; expect is how many are live
	// (math.MaxInt64 until the connect is over).
	counts   [nKinds][]atomic.Int64
	expect   atomic.Int64
	finished atomic.Int64
	sent     atomic.Int64
	acked    atomic.Int64
	lost     atomic.Int64
	qinfo    []questionInfo
	connectS float64

	settled sync.WaitGroup // one per contestant until ready or failed
	readers sync.WaitGroup // one per open connection's reader

	// mu guards the following fields.
	mu      sync.Mutex
	cs      []*contestant
	ready   int
	emitted map[[2]int]bool
	errors  map[string]int64
	samples []string
}

func newPhase(c command, out *lineWriter) (*phase, error) {
	if c.Count <= 0 || c.Questions <= 0 || c.Questions > 200 {
		return nil, fmt.Errorf("stage: worker: count %d, questions %d", c.Count, c.Questions)
	}
	for _, u := range append([]string{c.URL}, c.URLs...) {
		if err := loadgen.CheckLoopback(u); err != nil {
			return nil, err
		}
	}
	if err := loadgen.CheckFiles(c.Count); err != nil {
		return nil, err
	}
	ds, err := loadgen.SourceDialers(c.URL, max(c.Addrs, 1), max(c.FirstAddr, 1))
	if err != nil {
		return nil, err
	}
	p := &phase{cmd: c, bare: c.Op == opBare, answers: c.Op != opBare || c.Answers, out: out, dialers: ds, cpu0: loadgen.SelfCPU(),
		emitted: map[[2]int]bool{}, errors: map[string]int64{}, qinfo: make([]questionInfo, c.Questions)}
	grid := func() [][]atomic.Int64 {
		g := make([][]atomic.Int64, c.Questions)
		for i := range g {
			g[i] = make([]atomic.Int64, c.Count)
		}
		return g
	}
	p.question, p.reveal, p.ack, p.answered = grid(), grid(), grid(), grid()
	for k := range p.counts {
		p.counts[k] = make([]atomic.Int64, c.Questions)
	}
	p.expect.Store(math.MaxInt64)
	return p, nil
}

// connect opens every contestant's connection, DialConcurrency at a time,
// and waits until each is ready (joined, for a Leitai phase) or failed, or
// the connect timeout passes.
func (p *phase) connect(ctx context.Context) (ready, failed int) {
	began := time.Now()
	timeout := time.Duration(p.cmd.ConnectTimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conc := p.cmd.DialConcurrency
	if conc <= 0 {
		conc = 64
	}
	sem := make(chan struct{}, conc)
	p.settled.Add(p.cmd.Count)
	for k := range p.cmd.Count {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			p.fail("dial:not_attempted", "")
			p.settled.Done()
			continue
		}
		go func() {
			// A slot is held until the contestant has joined (or failed),
			// so the server sees at most conc hellos and joins at once, as
			// it would from people arriving, not one burst of thousands.
			defer func() { <-sem }()
			if c := p.dial(ctx, k); c != nil {
				select {
				case <-c.settled:
				case <-ctx.Done():
				}
			}
		}()
	}
	all := make(chan struct{})
	go func() { p.settled.Wait(); close(all) }()
	select {
	case <-all:
	case <-ctx.Done():
	}
	p.connectS = time.Since(began).Seconds()
	p.mu.Lock()
	ready = p.ready
	p.mu.Unlock()
	p.expect.Store(int64(ready) - p.lost.Load())
	p.recheck()
	return ready, p.cmd.Count - ready
}

// dial opens contestant k's connection and says hello; it returns nil if
// the dial failed.
func (p *phase) dial(ctx context.Context, k int) *contestant {
	d := p.dialers[k%len(p.dialers)]
	url := p.cmd.URL
	if n := len(p.cmd.URLs); n > 0 {
		url = p.cmd.URLs[k%n]
	}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		code := "dial:" + loadgen.ErrClass(err)
		if resp != nil {
			code = fmt.Sprintf("dial:http_%d", resp.StatusCode)
		}
		p.fail(code, err.Error())
		p.settled.Done()
		return nil
	}
	ws.SetReadLimit(1 << 20)
	c := &contestant{p: p, k: k, ws: ws, name: fmt.Sprintf("%s-%d", p.cmd.Name, k), settled: make(chan struct{})}
	// Answer the server's pings with the deadline of every other write:
	// gorilla's own handler allows a pong one second, and a worker starved
	// of CPU for that long (thousands of connections on a loaded machine)
	// then loses a connection the server never dropped.
	ws.SetPingHandler(func(data string) error {
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	p.mu.Lock()
	p.cs = append(p.cs, c)
	p.mu.Unlock()
	p.readers.Add(1)
	go c.read()
	if p.bare {
		c.settle(true)
		return c
	}
	c.mu.Lock()
	c.write(`{"type":"hello","id":"h","data":` + jsonString(map[string]string{"name": c.name}) + `}`)
	c.mu.Unlock()
	return c
}

// bump counts contestant progress and tells the coordinator once every
// live contestant has got there.
func (p *phase) bump(kind, i int) {
	if n := p.counts[kind][i].Add(1); n >= p.expect.Load() {
		p.emit(kind, i)
	}
}

func (p *phase) emit(kind, i int) {
	p.mu.Lock()
	key := [2]int{kind, i}
	if p.emitted[key] {
		p.mu.Unlock()
		return
	}
	p.emitted[key] = true
	p.mu.Unlock()
	_ = p.out.write(event{Ev: evAll, Kind: kindNames[kind], Index: i})
}

// recheck emits whatever is complete after the number of live contestants
// changed.
func (p *phase) recheck() {
	exp := p.expect.Load()
	for kind := range p.counts {
		for i := range p.counts[kind] {
			if n := p.counts[kind][i].Load(); n > 0 && n >= exp {
				p.emit(kind, i)
			}
		}
	}
}

// fail counts an error by code and keeps the first few texts.
func (p *phase) fail(code, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errors[code]++
	if text != "" && p.errors[code] == 1 && len(p.samples) < 8 {
		p.samples = append(p.samples, code+": "+text)
	}
}

// finishWait bounds how long a worker asked for its report waits for its
// live contestants' room.finished. The coordinator asks once the sentinel,
// on the room's own node, has it; on a cluster the others' go through the
// Bus and, on a loaded machine, can come seconds later.
const finishWait = 30 * time.Second

// awaitFinished waits until every live contestant of a Leitai phase got
// room.finished, or for wait.
func (p *phase) awaitFinished(ctx context.Context, wait time.Duration) {
	if p.bare {
		return
	}
	deadline := time.Now().Add(wait)
	for p.finished.Load() < p.expect.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond) // polls counters the readers bump
	}
}

// report copies out what the phase measured.
func (p *phase) report() *workerReport {
	flat := func(g [][]atomic.Int64) [][]int64 {
		out := make([][]int64, len(g))
		for i := range g {
			out[i] = make([]int64, len(g[i]))
			for k := range g[i] {
				out[i][k] = g[i][k].Load()
			}
		}
		return out
	}
	r := &workerReport{
		Contestants: p.cmd.Count, Question: flat(p.question), Reveal: flat(p.reveal), Ack: flat(p.ack), AnswerAt: flat(p.answered),
		Finished: int(p.finished.Load()), Sent: p.sent.Load(), Acked: p.acked.Load(), Lost: p.lost.Load(),
		CPU: (loadgen.SelfCPU() - p.cpu0).Seconds(), Connect: p.connectS,
	}
	p.mu.Lock()
	r.Ready = p.ready
	r.Errors = make(map[string]int64, len(p.errors))
	for k, v := range p.errors {
		r.Errors[k] = v
	}
	r.Samples = append([]string(nil), p.samples...)
	p.mu.Unlock()
	return r
}

// close says goodbye on every connection, waits a little for the server's
// close replies, then drops what is left.
func (p *phase) close() {
	p.mu.Lock()
	cs := append([]*contestant(nil), p.cs...)
	p.mu.Unlock()
	for _, c := range cs {
		c.leave()
	}
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		for _, c := range cs {
			_ = c.ws.NetConn().Close()
		}
		<-done
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
