package web_test

import (
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
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	hub := cluster.NewLocalHub(clk)
	start := func(node string) *harness {
		bus := hub.Node()
		// Leases long enough that the fake clock's jumps do not lapse them.
		h := startHarnessWith(t, harnessOpts{dir: dir, clock: clk, node: node, bus: bus, leases: bus,
			cfg: func(c *web.Config) { c.LeaseTTL = time.Hour }})
		h.clk = clk
		return h
	}
	return start("node-a"), start("node-b")
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
