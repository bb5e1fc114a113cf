package web_test

import (
	"context"
	"testing"
	"time"
)

// ownerOf returns the harness whose node runs room.
func ownerOf(t *testing.T, hs []*harness, room string) *harness {
	t.Helper()
	for _, h := range hs {
		if _, ok := h.srv.Rooms().Get(room); ok {
			return h
		}
	}
	t.Fatalf("no node runs %s", room)
	return nil
}

// expectFound waits for match.found at every client and returns its room.
func expectFound(t *testing.T, cs ...*client) string {
	t.Helper()
	var room string
	for _, c := range cs {
		var f struct{ Room string }
		c.expect("match.found").decode(t, &f)
		if f.Room == "" || (room != "" && f.Room != room) {
			t.Fatalf("%s found %q, others %q", c.id, f.Room, room)
		}
		room = f.Room
	}
	return room
}

// TestClusterRematchAcrossNodes: the players of a duel matched across two
// nodes may ask for, accept, decline and let lapse a rematch from their
// own nodes: the request goes to the node that started the match, the
// offer reaches each player on its node, and a player of another node
// who accepted an offer that lapsed is queued again on its own node.
func TestClusterRematchAcrossNodes(t *testing.T) {
	hs := clusterOf(t, 2, nil)
	ctx := context.Background()
	a, b := dialOn(hs, "子", 0)[0], dialOn(hs, "丑", 1)[0]
	for _, c := range []*client{a, b} {
		if m := c.reply(c.send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
			t.Fatalf("find: %s", m.raw)
		}
	}
	hs[0].srv.Matchmaker().Process(ctx)
	hs[1].srv.Matchmaker().Process(ctx)
	old := expectFound(t, a, b)
	h := ownerOf(t, hs, old)
	// here is the player on the node that started the match, there the
	// one on the other.
	here, there := a, b
	if h == hs[1] {
		here, there = b, a
	}
	h.finishDuel(a, b)

	// Asked from the other node, accepted on the starting one.
	if m := there.reply(there.send("match.rematch", map[string]any{"room": old})); m.Type != "ok" {
		t.Fatalf("rematch from the other node: %s", m.raw)
	}
	here.expect("match.rematch_offer")
	if m := here.reply(here.send("match.rematch", map[string]any{"room": old})); m.Type != "ok" {
		t.Fatalf("accept: %s", m.raw)
	}
	second := expectFound(t, a, b)
	if second == old {
		t.Fatal("the rematch reused the old room")
	}
	there.expectError(there.send("match.rematch", map[string]any{"room": old}), "not_found")
	h = ownerOf(t, hs, second)
	h.finishDuel(a, b)

	// Asked from the other node and left unanswered on the starting one:
	// when it lapses, the asker is queued again on its own node.
	if m := there.reply(there.send("match.rematch", map[string]any{"room": second})); m.Type != "ok" {
		t.Fatalf("rematch from the other node: %s", m.raw)
	}
	here.expect("match.rematch_offer")
	h.advance(21 * time.Second)
	h.srv.Matchmaker().Process(ctx)
	for _, c := range []*client{here, there} {
		c.expect("match.rematch_cancelled")
	}
	there.expectFn("match.queued on its own node", func(m msg) bool { return m.Type == "match.queued" && m.Re == "" })
	thereNode := hs[0]
	if there == b {
		thereNode = hs[1]
	}
	waitFor(t, "the asker queued on its node", func() bool {
		_, q := thereNode.srv.Matchmaker().Queued(there.id)
		return q
	})
	if _, q := h.srv.Matchmaker().Queued(there.id); q {
		t.Fatal("the asker was queued on the node that started the match")
	}
	if _, q := h.srv.Matchmaker().Queued(here.id); q {
		t.Fatal("the player who did not answer was queued")
	}

	// A third duel; declined from the other node.
	if m := here.reply(here.send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
		t.Fatalf("find: %s", m.raw)
	}
	hs[0].srv.Matchmaker().Process(ctx)
	hs[1].srv.Matchmaker().Process(ctx)
	third := expectFound(t, a, b)
	h = ownerOf(t, hs, third)
	here, there = a, b
	if h == hs[1] {
		here, there = b, a
	}
	h.finishDuel(a, b)
	if m := here.reply(here.send("match.rematch", map[string]any{"room": third})); m.Type != "ok" {
		t.Fatalf("rematch: %s", m.raw)
	}
	there.expect("match.rematch_offer")
	if m := there.reply(there.send("match.rematch_decline", map[string]any{"room": third})); m.Type != "ok" {
		t.Fatalf("decline from the other node: %s", m.raw)
	}
	for _, c := range []*client{here, there} {
		var rc struct{ Reason string }
		c.expect("match.rematch_cancelled").decode(t, &rc)
		if rc.Reason != "declined" {
			t.Fatalf("%s: cancelled for %q", c.id, rc.Reason)
		}
	}
}
