package web_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/web"
)

// smallSendBuffers shrinks the kernel send buffer of every accepted
// connection, so a client that stops reading blocks the server's writes
// after a few KiB instead of the megabytes loopback would otherwise absorb.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// metric reads one value from the server's /metrics.
func (h *harness) metric(name string) float64 {
	h.t.Helper()
	resp, err := http.Get(h.url("/metrics"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		// The series of name, with or without labels (the journal's
		// carry its backend): the first one.
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+"{"); ok {
			line = name + rest[strings.Index(rest, "}")+1:]
		}
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				h.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	h.t.Fatalf("no metric %s", name)
	return 0
}

// dialStalled connects a client with a small receive buffer and no reader:
// it reads only what requestSync reads for it, until read is started.
func (h *harness) dialStalled() *client {
	h.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ws", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if tc, ok := ws.NetConn().(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	c := &client{t: h.t, h: h, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	h.t.Cleanup(func() { ws.Close() })
	return c
}

// requestSync sends a request on a client without a reader and reads
// until its reply.
func (c *client) requestSync(typ string, data any) msg {
	c.t.Helper()
	id := c.send(typ, data)
	_ = c.ws.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.ws.SetReadDeadline(time.Time{})
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("read reply to %s: %v", id, err)
		}
		var m msg
		_ = json.Unmarshal(b, &m)
		m.raw = b
		if m.Re == id {
			return m
		}
	}
}

// broadcastRun is what the contestants of one run of the stalled-client
// test received, counted per message type for each reading client.
type broadcastRun struct {
	counts []map[string]int
	slowAt int // the round after which the stalled client had been cut off
	rounds int
	moved  time.Duration // how far the fake clock moved during the rounds
	room   string
}

// playRounds runs a host-paced event with readers reading contestants (and,
// if stall, one more that stops reading after it joined) through rounds of
// question, reveal and scoreboard. With rounds 0 it plays until the stalled
// client is cut off, and three rounds more.
func playRounds(t *testing.T, h *harness, readers int, stall bool, rounds int) (broadcastRun, *client) {
	t.Helper()
	var stalled *client
	run := broadcastRun{slowAt: -1}
	ev := h.createEvent(map[string]any{"title": "慢客户端", "count": 120, "time_limit_ms": 600000, "lang": "zh"})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	cs := make([]*client, readers)
	for i := range cs {
		cs[i] = h.dial()
		cs[i].hello("读者" + itoa(i))
		cs[i].reply(cs[i].send("event.join", map[string]any{"pin": ev.PIN}))
	}
	if stall {
		stalled = h.dialStalled()
		var w welcome
		stalled.requestSync("hello", map[string]any{"name": "卡住的手机"}).decode(t, &w)
		stalled.id, stalled.resume = w.Player.ID, w.Resume
		run.room = ev.Room
		if m := stalled.requestSync("event.join", map[string]any{"pin": ev.PIN}); m.Type != "room.state" {
			t.Fatalf("stalled join: %s", m.raw)
		}
		// From here on the stalled client reads nothing.
	}
	h.control(host, ev.Room, "start")
	for _, c := range cs {
		c.expect("countdown")
	}
	start := h.clk.Now()
	h.advance(3 * time.Second) // the countdown: the only time that passes
	// everyone waits for message typ of round i on every reading client.
	everyone := func(typ string, i int) {
		t.Helper()
		for _, c := range cs {
			var d struct{ Index int }
			c.expect(typ).decode(t, &d)
			if d.Index != i {
				t.Fatalf("%s %d, want %d", typ, d.Index, i)
			}
		}
	}
	for i := 0; rounds == 0 || i < rounds; i++ {
		if i > 0 {
			h.control(host, ev.Room, "next")
		}
		everyone("question", i)
		h.control(host, ev.Room, "reveal")
		everyone("reveal", i)
		everyone("scoreboard", i)
		run.rounds = i + 1
		if stalled != nil && run.slowAt < 0 && h.metric("leitai_slow_disconnects_total") > 0 {
			run.slowAt = i
		}
		if rounds == 0 && run.slowAt >= 0 && i >= run.slowAt+3 {
			break
		}
		if i > 100 {
			t.Fatal("the stalled client was never cut off")
		}
	}
	run.moved = h.clk.Now().Sub(start)
	for _, c := range cs {
		n := map[string]int{}
		for _, m := range c.all() {
			n[m.Type]++
		}
		delete(n, "room.joined") // the stalled client's join is one more
		run.counts = append(run.counts, n)
	}
	return run, stalled
}

// TestStalledClientDoesNotDelayOthers: among 200 contestants, one stops
// reading. The others get every broadcast, round after round, exactly as
// they do when nobody stalls, with no time passing on the room's clock; the
// stalled one is cut off with 4002 once its queue fills, and can resume.
func TestStalledClientDoesNotDelayOthers(t *testing.T) {
	const readers = 199
	mod := func(c *web.Config) {
		c.SendQueue = 32
		c.WriteWait = 30 * time.Second // the stalled writer waits for the client, not for a timeout
		c.MessagesPerSecond, c.MessageBurst = 1000, 1000
	}
	wrap := func(ln net.Listener) net.Listener { return smallSendBuffers{ln} }

	h := startHarnessOn(t, t.TempDir(), clock.NewFake(t0), mod, wrap)
	with, stalled := playRounds(t, h, readers, true, 0)
	if with.slowAt < 3 {
		t.Fatalf("cut off after round %d: want several rounds delivered to the others while it was stalled", with.slowAt)
	}
	t.Logf("stalled client cut off after round %d of %d", with.slowAt, with.rounds)
	if with.moved != 3*time.Second {
		t.Fatalf("the room's clock moved %v, want only the 3 s countdown", with.moved)
	}

	// The phone wakes up: it reads what was sent before the cut, then 4002.
	go stalled.read()
	if code := stalled.waitClosed(); code != 4002 {
		t.Fatalf("stalled client closed with %d, want 4002", code)
	}
	if got := h.metric("leitai_slow_disconnects_total"); got != 1 {
		t.Fatalf("%v slow disconnects, want 1", got)
	}
	stalled.mu.Lock()
	got := len(stalled.got)
	stalled.mu.Unlock()
	if got >= 3*with.rounds {
		t.Fatalf("the stalled client read %d messages of %d rounds: it was never behind", got, with.rounds)
	}
	waitFor(t, "stalled connection gone", func() bool { return !h.srv.Connected(stalled.id) })
	// The readers and the host are left.
	waitFor(t, "connection count down by one", func() bool { return h.metric("leitai_connections") == readers+1 })
	// It comes back with its resume token and finds the room where it is.
	back, _ := h.resume(stalled)
	if st, m := back.pushedState(with.room); st.Phase != "reveal" || st.Index != with.rounds-1 {
		t.Fatalf("state after coming back %s", m.raw)
	}

	// The same rounds without a stalled client: each reader got exactly the
	// same messages.
	h2 := startHarnessOn(t, t.TempDir(), clock.NewFake(t0), mod, wrap)
	without, _ := playRounds(t, h2, readers, false, with.rounds)
	for i := range with.counts {
		a, b := with.counts[i], without.counts[i]
		if len(a) != len(b) {
			t.Fatalf("reader %d got %v with a stalled client, %v without", i, a, b)
		}
		for k, v := range b {
			if a[k] != v {
				t.Fatalf("reader %d got %v with a stalled client, %v without", i, a, b)
			}
		}
		if a["question"] != with.rounds || a["reveal"] != with.rounds || a["scoreboard"] != with.rounds {
			t.Fatalf("reader %d got %v in %d rounds", i, a, with.rounds)
		}
	}
	if without.moved != with.moved {
		t.Fatalf("clock moved %v without a stalled client, %v with", without.moved, with.moved)
	}
}

// blackhole is a TCP proxy whose link can be cut: after cut nothing flows
// either way and neither side is told, as when a phone loses its network.
type blackhole struct {
	ln     net.Listener
	target string
	dead   atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target}
	go b.serve()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
	})
	return b
}

func (b *blackhole) serve() {
	for {
		in, err := b.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", b.target)
		if err != nil {
			in.Close()
			continue
		}
		b.mu.Lock()
		b.conns = append(b.conns, in, out)
		b.mu.Unlock()
		go b.pipe(out, in)
		go b.pipe(in, out)
	}
}

// pipe copies until the link is cut; then it stops reading, so the
// sockets stay open with nothing moving.
func (b *blackhole) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil || b.dead.Load() {
			return
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestDeadConnectionFoundByPing: a phone whose network vanishes (no FIN, no
// RST) is found by the server's ping/pong and cleaned up; a healthy one
// beside it stays; the room stops waiting for the dead one, and the player
// resumes on a new connection.
func TestDeadConnectionFoundByPing(t *testing.T) {
	h := newHarness(t, func(c *web.Config) {
		c.PingEvery = 200 * time.Millisecond
		c.PongWait = 2 * time.Second
	})
	bh := newBlackhole(t, h.addr)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+bh.ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	a := &client{t: t, h: h, ws: ws}
	a.cond = sync.NewCond(&a.mu)
	go a.read()
	a.hello("隧道里")
	b := h.dial()
	b.hello("地面上")
	roomID, q := h.duelToFirstQuestion(a, b)
	b.reply(b.send("answer", h.correctAnswer(q)))
	if got := h.metric("leitai_connections"); got != 2 {
		t.Fatalf("%v connections, want 2", got)
	}

	bh.dead.Store(true) // the tunnel
	waitFor(t, "the dead connection found", func() bool { return !h.srv.Connected(a.id) })
	// Found by ping/pong, with no time passing on the room's clock: the
	// healthy client, silent all along but answering pings, is still there.
	if !h.srv.Connected(b.id) {
		t.Fatal("the healthy connection was dropped too")
	}
	waitFor(t, "connection count back to 1", func() bool { return h.metric("leitai_connections") == 1 })
	// The room stops waiting for the dead phone: B answered, so the
	// question closes without its deadline.
	var rb reveal
	b.expect("reveal").decode(t, &rb)
	if !rb.You.Correct || rb.You.Points != 20 {
		t.Fatalf("B's reveal %+v", rb.You)
	}
	// Out of the tunnel: A resumes within the grace window.
	a2, _ := h.resume(a)
	if st, m := a2.pushedState(roomID); st.Phase != "reveal" || st.Index != 0 || st.You.Answered {
		t.Fatalf("state after the tunnel %s", m.raw)
	}
	if !h.srv.Connected(b.id) {
		t.Fatal("the healthy connection was dropped")
	}
}

// TestTalkingConnectionNeedsNoPongs: messages show a client is alive as
// pongs do. A client that never answers pings stays connected while it
// keeps sending, and is dropped once it falls silent.
func TestTalkingConnectionNeedsNoPongs(t *testing.T) {
	const pongWait = 600 * time.Millisecond
	h := newHarness(t, func(c *web.Config) {
		c.PingEvery = 100 * time.Millisecond
		c.PongWait = pongWait
	})
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetPingHandler(func(string) error { return nil }) // never pongs
	a := &client{t: t, h: h, ws: ws}
	a.cond = sync.NewCond(&a.mu)
	go a.read()
	a.hello("话痨")

	// Talk for several times the pong wait: still connected.
	tick := time.NewTicker(pongWait / 6)
	defer tick.Stop()
	for until := time.Now().Add(4 * pongWait); time.Now().Before(until); <-tick.C {
		a.reply(a.send("ping", map[string]any{"t": 1}))
		if !h.srv.Connected(a.id) {
			t.Fatal("a talking client without pongs was dropped")
		}
	}
	// Silence: the deadline is no longer moved, and the client goes.
	waitFor(t, "the silent client dropped", func() bool { return !h.srv.Connected(a.id) })
}
