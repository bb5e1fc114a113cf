package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// soloStart starts a solo room and returns its id and day.
func soloStart(t *testing.T, c *client, kind string) (room, day string) {
	t.Helper()
	m := c.reply(c.send("solo.start", map[string]any{"kind": kind}))
	if m.Type != "solo.started" {
		t.Fatalf("solo.start %s: %s", kind, m.raw)
	}
	var d struct{ Room, Kind, Day string }
	m.decode(t, &d)
	if d.Kind != kind || d.Room == "" {
		t.Fatalf("solo.started: %s", m.raw)
	}
	return d.Room, d.Day
}

// playQuestion waits for question index, answers it (right or wrong) and
// waits for its reveal.
func (h *harness) playQuestion(c *client, index int, right bool) {
	h.t.Helper()
	var q question
	c.expectFn("question "+itoa(index), func(m msg) bool {
		if m.Type != "question" {
			return false
		}
		_ = json.Unmarshal(m.Data, &q)
		return q.Index == index
	})
	a := h.wrongAnswer(q)
	if right {
		a = h.correctAnswer(q)
	}
	c.send("answer", a)
	c.expectReveal(index)
}

func ledgerOf(t *testing.T, st *store.SQL, player, source string) []store.Award {
	t.Helper()
	all, err := st.Ledger(context.Background(), player, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Award
	for _, a := range all {
		if a.Source == source {
			out = append(out, a)
		}
	}
	return out
}

// Daily practice: five questions, once per member and day in Asia/Shanghai
// (the default zone), paid through the ledger once, also across a restart
// in the middle of the next day's practice.
func TestDailyPracticeOncePerDay(t *testing.T) {
	dir := t.TempDir()
	// 23:50 in Shanghai on 28 November.
	clk := clock.NewFake(time.Date(2026, 11, 28, 15, 50, 0, 0, time.UTC))
	h := startHarness(t, dir, clk, nil)
	a := h.dial()
	a.hello("甲")
	roomID, day := soloStart(t, a, "daily")
	if day != "2026-11-28" {
		t.Fatalf("day %q, want 2026-11-28", day)
	}
	a.expect("room.state")
	h.advance(3 * time.Second)
	for i := 0; i < 5; i++ {
		h.playQuestion(a, i, i != 2) // four right, one wrong
		h.advance(3 * time.Second)
	}
	a.expect("room.finished")
	waitFor(t, "the daily award", func() bool { return len(ledgerOf(t, h.st, a.id, store.SourceDaily)) == 1 })
	if got := ledgerOf(t, h.st, a.id, store.SourceDaily)[0]; got.Points != 4 || got.Day != "2026-11-28" || got.Ref != "daily:"+roomID {
		t.Fatalf("award %+v", got)
	}
	// Once a day: refused until midnight in Shanghai.
	a.expectError(a.send("solo.start", map[string]any{"kind": "daily"}), "wrong_phase")
	h.advance(9 * time.Minute)
	a.expectError(a.send("solo.start", map[string]any{"kind": "daily"}), "wrong_phase")
	h.advance(2 * time.Minute) // 00:01 on the 29th
	room2, day2 := soloStart(t, a, "daily")
	if day2 != "2026-11-29" || room2 == roomID {
		t.Fatalf("second day: room %q day %q", room2, day2)
	}
	a.expect("room.state")
	// Asking again while it runs takes the member back to the same room.
	if again, _ := soloStart(t, a, "daily"); again != room2 {
		t.Fatalf("daily again: room %q, want %q", again, room2)
	}
	a.expect("room.state")
	h.advance(3 * time.Second)
	h.playQuestion(a, 0, true)
	h.advance(3 * time.Second)
	h.playQuestion(a, 1, true)
	h.stop()

	// Restart: the practice is restored, the member resumes and finishes.
	h2 := startHarness(t, dir, clk, nil)
	a2 := h2.dial()
	if w := a2.welcomed(a2.send("hello", map[string]any{"resume": a.resume})); w.Player.ID != a.id {
		t.Fatalf("resumed as %+v", w)
	}
	a2.expect("room.state")
	a2.expectError(a2.send("solo.start", map[string]any{"kind": "challenge", "lang": "xx"}), "bad_request")
	h2.advance(3 * time.Second)
	for i := 2; i < 5; i++ {
		h2.playQuestion(a2, i, true)
		h2.advance(3 * time.Second)
	}
	a2.expect("room.finished")
	waitFor(t, "the second daily award", func() bool { return len(ledgerOf(t, h2.st, a.id, store.SourceDaily)) == 2 })
	a2.expectError(a2.send("solo.start", map[string]any{"kind": "daily"}), "wrong_phase")
	h2.stop()

	// Another restart pays nothing more.
	h3 := startHarness(t, dir, clk, nil)
	got := ledgerOf(t, h3.st, a.id, store.SourceDaily)
	if len(got) != 2 || got[0].Points+got[1].Points != 9 {
		t.Fatalf("daily awards after restarts: %+v", got)
	}
	a3 := h3.dial()
	a3.welcomed(a3.send("hello", map[string]any{"resume": a.resume}))
	a3.expectError(a3.send("solo.start", map[string]any{"kind": "daily"}), "wrong_phase")
	a3.expectError(a3.send("solo.start", map[string]any{"kind": "weekly"}), "bad_request")
}

// A challenge ends at the first wrong answer; its length is the player's
// best (kept when a later run is shorter) and is on the leaderboard.
func TestChallengeEndsAtFirstMiss(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	run := func(c *client, right int) string {
		t.Helper()
		id, _ := soloStart(t, c, "challenge")
		c.expect("room.state")
		h.advance(3 * time.Second)
		for i := 0; i <= right; i++ {
			h.playQuestion(c, i, i < right)
			h.advance(3 * time.Second)
		}
		var fin struct{ Standings []struct{ Score int64 } }
		c.expect("room.finished").decode(t, &fin)
		if len(fin.Standings) != 1 || fin.Standings[0].Score != int64(right) {
			t.Fatalf("challenge standings %+v, want a run of %d", fin, right)
		}
		return id
	}
	// Asking again while a run is under way rejoins it.
	first, _ := soloStart(t, a, "challenge")
	a.expect("room.state")
	if again, _ := soloStart(t, a, "challenge"); again != first {
		t.Fatalf("challenge again: room %q, want %q", again, first)
	}
	a.expect("room.state")
	h.advance(3 * time.Second)
	for i := 0; i < 3; i++ {
		h.playQuestion(a, i, true)
		h.advance(3 * time.Second)
	}
	h.playQuestion(a, 3, false)
	h.advance(3 * time.Second)
	a.expect("room.finished")
	waitFor(t, "a's best", func() bool {
		best, err := h.st.ChallengeBestOf(context.Background(), a.id)
		return err == nil && best.Best == 3
	})
	run(a, 1) // shorter: the best stands
	// No answer at all: the run ends when the question's time is up.
	soloStart(t, a, "challenge")
	a.expect("room.state")
	h.advance(3 * time.Second)
	a.expect("question")
	h.advance(16 * time.Second) // the 15 s limit and the grace
	a.expectReveal(0)
	h.advance(3 * time.Second)
	var timedOut struct{ Standings []struct{ Score int64 } }
	a.expect("room.finished").decode(t, &timedOut)
	if len(timedOut.Standings) != 1 || timedOut.Standings[0].Score != 0 {
		t.Fatalf("timed-out run: %+v", timedOut)
	}
	run(b, 2)
	waitFor(t, "b's best", func() bool {
		best, err := h.st.ChallengeBestOf(context.Background(), b.id)
		return err == nil && best.Best == 2
	})
	if best, _ := h.st.ChallengeBestOf(context.Background(), a.id); best.Best != 3 {
		t.Fatalf("a's best %d, want 3", best.Best)
	}
	// Points through the ledger, source challenge, one run a day paid
	// (the default cap): the second run is recorded but pays nothing.
	got := ledgerOf(t, h.st, a.id, store.SourceChallenge)
	if len(got) != 3 || got[0].Paid+got[1].Paid+got[2].Paid != 3 {
		t.Fatalf("a's challenge awards %+v", got)
	}

	resp, err := http.Get(h.url("/api/v1/challenge/leaderboard?player=" + b.id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var board struct {
		Entries []struct {
			Rank int
			Name string
			Best int
		}
		Me *struct{ Best int }
	}
	if err := json.NewDecoder(resp.Body).Decode(&board); err != nil {
		t.Fatal(err)
	}
	if len(board.Entries) != 2 || board.Entries[0].Name != "甲" || board.Entries[0].Best != 3 || board.Entries[1].Best != 2 || board.Entries[1].Rank != 2 || board.Me == nil || board.Me.Best != 2 {
		t.Fatalf("leaderboard %+v", board)
	}
	bad, err := http.Get(h.url("/api/v1/challenge/leaderboard?limit=0"))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("limit=0: %d", bad.StatusCode)
	}
}

// A daily practice whose result did not reach the store (the award was
// written, marking the room finished failed) is finished at the next start
// without paying again, however many starts there are.
func TestDailyPracticeFinishedAtRestartPaysOnce(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h, fs := startFaultyHarness(t, dir, clk, nil)
	a := h.dial()
	a.hello("甲")
	roomID, _ := soloStart(t, a, "daily")
	a.expect("room.state")
	fs.fail("FinishRoom", true)
	h.advance(3 * time.Second)
	for i := 0; i < 5; i++ {
		h.playQuestion(a, i, true)
		h.advance(3 * time.Second)
	}
	a.expect("room.finished")
	waitFor(t, "the daily award", func() bool { return len(ledgerOf(t, h.st, a.id, store.SourceDaily)) == 1 })
	h.stop()
	if _, err := h.st.Result(context.Background(), roomID); err == nil {
		t.Fatal("the result was stored although the store failed")
	}
	for boot := 0; boot < 2; boot++ {
		h2 := startHarness(t, dir, clk, nil)
		waitFor(t, "the result stored at restart", func() bool {
			_, err := h2.st.Result(context.Background(), roomID)
			return err == nil
		})
		got := ledgerOf(t, h2.st, a.id, store.SourceDaily)
		if len(got) != 1 || got[0].Paid != 5 {
			t.Fatalf("boot %d: daily awards %+v, want one of 5", boot, got)
		}
		p, err := h2.st.Player(context.Background(), a.id)
		if err != nil || p.Points != 5 {
			t.Fatalf("boot %d: player %+v, %v; want 5 points", boot, p, err)
		}
		c := h2.dial()
		c.welcomed(c.send("hello", map[string]any{"resume": a.resume}))
		c.expectError(c.send("solo.start", map[string]any{"kind": "daily"}), "wrong_phase")
		h2.stop()
	}
}
