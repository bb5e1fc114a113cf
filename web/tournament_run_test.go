package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// questionIn waits for question index of room.
func questionIn(c *client, room string, index int) question {
	c.t.Helper()
	var q question
	c.expectFn(fmt.Sprintf("question %d of %s", index, room), func(m msg) bool {
		if m.Type != "question" {
			return false
		}
		var got question
		_ = json.Unmarshal(m.Data, &got)
		if got.Room != room || got.Index != index {
			return false
		}
		q = got
		return true
	})
	return q
}

// answerIn answers q right or wrong and waits for the room to take it.
func (h *harness) answerIn(c *client, q question, right bool) {
	h.t.Helper()
	a := h.wrongAnswer(q)
	if right {
		a = h.correctAnswer(q)
	}
	if m := c.reply(c.send("answer", a)); m.Type == "error" {
		h.t.Fatalf("answer %d of %s: %s", q.Index, q.Room, m.raw)
	}
}

// revealIn waits for the reveal of question index of room.
func revealIn(c *client, room string, index int) {
	c.t.Helper()
	c.expectFn(fmt.Sprintf("reveal %d of %s", index, room), func(m msg) bool {
		var r struct {
			Room  string
			Index int
		}
		_ = json.Unmarshal(m.Data, &r)
		return m.Type == "reveal" && r.Room == room && r.Index == index
	})
}

// countdownIn waits until the room has started its countdown, as c is
// told by the room's state or its countdown message.
func countdownIn(c *client, room string) {
	c.t.Helper()
	c.expectFn("countdown of "+room, func(m msg) bool {
		var r struct{ Room, Phase string }
		_ = json.Unmarshal(m.Data, &r)
		return r.Room == room && (m.Type == "countdown" || (m.Type == "room.state" && r.Phase == "countdown"))
	})
}

func finishedIn(c *client, room string) {
	c.t.Helper()
	c.expectFn("room.finished of "+room, func(m msg) bool {
		var r struct{ Room string }
		_ = json.Unmarshal(m.Data, &r)
		return m.Type == "room.finished" && r.Room == room
	})
}

// step is one player's answer to one question: right or wrong, after the
// clock moved by delay since the question (or the answer before it).
type step struct {
	right bool
	delay time.Duration
}

// playRoom plays a room through: for each question, each player's step in
// order (the clock moves by the step's delay before it), then the reveal
// and the reveal's time.
func (h *harness) playRoom(room string, cs []*client, script [][]step, countdown bool) {
	h.t.Helper()
	if countdown {
		for _, c := range cs {
			countdownIn(c, room)
		}
		h.advance(3 * time.Second)
	}
	for i, steps := range script {
		qs := make([]question, len(cs))
		for k, c := range cs {
			qs[k] = questionIn(c, room, i)
		}
		for k, c := range cs {
			if steps[k].delay > 0 {
				h.advance(steps[k].delay)
			}
			h.answerIn(c, qs[k], steps[k].right)
		}
		for _, c := range cs {
			revealIn(c, room, i)
		}
		h.advance(3 * time.Second)
	}
	for _, c := range cs {
		finishedIn(c, room)
	}
}

type nextView struct {
	State     string
	Round     int
	Room      string
	SecondsTo int64 `json:"seconds_to"`
	CheckedIn bool  `json:"checked_in"`
	Rank      int
	Seed      int
	Attempts  []struct {
		Num   int
		Score int64
	}
}

type viewReply struct {
	Entrants []struct {
		Seed   int
		Player string
	}
	Rounds []struct {
		Num     int
		State   string
		Matches []struct {
			Slot    int
			Seats   []string
			State   string
			Room    string
			Advance []string
			By      string
		}
	}
	Final *struct {
		Event, Room, PIN string
	}
	Standings []struct {
		Place  int
		Player string
		Round  int
	}
	Ranking []struct {
		Rank  int
		ID    string
		Score int64
	}
}

// A tournament through real rooms over real WebSockets, on a fake clock:
// six members through a timed-paper qualifier (one of them twice, best
// counting; one dropping and resuming), a duel bracket of eight seats
// (two byes), a no-show forfeiting after the grace, a tie broken by time,
// a server restart in the middle of round 2, a tie broken by a sudden
// death, to a final played as a stage event its host starts. Every
// advance and the final standings are checked against the test's own
// reading.
func TestTournamentThroughRooms(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h := startHarness(t, dir, clk, nil)
	org := h.orgToken()
	closes := t0.Add(2 * time.Hour)
	rounds := []time.Time{closes.Add(10 * time.Minute), closes.Add(20 * time.Minute), closes.Add(30 * time.Minute)}
	var rs []string
	for _, r := range rounds {
		rs = append(rs, r.Format(time.RFC3339))
	}
	body := map[string]any{"id": "city", "title": "城市答题挑战赛", "config": map[string]any{
		"format": "duel", "field": 6,
		"pool":      map[string]any{"sets": []string{"sample"}},
		"qualifier": map[string]any{"opens": t0.Format(time.RFC3339), "closes": closes.Format(time.RFC3339), "questions": 2, "minutes": 1, "attempts": 2},
		"rounds":    rs, "check_in_seconds": 600, "grace_seconds": 60, "match_questions": 2, "match_seconds": 10,
	}}
	if code := h.api("POST", "/api/v1/tournaments", org, body, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}

	cs := make([]*client, 6)
	for i := range cs {
		cs[i] = h.dial()
		cs[i].hello(fmt.Sprintf("选手%d", i))
	}
	attempt := func(c *client) string {
		t.Helper()
		m := c.reply(c.send("tournament.attempt", map[string]any{"tournament": "city"}))
		if m.Type != "tournament.attempt_started" {
			t.Fatalf("attempt: %s", m.raw)
		}
		var d struct{ Room string }
		m.decode(t, &d)
		return d.Room
	}
	// The qualifier. Scripted so the ranking is p0..p5 by score, then by
	// time: p5 tries twice (its first attempt is its worst), p2 drops in
	// the middle of its attempt and resumes it.
	scripts := [][][]step{
		{{{true, 0}}, {{true, 0}}},                               // p0: 2 right, 0 s
		{{{true, time.Second}}, {{true, time.Second}}},           // p1: 2 right, 2 s
		{{{true, 0}}, {{false, 0}}},                              // p2: 1 right (resumed)
		{{{true, 3 * time.Second}}, {{false, 0}}},                // p3: 1 right, 3 s
		{{{false, 0}}, {{false, 0}}},                             // p4: 0 right, 0 s
		{{{false, 2 * time.Second}}, {{false, 2 * time.Second}}}, // p5: 0 right, 4 s (first try)
	}
	for i, c := range cs {
		room := attempt(c)
		if i != 2 {
			h.playRoom(room, []*client{c}, scripts[i], true)
			continue
		}
		// Asking again while the attempt runs takes p2 back to it.
		if again := attempt(c); again != room {
			t.Fatalf("second ask: room %s, want %s", again, room)
		}
		c.expectError(c.send("tournament.attempt", map[string]any{"tournament": "nope"}), "not_found")
		countdownIn(c, room)
		h.advance(3 * time.Second)
		q := questionIn(c, room, 0)
		h.answerIn(c, q, true)
		revealIn(c, room, 0)
		c.ws.Close() // the member drops, and comes back
		cs[2] = h.dial()
		cs[2].welcomed(cs[2].send("hello", map[string]any{"resume": c.resume}))
		cs[2].expect("room.state")
		h.advance(3 * time.Second)
		h.answerIn(cs[2], questionIn(cs[2], room, 1), false)
		revealIn(cs[2], room, 1)
		h.advance(3 * time.Second)
		finishedIn(cs[2], room)
	}
	// p5's second attempt: 1 right, slower than p3's; it counts, p5 ranks
	// fifth, p4 sixth.
	waitFor(t, "p5's first attempt recorded", func() bool {
		var v nextView
		m := cs[5].reply(cs[5].send("tournament.next", map[string]any{"tournament": "city"}))
		m.decode(t, &v)
		return len(v.Attempts) == 1
	})
	h.playRoom(attempt(cs[5]), cs[5:], [][]step{{{true, 5 * time.Second}}, {{false, 0}}}, true)
	waitFor(t, "p5's second attempt recorded", func() bool {
		var v nextView
		cs[5].reply(cs[5].send("tournament.next", map[string]any{"tournament": "city"})).decode(t, &v)
		return len(v.Attempts) == 2
	})
	cs[5].expectError(cs[5].send("tournament.attempt", map[string]any{"tournament": "city"}), "wrong_phase")

	seeds := []int{0, 1, 2, 3, 5, 4} // seeds[s-1] is the member seeded s
	var ranking struct {
		Rows []struct {
			Rank  int
			ID    string
			Score int64
		}
	}
	waitFor(t, "every attempt recorded", func() bool {
		h.api("GET", "/api/v1/tournaments/city/ranking", "", nil, &ranking)
		return len(ranking.Rows) == 6
	})
	for s, i := range seeds {
		if ranking.Rows[s].ID != cs[i].id {
			t.Fatalf("qualifier rank %d: %s, want p%d (%s)", s+1, ranking.Rows[s].ID, i, cs[i].id)
		}
	}
	bySeed := func(s int) *client { return cs[seeds[s-1]] }

	checkIn := func(round int, who ...int) {
		t.Helper()
		for _, s := range who {
			c := bySeed(s)
			if m := c.reply(c.send("tournament.checkin", map[string]any{"tournament": "city", "round": round})); m.Type != "tournament.checked_in" {
				t.Fatalf("check-in of seed %d for round %d: %s", s, round, m.raw)
			}
		}
	}
	view := func() viewReply {
		t.Helper()
		var v viewReply
		if code := h.api("GET", "/api/v1/tournaments/city/view", "", nil, &v); code != http.StatusOK {
			t.Fatalf("view: %d", code)
		}
		return v
	}
	matchReady := func(c *client, round int) string {
		t.Helper()
		var d struct {
			Round int
			Room  string
			PIN   string
		}
		c.expectFn(fmt.Sprintf("tournament.match of round %d", round), func(m msg) bool {
			if m.Type != "tournament.match" {
				return false
			}
			_ = json.Unmarshal(m.Data, &d)
			return d.Round == round
		})
		return d.Room
	}
	// decided checks a round's match of the given seeds.
	decided := func(round int, a, b int, win int, by string) {
		t.Helper()
		pair := []string{bySeed(a).id}
		if b > 0 {
			pair = append(pair, bySeed(b).id)
		}
		slices.Sort(pair)
		for _, rd := range view().Rounds {
			if rd.Num != round {
				continue
			}
			for _, m := range rd.Matches {
				var got []string
				for _, p := range m.Seats {
					if p != "" {
						got = append(got, p)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, pair) {
					continue
				}
				if m.State != "decided" || len(m.Advance) != 1 || m.Advance[0] != bySeed(win).id || m.By != by {
					t.Fatalf("round %d, seeds %d v %d: %s advance %v by %q, want seed %d by %s", round, a, b, m.State, m.Advance, m.By, win, by)
				}
				return
			}
		}
		t.Fatalf("round %d: no match of seeds %d and %d", round, a, b)
	}

	// Round 1: seeds 1 and 2 have byes; 4 v 5 with 5 absent; 3 v 6 tied
	// on score, 6 faster.
	clk.Set(rounds[0].Add(-5 * time.Minute))
	checkIn(1, 1, 2, 3, 4, 6)
	var nv nextView
	bySeed(4).reply(bySeed(4).send("tournament.next", map[string]any{"tournament": "city"})).decode(t, &nv)
	if nv.State != "waiting" || nv.Round != 1 || nv.SecondsTo != 300 || nv.Seed != 4 {
		t.Fatalf("seed 4's next match before round 1: %+v", nv)
	}
	// Seed 3 is away when the round fires: on their next visit they are
	// taken to their room, and "my next match" names it.
	away := bySeed(3)
	away.ws.Close()
	clk.Set(rounds[0])
	room := matchReady(bySeed(6), 1)
	back := h.dial()
	back.welcomed(back.send("hello", map[string]any{"resume": away.resume}))
	cs[seeds[2]] = back
	// (playRoom below waits for the room's state on the returned socket.)
	waitFor(t, "seed 3's next match names the room", func() bool { // recorded once the round's rooms are open
		back.reply(back.send("tournament.next", map[string]any{"tournament": "city"})).decode(t, &nv)
		return nv.Room != ""
	})
	if nv.State != "playing" || nv.Room != room || nv.Round != 1 {
		t.Fatalf("seed 3's next match on return: %+v", nv)
	}
	h.playRoom(room, []*client{bySeed(6), bySeed(3)}, [][]step{
		{{true, 0}, {true, 2 * time.Second}}, // seed 3 answers 2 s later
		{{false, 0}, {false, 0}},
	}, true)
	h.advance(time.Minute) // the grace ends: seed 5 forfeits
	waitFor(t, "round 1 finished", func() bool { return view().Rounds[0].State == "finished" })
	decided(1, 1, 0, 1, "bye")
	decided(1, 2, 0, 2, "bye")
	decided(1, 4, 5, 4, "walkover")
	decided(1, 3, 6, 6, "time")

	// Round 2: 1 v 4 (1 wins on score) and 2 v 6 (equal on score and
	// time: a sudden death, which 6 wins). The server restarts after
	// the first question.
	clk.Set(rounds[1].Add(-5 * time.Minute))
	checkIn(2, 1, 4, 2, 6)
	clk.Set(rounds[1])
	roomA, roomB := matchReady(bySeed(1), 2), matchReady(bySeed(2), 2)
	if matchReady(bySeed(4), 2) != roomA || matchReady(bySeed(6), 2) != roomB {
		t.Fatal("round 2 rooms told wrongly")
	}
	h.advance(3 * time.Second)
	for _, p := range []struct {
		room string
		cs   []*client
		ok   []bool
	}{{roomA, []*client{bySeed(1), bySeed(4)}, []bool{true, false}}, {roomB, []*client{bySeed(2), bySeed(6)}, []bool{true, true}}} {
		for k, c := range p.cs {
			h.answerIn(c, questionIn(c, p.room, 0), p.ok[k])
		}
		for _, c := range p.cs {
			revealIn(c, p.room, 0)
		}
	}
	h.stop()
	// As if the server had stopped between opening 1 v 4's room and
	// recording it: the restarted scheduler asks for the room again, gets
	// the restored one, opens nothing and tells nobody twice.
	{
		st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "leitai.db"))
		if err != nil {
			t.Fatal(err)
		}
		ms, err := st.Matches(context.Background(), "city", 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Room == roomA {
				m.Room = ""
				if ok, err := st.UpdateMatch(context.Background(), m, m.State); !ok || err != nil {
					t.Fatalf("forget the room: %v %v", ok, err)
				}
			}
		}
		st.Close()
	}
	h = startHarness(t, dir, clk, nil)
	waitFor(t, "the room asked for again and recorded", func() bool {
		for _, rd := range view().Rounds {
			for _, m := range rd.Matches {
				if rd.Num == 2 && m.Slot == 0 && m.Room == roomA {
					return true
				}
			}
		}
		return false
	})
	for _, s := range []int{1, 2, 4, 6} {
		old := bySeed(s)
		c := h.dial()
		c.welcomed(c.send("hello", map[string]any{"resume": old.resume}))
		c.expect("room.state")
		cs[seeds[s-1]] = c
	}
	h.advance(3 * time.Second)
	for _, p := range []struct {
		room string
		cs   []*client
	}{{roomA, []*client{bySeed(1), bySeed(4)}}, {roomB, []*client{bySeed(2), bySeed(6)}}} {
		for _, c := range p.cs {
			h.answerIn(c, questionIn(c, p.room, 1), true)
		}
		for _, c := range p.cs {
			revealIn(c, p.room, 1)
		}
	}
	h.advance(3 * time.Second)
	for _, m := range bySeed(1).all() {
		if m.Type == "tournament.match" {
			t.Fatalf("told of a match again after the restart: %s", m.raw)
		}
	}
	if n := len(h.srv.Rooms().All()); n != 2 {
		t.Fatalf("%d rooms after the restart, want the 2 of round 2", n)
	}
	sudden := matchReady(bySeed(2), 2)
	if sudden == roomB || matchReady(bySeed(6), 2) != sudden {
		t.Fatalf("sudden death room %s", sudden)
	}
	h.playRoom(sudden, []*client{bySeed(2), bySeed(6)}, [][]step{{{false, 0}, {true, 0}}}, true)
	waitFor(t, "round 2 finished", func() bool { return view().Rounds[1].State == "finished" })
	decided(2, 1, 4, 1, "score")
	decided(2, 2, 6, 6, "sudden_death")

	// The final, 1 v 6, as a stage event: the finalists are told its
	// room and PIN, the organizer takes its host link, the host starts it.
	clk.Set(rounds[2].Add(-5 * time.Minute))
	checkIn(3, 1, 6)
	// Seed 6 goes away long enough for their session to end: the final is
	// opened with them seated absent, and their next visit takes them in.
	gone := bySeed(6)
	sessions := h.srv.Sessions()
	gone.ws.Close()
	waitFor(t, "seed 6 disconnected", func() bool { return !h.srv.Connected(gone.id) })
	clk.Set(rounds[2].Add(-2 * time.Minute))
	waitFor(t, "seed 6's session ended", func() bool { return h.srv.Sessions() == sessions-1 })
	clk.Set(rounds[2])
	final := matchReady(bySeed(1), 3)
	back6 := h.dial()
	if w := back6.welcomed(back6.send("hello", map[string]any{"resume": gone.resume})); w.Player.ID != gone.id {
		t.Fatalf("seed 6 came back as %s", w.Player.ID)
	}
	cs[seeds[5]] = back6
	back6.expectFn("the final's state on return", func(m msg) bool {
		var d struct{ Room, Phase string }
		_ = json.Unmarshal(m.Data, &d)
		return m.Type == "room.state" && d.Room == final && d.Phase == "lobby"
	})
	var v viewReply
	waitFor(t, "the final's room recorded", func() bool { v = view(); return v.Final != nil })
	if v.Final == nil || v.Final.Room != final || v.Final.PIN == "" {
		t.Fatalf("final: %+v", v.Final)
	}
	var link struct{ Token string }
	if code := h.api("POST", "/api/v1/events/"+v.Final.Event+"/links", org, map[string]any{"role": "host"}, &link); code != http.StatusCreated {
		t.Fatalf("host link of the final: %d", code)
	}
	host := h.dial()
	if m := host.reply(host.send("hello", map[string]any{"token": link.Token})); m.Type != "welcome" {
		t.Fatalf("host hello: %s", m.raw)
	}
	if m := host.reply(host.send("host.control", map[string]any{"room": final, "action": "start"})); m.Type == "error" {
		t.Fatalf("start the final: %s", m.raw)
	}
	h.playRoom(final, []*client{bySeed(1), bySeed(6)}, [][]step{{{true, 0}, {false, 0}}, {{true, 0}, {true, 0}}}, true)
	waitFor(t, "the final decided", func() bool { return len(view().Standings) == 6 })
	decided(3, 1, 6, 1, "score")
	want := []struct{ seed, place, round int }{{1, 1, 0}, {6, 2, 0}, {2, 3, 2}, {4, 3, 2}, {3, 5, 1}, {5, 5, 1}}
	got := view().Standings
	sort.SliceStable(got, func(i, j int) bool { return got[i].Place < got[j].Place })
	for i, w := range want {
		if got[i].Player != bySeed(w.seed).id || got[i].Place != w.place || got[i].Round != w.round {
			t.Errorf("standing %d: %+v, want seed %d place %d round %d", i, got[i], w.seed, w.place, w.round)
		}
	}
	bySeed(1).reply(bySeed(1).send("tournament.next", map[string]any{"tournament": "city"})).decode(t, &nv)
	if nv.State != "champion" {
		t.Errorf("the champion's next: %+v", nv)
	}
}
