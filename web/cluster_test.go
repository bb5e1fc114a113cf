package web_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/web"
)

// clusterPair starts two nodes of one cluster in process: one store, one
// in-process bus hub (each node its own end of it), one fake clock.
func clusterPair(t *testing.T) (a, b *harness) {
	t.Helper()
	a, b, _, _ = clusterPairBuses(t, nil)
	return a, b
}

// clusterPairBuses is clusterPair with mod applied to both nodes' config,
// returning each node's end of the bus too.
func clusterPairBuses(t *testing.T, mod func(*web.Config)) (a, b *harness, busA, busB *cluster.Local) {
	t.Helper()
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	hub := cluster.NewLocalHub(clk)
	start := func(node string) (*harness, *cluster.Local) {
		bus := hub.Node()
		// Leases long enough that the fake clock's jumps do not lapse them.
		h := startHarnessWith(t, harnessOpts{dir: dir, clock: clk, node: node, bus: bus, leases: bus,
			cfg: func(c *web.Config) {
				c.LeaseTTL = time.Hour
				if mod != nil {
					mod(c)
				}
			}})
		h.clk = clk
		return h, bus
	}
	a, busA = start("node-a")
	b, busB = start("node-b")
	return a, b, busA, busB
}

// TestClusterSilentOwnerIsUnavailable: a command for a room whose node
// does not answer is refused with unavailable once the reply wait is over,
// and changes nothing.
func TestClusterSilentOwnerIsUnavailable(t *testing.T) {
	a, b, busA, _ := clusterPairBuses(t, func(c *web.Config) { c.ReplyWait = 300 * time.Millisecond })
	ev := a.createEvent(map[string]any{"title": "无应答", "count": 2, "time_limit_ms": 20000, "lang": "zh"})
	p := b.dial()
	p.hello("丙")
	if m := p.reply(p.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
		t.Fatalf("join while the owner answers: %s", m.raw)
	}
	busA.Close() // the owner hears nothing more
	p.expectError(p.send("room.leave", map[string]any{"room": ev.Room}), "unavailable")
	snap, err := a.srv.Rooms().All()[0].Snapshot(context.Background())
	if err != nil || snap.Players != 1 {
		t.Fatalf("the room after an unanswered leave: %+v, %v; want its one player still in", snap, err)
	}
}

// TestClusterEventAcrossNodes: a stage event whose room runs on node A is
// hosted and played from node B as from A. Commands go to A over the bus;
// the room's frames come back to B's players; everyone sees the same
// questions, and a player on B is scored as one on A.
func TestClusterEventAcrossNodes(t *testing.T) {
	a, b := clusterPair(t)
	ev := a.createEvent(map[string]any{"title": "跨节点", "count": 2, "time_limit_ms": 20000, "lang": "zh"})
	if a.srv.Rooms().Len() != 1 || b.srv.Rooms().Len() != 0 {
		t.Fatalf("rooms: A %d, B %d; want the event's room on A only", a.srv.Rooms().Len(), b.srv.Rooms().Len())
	}

	host := b.dial()
	if w := host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken})); w.Role != "host" || w.Event == nil || w.Event.Room != ev.Room {
		t.Fatalf("host welcome on B %+v", w)
	}
	if m := host.reply(host.send("watch", map[string]any{"room": ev.Room})); m.Type != "room.state" {
		t.Fatalf("watch from B: %s", m.raw)
	}
	pa, pb := a.dial(), b.dial()
	pa.hello("甲")
	pb.hello("乙")
	for _, c := range []*client{pa, pb} {
		if m := c.reply(c.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
			t.Fatalf("join: %s", m.raw)
		}
	}
	host.expect("room.joined")
	host.expect("room.joined")
	if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"})); m.Type != "ok" {
		t.Fatalf("start from B: %s", m.raw)
	}
	for i := 0; i < 2; i++ {
		if i == 0 {
			a.advance(3 * time.Second) // the countdown
		} else {
			host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "next"}))
		}
		var qa, qb, qh question
		pa.expect("question").decode(t, &qa)
		pb.expect("question").decode(t, &qb)
		host.expect("question").decode(t, &qh)
		if qa.Question.ID != qb.Question.ID || qa.Question.ID != qh.Question.ID || qa.Index != i || qb.Index != i {
			t.Fatalf("question %d: A saw %s/%d, B %s/%d, host %s", i, qa.Question.ID, qa.Index, qb.Question.ID, qb.Index, qh.Question.ID)
		}
		a.advance(2 * time.Second)
		for _, c := range []*client{pa, pb} {
			if m := c.reply(c.send("answer", a.correctAnswer(qa))); m.Type != "answer.ack" {
				t.Fatalf("answer %d by %s: %s", i, c.id, m.raw)
			}
		}
		var ra, rb reveal
		pa.expectReveal(i).decode(t, &ra)
		pb.expectReveal(i).decode(t, &rb)
		if ra.You.Points != rb.You.Points || rb.You.Points == 0 {
			t.Fatalf("question %d: A scored %d, B %d; both answered right after 2 s", i, ra.You.Points, rb.You.Points)
		}
		host.expect("reveal")
	}
	host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "next"}))
	pa.expect("room.finished")
	pb.expect("room.finished")
	host.expect("room.finished")
}

// gatedBus is one node's end of an in-process bus whose room requests
// can be held back (a starved owner that reads them late) and whose owner
// look-ups are counted.
type gatedBus struct {
	*cluster.Local
	lookups atomic.Int64

	// mu guards the following fields.
	mu   sync.Mutex
	hold bool
	held []func()
}

func (g *gatedBus) Owner(ctx context.Context, key string) (string, error) {
	g.lookups.Add(1)
	return g.Local.Owner(ctx, key)
}

func (g *gatedBus) Subscribe(ctx context.Context, channel string, fn func([]byte)) (func(), error) {
	if !strings.HasPrefix(channel, "rq:") {
		return g.Local.Subscribe(ctx, channel, fn)
	}
	return g.Local.Subscribe(ctx, channel, func(msg []byte) {
		g.mu.Lock()
		if g.hold {
			g.held = append(g.held, func() { fn(msg) })
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		fn(msg)
	})
}

// stall holds back the requests that arrive from now on.
func (g *gatedBus) stall() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

// resume delivers what was held back, in order, and stops holding.
func (g *gatedBus) resume() {
	g.mu.Lock()
	held := g.held
	g.hold, g.held = false, nil
	g.mu.Unlock()
	for _, fn := range held {
		fn()
	}
}

// gatedPair is clusterPair with a 50 ms reply wait and gated buses: the
// rooms run on A, the player is on B.
func gatedPair(t *testing.T) (a, b *harness, busA, busB *gatedBus) {
	t.Helper()
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	hub := cluster.NewLocalHub(clk)
	start := func(node string) (*harness, *gatedBus) {
		bus := &gatedBus{Local: hub.Node()}
		h := startHarnessWith(t, harnessOpts{dir: dir, clock: clk, node: node, bus: bus, leases: bus.Local,
			cfg: func(c *web.Config) { c.LeaseTTL = time.Hour; c.ReplyWait = 50 * time.Millisecond }})
		h.clk = clk
		return h, bus
	}
	a, busA = start("node-a")
	b, busB = start("node-b")
	return a, b, busA, busB
}

// startedEvent makes an event on a with one player, p, on b, and asks its
// first question.
func startedEvent(t *testing.T, a, b *harness) (ev created, p *client, q question) {
	t.Helper()
	ev = a.createEvent(map[string]any{"title": "慢节点", "count": 2, "time_limit_ms": 20000, "lang": "zh"})
	host := a.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	p = b.dial()
	p.hello("丁")
	if m := p.reply(p.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
		t.Fatalf("join: %s", m.raw)
	}
	if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"})); m.Type != "ok" {
		t.Fatalf("start: %s", m.raw)
	}
	a.advance(3 * time.Second)
	p.expect("question").decode(t, &q)
	return ev, p, q
}

// TestClusterSlowOwnerTakesAnswer: an answer relayed to a room whose
// owner is alive but slow to read it is not refused when the reply wait
// passes: the edge waits on while the owner holds the room, and the answer
// is acked once the owner takes it.
func TestClusterSlowOwnerTakesAnswer(t *testing.T) {
	a, b, busA, busB := gatedPair(t)
	_, p, q := startedEvent(t, a, b)
	busA.stall()
	before := busB.lookups.Load()
	id := p.send("answer", a.correctAnswer(q))
	// The edge looks the owner up each time the reply wait passes: two
	// look-ups, and the answer is still waiting.
	waitFor(t, "the edge to wait past its reply wait twice", func() bool { return busB.lookups.Load() >= before+2 })
	busA.resume()
	if m := p.reply(id); m.Type != "answer.ack" {
		t.Fatalf("an answer the owner took late: %s; want answer.ack", m.raw)
	}
}

// TestClusterAnswerToLostOwnerIsUnavailable: an answer waiting on an
// owner that no longer holds the room (it died, or the room moved) is
// refused with unavailable, without waiting for the question to close.
func TestClusterAnswerToLostOwnerIsUnavailable(t *testing.T) {
	a, b, busA, _ := gatedPair(t)
	ev, p, q := startedEvent(t, a, b)
	busA.stall()
	id := p.send("answer", a.correctAnswer(q))
	if err := busA.Release(context.Background(), "room:"+ev.Room, "node-a"); err != nil {
		t.Fatal(err)
	}
	p.expectError(id, "unavailable")
}

// TestClusterAnswerWaitEndsWithQuestion: an answer waits for a live but
// silent owner only until its question has closed and the reply wait more.
func TestClusterAnswerWaitEndsWithQuestion(t *testing.T) {
	a, b, busA, busB := gatedPair(t)
	_, p, q := startedEvent(t, a, b)
	busA.stall()
	before := busB.lookups.Load()
	id := p.send("answer", a.correctAnswer(q))
	waitFor(t, "the edge to wait past its reply wait", func() bool { return busB.lookups.Load() > before })
	a.advance(30 * time.Second) // past the 20 s limit, its grace, and the margin
	p.expectError(id, "unavailable")
}
