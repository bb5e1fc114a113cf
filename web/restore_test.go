package web_test

import (
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// After a restart, players of a rebuilt match room are still busy: they
// cannot queue into a second room.
func TestRestoredMatchPlayersStayBusy(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h := startHarness(t, dir, clk, nil)
	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	h.queueAndMatch("duel", a, b)
	a.expect("room.state")
	h.stop()

	h2 := startHarness(t, dir, clk, nil)
	a2 := h2.dial()
	if w := a2.welcomed(a2.send("hello", map[string]any{"resume": a.resume})); w.Player.ID != a.id {
		t.Fatalf("resumed as %+v", w)
	}
	var st struct{ Phase string }
	a2.expect("room.state").decode(t, &st)
	a2.expectError(a2.send("match.find", map[string]any{"mode": "duel"}), "wrong_phase")
	h2.advance(3 * time.Second)
	a2.expect("question")
}
