package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// harness is a real server on a loopback port with a real SQLite store and a
// fake clock that drives rooms and matchmaking.
type harness struct {
	t       *testing.T
	srv     *web.Server
	st      *store.SQL
	clk     *clock.Fake
	addr    string
	answers map[string]questionbank.Question
	stop    func()
	dir     string
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, mod func(*web.Config)) *harness {
	t.Helper()
	return startHarness(t, t.TempDir(), clock.NewFake(t0), mod)
}

func startHarness(t *testing.T, dir string, clk *clock.Fake, mod func(*web.Config)) *harness {
	t.Helper()
	return startHarnessOn(t, dir, clk, mod, nil)
}

// startHarnessOn is startHarness with the listener wrapped by wrap (if not
// nil), for tests that shape the server's sockets.
func startHarnessOn(t *testing.T, dir string, clk *clock.Fake, mod func(*web.Config), wrap func(net.Listener) net.Listener) *harness {
	t.Helper()
	h := startHarnessWith(t, harnessOpts{dir: dir, clock: clk, cfg: mod, wrap: wrap})
	h.clk = clk
	return h
}

// harnessOpts shape a harness beyond the usual fake clock.
type harnessOpts struct {
	dir   string                          // "" means a new temporary directory
	clock clock.Clock                     // what rooms and matchmaking run on
	cfg   func(*web.Config)               // changes to the configuration
	wrap  func(net.Listener) net.Listener // wraps the server's listener
	rates clock.Clock                     // the per-connection rate limits' clock; nil means wall time
	store func(*store.SQL) store.Store    // wraps the store the server and its journal use
	// node, bus and leases make the server one node of a cluster.
	node   string
	bus    cluster.Bus
	leases cluster.Leases
	// state is what the node shares with the others; nil keeps it all on
	// the node.
	state *clusterstate.State
}

// startHarnessWith starts a harness as o says. Its clk is nil unless the
// caller sets it.
func startHarnessWith(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	dir, mod, wrap := o.dir, o.cfg, o.wrap
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	bank := questionbank.NewBank()
	sample, err := questionbank.Sample()
	if err != nil {
		t.Fatal(err)
	}
	bank.Add("sample", sample)
	if err := web.LoadQuestionSets(ctx, st, bank); err != nil {
		t.Fatal(err)
	}
	answers := map[string]questionbank.Question{}
	for _, q := range bank.Questions("") {
		answers[q.ID] = q
	}
	var served store.Store = st
	if o.store != nil {
		served = o.store(st)
	}
	log := failureLog(t)
	committer := store.NewCommitter(served, store.CommitterOptions{Logger: log})
	jctx, stopJ := context.WithCancel(ctx)
	jdone := make(chan struct{})
	go func() { _ = committer.Run(jctx); close(jdone) }()
	cfg := web.Config{HelloTimeout: 2 * time.Second, IgnoreRTT: true}
	if mod != nil {
		mod(&cfg)
	}
	if o.node != "" {
		cfg.Node = o.node
	}
	srv := web.New(cfg, web.Deps{Store: served, Committer: committer, Bank: bank, Clock: o.clock, RateClock: o.rates, Log: log, Bus: o.bus, Leases: o.leases, State: o.state})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	sctx, stopS := context.WithCancel(ctx)
	sdone := make(chan struct{})
	go func() { _ = srv.Run(sctx, ln); close(sdone) }()
	h := &harness{t: t, srv: srv, st: st, addr: ln.Addr().String(), answers: answers, dir: dir}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			stopS()
			<-sdone
			stopJ()
			<-jdone
			st.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// failureLog is a logger for a harness's server and journal that keeps
// warnings and errors and prints them only if the test fails, so that a
// failure says why (an append refused, a room stopped) without the noise
// of the many tests that provoke warnings on purpose.
func failureLog(t *testing.T) zerolog.Logger {
	t.Helper()
	w := &lockedBuffer{}
	// Registered before the harness's stop, so it runs after it and sees
	// what stopping logged.
	t.Cleanup(func() {
		if t.Failed() && w.Len() > 0 {
			t.Logf("server log:\n%s", w.String())
		}
	})
	return zerolog.New(w).Level(zerolog.WarnLevel).With().Timestamp().Logger()
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// url returns an http URL on the server.
func (h *harness) url(path string) string { return "http://" + h.addr + path }

// msg is a received message.
type msg struct {
	Type string          `json:"type"`
	Re   string          `json:"re"`
	Data json.RawMessage `json:"data"`
	raw  []byte
	at   time.Time // when the client read it
}

func (m msg) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Data, v); err != nil {
		t.Fatalf("decode %s: %v (%s)", m.Type, err, m.raw)
	}
}

// client is a test WebSocket client that records everything it receives.
type client struct {
	t      *testing.T
	h      *harness
	ws     *websocket.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	got    []msg
	used   []bool // messages already returned by expect
	closed bool
	code   int // close code received
	wmu    sync.Mutex
	seq    int
	id     string // player id after welcome
	resume string
	pings  atomic.Int64 // server pings answered
}

func (h *harness) dial() *client {
	h.t.Helper()
	return h.dialHeader(nil)
}

func (h *harness) dialHeader(hdr http.Header) *client {
	h.t.Helper()
	return h.dialTo(h.addr, hdr)
}

// dialTo connects to the server's /ws at addr (the server's own address,
// or a proxy in front of it).
func (h *harness) dialTo(addr string, hdr http.Header) *client {
	h.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", hdr)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c := &client{t: h.t, h: h, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	ws.SetPingHandler(c.onPing)
	go c.read()
	h.t.Cleanup(func() { ws.Close() })
	return c
}

// onPing answers a server ping as gorilla's default handler does, and
// counts it.
func (c *client) onPing(data string) error {
	c.pings.Add(1)
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	var ne net.Error
	if err == websocket.ErrCloseSent || errors.As(err, &ne) {
		return nil
	}
	return err
}

func (c *client) read() {
	for {
		_, b, err := c.ws.ReadMessage()
		at := time.Now()
		if err != nil {
			c.mu.Lock()
			c.closed = true
			if ce, ok := err.(*websocket.CloseError); ok {
				c.code = ce.Code
			}
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		var m msg
		if err := json.Unmarshal(b, &m); err != nil {
			m = msg{Type: "!badjson"}
		}
		m.raw, m.at = b, at
		c.mu.Lock()
		c.got = append(c.got, m)
		c.used = append(c.used, false)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// send writes a request and returns its id.
func (c *client) send(typ string, data any) string {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.seq++
	id := typ + "-" + itoa(c.seq)
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send %s: %v", typ, err)
	}
	return id
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send raw: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// waitTimeout bounds how long a test waits for a message it expects. It is
// a safety net against hangs, not a measurement: it is only ever reached
// when a test fails, so it is generous enough for a machine whose two cores
// run a browser, the race detector and other packages' tests at once.
const waitTimeout = 30 * time.Second

// expectFn returns the first message not returned before that matches pred.
// Messages it passes over stay available to later calls, so a test can wait
// for an ack and a reveal in either order.
func (c *client) expectFn(what string, pred func(m msg) bool) msg {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	timer := time.AfterFunc(waitTimeout, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i := range c.got {
			if !c.used[i] && pred(c.got[i]) {
				c.used[i] = true
				return c.got[i]
			}
		}
		if c.closed {
			c.t.Fatalf("%s: connection closed (code %d) while waiting; got %s", c.id, c.code, c.summary())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %s within %v; got %s", c.id, what, waitTimeout, c.summary())
		}
		c.cond.Wait()
	}
}

func (c *client) summary() string {
	var b strings.Builder
	start := max(0, len(c.got)-12)
	for _, m := range c.got[start:] {
		b.WriteString(" ")
		b.WriteString(string(m.raw))
	}
	return b.String()
}

func (c *client) expect(typ string) msg {
	c.t.Helper()
	return c.expectFn(typ, func(m msg) bool { return m.Type == typ })
}

// reply waits for the reply to request id.
func (c *client) reply(id string) msg {
	c.t.Helper()
	return c.expectFn("reply to "+id, func(m msg) bool { return m.Re == id })
}

// expectError waits for the reply to id and checks it is an error with code.
func (c *client) expectError(id, code string) {
	c.t.Helper()
	m := c.reply(id)
	var e struct{ Code, Message string }
	if m.Type != "error" {
		c.t.Fatalf("reply to %s: %s, want error %s", id, m.raw, code)
	}
	m.decode(c.t, &e)
	if e.Code != code {
		c.t.Fatalf("reply to %s: error %s (%s), want %s", id, e.Code, e.Message, code)
	}
}

// waitClosed waits until the server closes the connection and returns the
// close code.
func (c *client) waitClosed() int {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	timer := time.AfterFunc(waitTimeout, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed {
		if time.Now().After(deadline) {
			c.t.Fatalf("connection not closed; got %s", c.summary())
		}
		c.cond.Wait()
	}
	return c.code
}

// all returns every message received so far.
func (c *client) all() []msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]msg(nil), c.got...)
}

type welcome struct {
	Player struct{ ID, Name string }
	Role   string
	Resume string
	Event  *struct{ ID, Room, PIN string }
}

// hello opens a guest session.
func (c *client) hello(name string) welcome {
	c.t.Helper()
	id := c.send("hello", map[string]any{"name": name})
	return c.welcomed(id)
}

func (c *client) welcomed(id string) welcome {
	c.t.Helper()
	m := c.reply(id)
	if m.Type != "welcome" {
		c.t.Fatalf("hello: %s", m.raw)
	}
	var w welcome
	m.decode(c.t, &w)
	c.id, c.resume = w.Player.ID, w.Resume
	return w
}

// question is the data of a question message.
type question struct {
	Room     string
	Index    int
	Total    int
	Deadline int64
	Question struct {
		ID      string
		Type    string
		Text    string
		Options []struct{ Key, Text string }
	}
}

// correctAnswer returns the data of a right answer to q.
func (h *harness) correctAnswer(q question) map[string]any {
	bq, ok := h.answers[q.Question.ID]
	if !ok {
		h.t.Fatalf("unknown question %s", q.Question.ID)
	}
	d := map[string]any{"room": q.Room, "index": q.Index}
	if bq.Type == questionbank.Text {
		d["text"] = bq.Answer[0]
	} else {
		d["choice"] = bq.Answer
	}
	return d
}

// wrongAnswer returns the data of a wrong answer to q.
func (h *harness) wrongAnswer(q question) map[string]any {
	bq := h.answers[q.Question.ID]
	d := map[string]any{"room": q.Room, "index": q.Index}
	if bq.Type == questionbank.Text {
		d["text"] = "绝对不对的答案"
		return d
	}
	for _, o := range bq.Options {
		right := false
		for _, a := range bq.Answer {
			right = right || a == o.Key
		}
		if !right {
			d["choice"] = []string{o.Key}
			return d
		}
	}
	h.t.Fatalf("question %s has no wrong option", bq.ID)
	return nil
}

// forbiddenKeys may not appear in anything a player sees before a reveal.
var forbiddenKeys = []string{"correct", "is_correct", "solution", "explanation", "answer"}

// checkNoLeak fails if a question message holds any answer field, or a
// text question's accepted answer appears anywhere in it.
func (h *harness) checkNoLeak(m msg) {
	h.t.Helper()
	var any_ any
	_ = json.Unmarshal(m.Data, &any_)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				for _, f := range forbiddenKeys {
					if k == f {
						h.t.Fatalf("%s message leaks %q: %s", m.Type, k, m.raw)
					}
				}
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(any_)
	var q question
	_ = json.Unmarshal(m.Data, &q)
	if bq, ok := h.answers[q.Question.ID]; ok && bq.Type == questionbank.Text {
		var strs func(v any)
		strs = func(v any) {
			switch x := v.(type) {
			case string:
				for _, a := range bq.Answer {
					if questionbank.Fold(x) == questionbank.Fold(a) {
						h.t.Fatalf("%s message holds the accepted answer %q: %s", m.Type, a, m.raw)
					}
				}
			case map[string]any:
				for _, vv := range x {
					strs(vv)
				}
			case []any:
				for _, vv := range x {
					strs(vv)
				}
			}
		}
		strs(any_)
	}
}

// advance moves the fake clock.
func (h *harness) advance(d time.Duration) { h.clk.Advance(d) }

// expectReveal waits for the reveal of question index.
func (c *client) expectReveal(index int) msg {
	c.t.Helper()
	return c.expectFn("reveal of question "+itoa(index), func(m msg) bool {
		if m.Type != "reveal" {
			return false
		}
		var r struct{ Index int }
		_ = json.Unmarshal(m.Data, &r)
		return r.Index == index
	})
}
