package web_test

import (
	"context"
	"testing"
	"time"
)

// finishDuel plays a matched duel to its end: a answers every question right,
// b wrong, so a wins the race. It returns once both have room.finished and
// the matchmaker has freed them.
func (h *harness) finishDuel(a, b *client) {
	h.t.Helper()
	a.expect("room.state")
	b.expect("room.state")
	h.advance(3 * time.Second) // countdown
	for i := 0; ; i++ {
		m := a.expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			break
		}
		var q question
		m.decode(h.t, &q)
		b.expect("question")
		a.reply(a.send("answer", h.correctAnswer(q)))
		b.reply(b.send("answer", h.wrongAnswer(q)))
		a.expect("reveal")
		b.expect("reveal")
		h.advance(3 * time.Second)
		if i > 10 {
			h.t.Fatal("the duel never finished")
		}
	}
	b.expect("room.finished")
	waitFor(h.t, "players released", func() bool {
		_, busyA := h.srv.Matchmaker().Playing(a.id)
		_, busyB := h.srv.Matchmaker().Playing(b.id)
		return !busyA && !busyB
	})
}

type rematchOffer struct {
	Room      string
	Mode      string
	From      struct{ ID, Name string }
	ExpiresAt int64 `json:"expires_at"`
}

func TestRematchAccepted(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.dial(), h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	c.hello("旁观")
	old := h.queueAndMatch("duel", a, b)

	// Not while the match runs, and never for someone else's match.
	a.expectError(a.send("match.rematch", map[string]any{"room": old}), "wrong_phase")
	h.finishDuel(a, b)
	a.expectError(a.send("match.rematch", map[string]any{}), "bad_request")
	a.expectError(a.send("match.rematch", map[string]any{"room": "r-nope"}), "not_found")
	c.expectError(c.send("match.rematch", map[string]any{"room": old}), "not_found")
	a.expectError(a.send("match.rematch_decline", map[string]any{"room": old}), "not_found")

	if m := a.reply(a.send("match.rematch", map[string]any{"room": old})); m.Type != "ok" {
		t.Fatalf("match.rematch: %s", m.raw)
	}
	var off rematchOffer
	b.expect("match.rematch_offer").decode(t, &off)
	if off.Room != old || off.Mode != "duel" || off.From.ID != a.id || off.From.Name != "甲" ||
		off.ExpiresAt != h.clk.Now().Add(20*time.Second).UnixMilli() {
		t.Fatalf("offer = %+v", off)
	}
	// The requester waits for the others: it may not queue meanwhile.
	a.expectError(a.send("match.find", map[string]any{"mode": "duel"}), "wrong_phase")
	if _, queued := h.srv.Matchmaker().Queued(a.id); queued {
		t.Fatal("the requester was queued before anyone declined")
	}

	h.advance(10 * time.Second) // within the window
	h.srv.Matchmaker().Process(context.Background())
	if m := b.reply(b.send("match.rematch", map[string]any{"room": old})); m.Type != "ok" {
		t.Fatalf("accept: %s", m.raw)
	}
	var room string
	for _, cl := range []*client{a, b} {
		var f struct {
			Room    string
			Mode    string
			Players []struct{ ID string }
		}
		cl.expect("match.found").decode(t, &f)
		if f.Room == old || f.Mode != "duel" || len(f.Players) != 2 || (room != "" && f.Room != room) {
			t.Fatalf("rematch found = %+v (old room %s)", f, old)
		}
		room = f.Room
		ids := map[string]bool{f.Players[0].ID: true, f.Players[1].ID: true}
		if !ids[a.id] || !ids[b.id] {
			t.Fatalf("rematch players = %+v, want %s and %s", f.Players, a.id, b.id)
		}
	}
	for _, cl := range []*client{a, b} {
		for _, m := range cl.all() {
			if m.Type == "match.rematch_cancelled" || m.Type == "match.queued" && m.Re == "" {
				t.Fatalf("%s got %s in an accepted rematch", cl.id, m.raw)
			}
		}
	}
	// One rematch per match: the old room cannot be asked again, and the
	// new one only once it has finished.
	a.expectError(a.send("match.rematch", map[string]any{"room": old}), "not_found")
	a.expectError(a.send("match.rematch", map[string]any{"room": room}), "wrong_phase")
	h.finishDuel(a, b)
	if m := b.reply(b.send("match.rematch", map[string]any{"room": room})); m.Type != "ok" {
		t.Fatalf("rematch of the rematch: %s", m.raw)
	}
	a.expect("match.rematch_offer")
}

// rematchFails checks that a rematch ended for reason: both players are
// told, and only the requester a ends up queued for a new duel.
func rematchFails(t *testing.T, h *harness, a, b *client, old, reason string) {
	t.Helper()
	for _, cl := range []*client{a, b} {
		var rc struct{ Room, Reason string }
		cl.expect("match.rematch_cancelled").decode(t, &rc)
		if rc.Room != old || rc.Reason != reason {
			t.Fatalf("%s: cancelled = %+v, want %s", cl.id, rc, reason)
		}
	}
	var q struct{ Ticket, Mode string }
	a.expectFn("match.queued", func(m msg) bool { return m.Type == "match.queued" && m.Re == "" }).decode(t, &q)
	tk, ok := h.srv.Matchmaker().Queued(a.id)
	if q.Mode != "duel" || !ok || tk.ID != q.Ticket || tk.Mode != "duel" {
		t.Fatalf("requester not queued for a duel: %+v (queued %v)", q, ok)
	}
	if _, ok := h.srv.Matchmaker().Queued(b.id); ok && reason != "left" {
		t.Fatal("the player who did not accept was queued")
	}
}

func TestRematchDeclined(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.dial(), h.dial()
	a.hello("想再来")
	b.hello("不来了")
	old := h.queueAndMatch("duel", a, b)
	h.finishDuel(a, b)
	a.reply(a.send("match.rematch", map[string]any{"room": old}))
	b.expect("match.rematch_offer")
	if m := b.reply(b.send("match.rematch_decline", map[string]any{"room": old})); m.Type != "ok" {
		t.Fatalf("decline: %s", m.raw)
	}
	rematchFails(t, h, a, b, old, "declined")
	b.expectError(b.send("match.rematch", map[string]any{"room": old}), "not_found")
}

func TestRematchTimesOut(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.dial(), h.dial()
	a.hello("等回应")
	b.hello("没回应")
	old := h.queueAndMatch("duel", a, b)
	h.finishDuel(a, b)
	a.reply(a.send("match.rematch", map[string]any{"room": old}))
	b.expect("match.rematch_offer")
	h.advance(19 * time.Second)
	h.srv.Matchmaker().Process(context.Background())
	if _, ok := h.srv.Matchmaker().Queued(a.id); ok {
		t.Fatal("the offer ended before its window")
	}
	h.advance(time.Second)
	h.srv.Matchmaker().Process(context.Background())
	rematchFails(t, h, a, b, old, "timeout")
}

func TestRematchOpponentLeaves(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.dial(), h.dial()
	a.hello("留下")
	b.hello("另找")
	old := h.queueAndMatch("duel", a, b)
	h.finishDuel(a, b)
	a.reply(a.send("match.rematch", map[string]any{"room": old}))
	b.expect("match.rematch_offer")
	// The opponent goes for a four-player match instead.
	if m := b.reply(b.send("match.find", map[string]any{"mode": "four"})); m.Type != "match.queued" {
		t.Fatalf("find: %s", m.raw)
	}
	rematchFails(t, h, a, b, old, "left")
}
