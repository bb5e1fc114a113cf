package web_test

import (
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/web"
)

// These tests put contestants on networks of different round trips, through
// a proxy that delays every byte, and have each answer a fixed time after
// the question reached it. Network delay is their subject, so the server
// runs on the wall clock; what they check is the server's measure of each
// answer against the others, not how fast anything went.

// delayProxy forwards TCP connections to target, holding each chunk of
// bytes back for oneWay in each direction: a network whose round trip is
// twice oneWay. It keeps the order of bytes and adds nothing else. Every
// connection and goroutine it made is gone when the test ends.
func delayProxy(t *testing.T, target string, oneWay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	keep := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				down.Close()
				continue
			}
			keep(down)
			keep(up)
			wg.Add(2)
			go func() { defer wg.Done(); pipeDelayed(up, down, oneWay) }()
			go func() { defer wg.Done(); pipeDelayed(down, up, oneWay) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// pipeDelayed copies src to dst, each chunk delay after it was read.
func pipeDelayed(dst, src net.Conn, delay time.Duration) {
	type chunk struct {
		b   []byte
		due time.Time
	}
	chunks := make(chan chunk, 4096)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				chunks <- chunk{b[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range chunks {
		if failed {
			continue // drain, so the reader ends
		}
		waitUntil(c.due)
		if _, err := dst.Write(c.b); err != nil {
			failed = true
			src.Close()
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok && !failed {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// waitUntil returns at the moment due: a network's delay, or a
// contestant's reaction time.
func waitUntil(due time.Time) {
	if d := time.Until(due); d > 0 {
		<-time.After(d)
	}
}

// contestant is a player on a network of a given round trip.
type contestant struct {
	name string
	rtt  time.Duration
	c    *client
}

// dialOver connects a client through a proxy with round trip rtt (none
// for a round trip of 0).
func (h *harness) dialOver(rtt time.Duration) *client {
	h.t.Helper()
	if rtt == 0 {
		return h.dial()
	}
	return h.dialTo(delayProxy(h.t, h.addr, rtt/2), nil)
}

// answered is what one contestant's answer to one question came to.
type answered struct {
	elapsed int64 // ms, the server's measure (answer.ack)
	points  int64 // reveal.you.points
	// reacted is how long after reading the question the contestant
	// actually sent its answer, in ms: the planned reaction plus however
	// late this process's timer woke on a busy machine. The server cannot
	// tell the two apart, so its measure is held to this.
	reacted int64
}

// answerRound waits for every contestant's next question and answers it
// right exactly react (plus the contestant's own extra) after it reached
// that contestant. It returns what each answer came to.
func answerRound(h *harness, cs []*contestant, react func(i int) time.Duration) []answered {
	h.t.Helper()
	type due struct {
		i        int
		at, read time.Time
		q        question
	}
	var dues []due
	for i, c := range cs {
		m := c.c.expect("question")
		var q question
		m.decode(h.t, &q)
		dues = append(dues, due{i: i, at: m.at.Add(react(i)), read: m.at, q: q})
	}
	slices.SortFunc(dues, func(a, b due) int { return a.at.Compare(b.at) })
	ids := make([]string, len(cs))
	reacted := make([]int64, len(cs))
	for _, d := range dues {
		waitUntil(d.at)
		ids[d.i] = cs[d.i].c.send("answer", h.correctAnswer(d.q))
		reacted[d.i] = time.Since(d.read).Milliseconds()
	}
	out := make([]answered, len(cs))
	for i, c := range cs {
		var a ack
		m := c.c.reply(ids[i])
		if m.Type != "answer.ack" {
			h.t.Fatalf("%s: answer: %s", c.name, m.raw)
		}
		m.decode(h.t, &a)
		var r reveal
		c.c.expectReveal(dues[0].q.Index).decode(h.t, &r)
		out[i] = answered{elapsed: a.Elapsed, points: r.You.Points, reacted: reacted[i]}
	}
	return out
}

// fairHarness is a server on the wall clock with fair timing on.
func fairHarness(t *testing.T, mod func(*web.Config)) *harness {
	return startHarnessWith(t, harnessOpts{clock: clock.Real{}, cfg: func(c *web.Config) {
		c.IgnoreRTT = false
		if mod != nil {
			mod(c)
		}
	}})
}

// react is how long after a question reaches a contestant it answers.
const react = 1500 * time.Millisecond

// TestFairTimingInAnEvent: contestants on round trips of 0, 150 and 300 ms,
// and one on 300 ms who joins during the countdown, about 2 s before the
// first question, each answer exactly react after the question reaches
// them. The server measures them within 20 ms of one another and their
// points are within 1 %. (The 5 s limit makes points telling: half a round
// trip of 300 ms not compensated costs 1.8 % of them.)
func TestFairTimingInAnEvent(t *testing.T) {
	if raceDetector {
		t.Skip("millisecond timing over real sockets means nothing under the race detector; the plain pass runs this")
	}
	h := fairHarness(t, nil)
	ev := h.createEvent(map[string]any{"title": "公平计时", "count": 2, "time_limit_ms": 5000, "auto_advance": true, "reveal_ms": 1000})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))

	var cs []*contestant
	join := func(name string, rtt time.Duration) (phase string) {
		t.Helper()
		c := &contestant{name: name, rtt: rtt, c: h.dialOver(rtt)}
		c.c.hello(name)
		m := c.c.reply(c.c.send("event.join", map[string]any{"pin": ev.PIN}))
		if m.Type != "room.state" {
			t.Fatalf("%s: join: %s", name, m.raw)
		}
		var st struct{ Phase string }
		m.decode(t, &st)
		cs = append(cs, c)
		return st.Phase
	}
	join("零", 0)
	join("一百五", 150*time.Millisecond)
	join("三百", 300*time.Millisecond)

	if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"})); m.Type != "ok" {
		t.Fatalf("start: %s", m.raw)
	}
	// The latecomer connects and joins during the 3 s countdown: over a
	// 300 ms round trip the upgrade, hello and join take about a second.
	if phase := join("迟到", 300*time.Millisecond); phase != "countdown" {
		t.Fatalf("the latecomer joined in phase %q, want countdown", phase)
	}

	for q := 0; q < 2; q++ {
		res := answerRound(h, cs, func(int) time.Duration { return react })
		var errs, pts []int64
		for i, r := range res {
			t.Logf("question %d: %-4s rtt %3d ms: elapsed %d ms, sent after %d ms, %d points", q, cs[i].name, cs[i].rtt.Milliseconds(), r.elapsed, r.reacted, r.points)
			errs = append(errs, r.elapsed-r.reacted)
			pts = append(pts, r.points)
		}
		if spread := slices.Max(errs) - slices.Min(errs); spread > 20 {
			t.Errorf("question %d: the server's measures less the reactions, %v ms, differ by %d ms, want at most 20", q, errs, spread)
		}
		if lo, hi := slices.Min(pts), slices.Max(pts); float64(hi-lo) > 0.01*float64(hi) {
			t.Errorf("question %d: points %v differ by more than 1 %%", q, pts)
		}
	}
}

// TestFairTimingInADuel: a duellist on a 300 ms round trip against one on
// 0 ms, their first question 3 s after match.found. Answering equally fast
// they are measured within 20 ms of each other; when one is 40 ms quicker
// to answer, it is measured quicker (by 40 ms, give or take 20) and takes
// the race's 20 points, whichever network it is on.
func TestFairTimingInADuel(t *testing.T) {
	if raceDetector {
		t.Skip("millisecond timing over real sockets means nothing under the race detector; the plain pass runs this")
	}
	h := fairHarness(t, func(c *web.Config) { c.MatchQuestions = 3; c.RevealFor = time.Second })
	far := &contestant{name: "远", rtt: 300 * time.Millisecond, c: h.dialOver(300 * time.Millisecond)}
	near := &contestant{name: "近", rtt: 0, c: h.dialOver(0)}
	far.c.hello(far.name)
	near.c.hello(near.name)
	h.queueAndMatch("duel", far.c, near.c)
	far.c.expect("room.state")
	near.c.expect("room.state")
	cs := []*contestant{far, near}

	const lead = 40 * time.Millisecond
	rounds := []struct {
		what  string
		extra [2]time.Duration // added to react for far, near
		wins  int              // index of the contestant who must win; -1: either
	}{
		{"equally fast", [2]time.Duration{0, 0}, -1},
		{"the far one quicker", [2]time.Duration{0, lead}, 0},
		{"the near one quicker", [2]time.Duration{lead, 0}, 1},
	}
	for q, r := range rounds {
		res := answerRound(h, cs, func(i int) time.Duration { return react + r.extra[i] })
		for i, a := range res {
			t.Logf("question %d (%s): %s rtt %3d ms: elapsed %d ms, sent after %d ms, %d points", q, r.what, cs[i].name, cs[i].rtt.Milliseconds(), a.elapsed, a.reacted, a.points)
		}
		want := res[0].reacted - res[1].reacted
		if diff := res[0].elapsed - res[1].elapsed; diff < want-20 || diff > want+20 {
			t.Errorf("question %d (%s): measured %d and %d ms, a difference of %d, want %d ± 20 (the reactions' difference)", q, r.what, res[0].elapsed, res[1].elapsed, diff, want)
		}
		// The planned winner, unless this process's timers moved the
		// reactions closer than the tolerance.
		if r.wins >= 0 && want*int64(1-2*r.wins) <= -20 && (res[r.wins].points != 20 || res[1-r.wins].points != 10) {
			t.Errorf("question %d (%s): points %d and %d, want 20 to %s", q, r.what, res[0].points, res[1].points, cs[r.wins].name)
		}
	}
}

// TestRoundTripProbes: a connection's round trip is measured from a burst
// of pings at hello, again when it joins an event or is matched, and at an
// event's countdown, not from one ping every 15 s.
func TestRoundTripProbes(t *testing.T) {
	h := newHarness(t, nil) // pings every 15 s otherwise
	atLeast := func(c *client, n int64, what string) {
		t.Helper()
		waitFor(t, what, func() bool { return c.pings.Load() >= n })
	}
	ev := h.createEvent(map[string]any{"title": "测量", "count": 1})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	c := h.dial()
	c.hello("探测")
	atLeast(c, 1+3, "a ping on connecting and three after hello")
	c.reply(c.send("event.join", map[string]any{"pin": ev.PIN}))
	atLeast(c, 1+3+3, "three more on joining the event")
	host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"}))
	c.expect("countdown")
	atLeast(c, 1+3+3+3, "three more at the countdown")

	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	atLeast(a, 4, "a's pings after hello")
	atLeast(b, 4, "b's pings after hello")
	h.queueAndMatch("duel", a, b)
	atLeast(a, 7, "three more for a on being matched")
	atLeast(b, 7, "three more for b on being matched")
}
