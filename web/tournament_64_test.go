package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// The 64-member tournament of tournament.TestTournamentSQLite, played
// through real rooms over real WebSockets on a fake clock: 64 members
// through a qualifier of one or two attempts (one resumed after a drop),
// the top 60 into a duel bracket of 64 seats (four byes), a no-show in
// round 1, a tie broken by time and one by a sudden death, the server
// restarted in the middle of round 2 and back after round 3 was due (which
// fires late, its delay recorded), to a final on stage. Every advance and
// the final standings are checked against the test's own bracket.
func TestTournament64ThroughRooms(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h := startHarness(t, dir, clk, nil)
	org := h.orgToken()
	closes := t0.Add(6 * time.Hour)
	r1 := closes.Add(10 * time.Minute)
	r2 := r1.Add(30 * time.Minute)
	r3 := r2.Add(5 * time.Minute) // its check-in opens before round 2 starts
	rounds := []time.Time{r1, r2, r3, r3.Add(30 * time.Minute), r3.Add(60 * time.Minute), r3.Add(90 * time.Minute)}
	var rs []string
	for _, r := range rounds {
		rs = append(rs, r.Format(time.RFC3339))
	}
	body := map[string]any{"id": "city", "title": "城市答题挑战赛", "config": map[string]any{
		"format": "duel", "field": 60,
		"pool":      map[string]any{"sets": []string{"sample"}},
		"qualifier": map[string]any{"opens": t0.Format(time.RFC3339), "closes": closes.Format(time.RFC3339), "questions": 1, "minutes": 1, "attempts": 2},
		"rounds":    rs, "check_in_seconds": 600, "grace_seconds": 120, "match_questions": 1, "match_seconds": 10,
	}}
	if code := h.api("POST", "/api/v1/tournaments", org, body, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	cs := map[string]*client{}
	var members []string
	for i := range 64 {
		c := h.dial()
		c.hello(fmt.Sprintf("m%02d", i))
		cs[c.id] = c
		members = append(members, c.id)
	}

	// The qualifier: member i makes 1 + i%2 attempts, right or wrong and
	// fast or slow by a script; the test keeps each attempt's score, time
	// and finish order. Member 10 drops in the middle of their first
	// attempt and resumes it.
	type attempt struct {
		score int64
		total time.Duration
		seq   int
	}
	scripted := map[string][]attempt{}
	seq := 0
	for i, p := range members {
		for j := range 1 + i%2 {
			c := cs[p]
			m := c.reply(c.send("tournament.attempt", map[string]any{"tournament": "city"}))
			if m.Type != "tournament.attempt_started" {
				t.Fatalf("attempt %d of %s: %s", j+1, p, m.raw)
			}
			var d struct{ Room string }
			m.decode(t, &d)
			right := (i*7+j*3)%3 != 0
			delay := time.Duration((i*5+j*2)%4) * time.Second
			if i == 10 && j == 0 {
				countdownIn(c, d.Room)
				c.ws.Close()
				c = h.dial()
				c.welcomed(c.send("hello", map[string]any{"resume": cs[p].resume}))
				cs[p] = c
			}
			h.playRoom(d.Room, []*client{c}, [][]step{{{right, delay}}}, true)
			a := attempt{seq: seq}
			if right {
				a.score, a.total = 1, delay
			}
			seq++
			scripted[p] = append(scripted[p], a)
		}
	}
	cs[members[1]].expectError(cs[members[1]].send("tournament.attempt", map[string]any{"tournament": "city"}), "wrong_phase")
	better := func(a, b attempt) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		if a.total != b.total {
			return a.total < b.total
		}
		return a.seq < b.seq
	}
	best := func(p string) attempt {
		b := scripted[p][0]
		for _, a := range scripted[p][1:] {
			if better(a, b) {
				b = a
			}
		}
		return b
	}
	order := slices.Clone(members)
	sort.Slice(order, func(i, j int) bool { return better(best(order[i]), best(order[j])) })
	bySeed := append([]string{""}, order[:60]...)
	seedOf := map[string]int{}
	for s := 1; s <= 60; s++ {
		seedOf[bySeed[s]] = s
	}
	var ranking struct{ Rows []struct{ ID string } }
	waitFor(t, "every attempt ranked", func() bool {
		h.api("GET", "/api/v1/tournaments/city/ranking?limit=100", "", nil, &ranking)
		return len(ranking.Rows) == 64
	})
	for i, r := range ranking.Rows {
		if r.ID != order[i] {
			t.Fatalf("qualifier rank %d: %s, want %s", i+1, r.ID, order[i])
		}
	}

	// The test's own bracket: slot s of a round of m slots meets slot
	// m+1-s and the winner holds the lower slot; byes are empty slots.
	holder := make([]string, 65)
	copy(holder, bySeed)
	noShow := bySeed[5]
	timeWinner, timeLoser := bySeed[59], bySeed[6]
	suddenWinner, suddenLoser := bySeed[58], bySeed[7]
	eliminated := map[string]int{}
	slots := 64
	alive := func() []string {
		var out []string
		for _, p := range holder[1 : slots+1] {
			if p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	view := func() viewReply {
		var v viewReply
		if code := h.api("GET", "/api/v1/tournaments/city/view", "", nil, &v); code != http.StatusOK {
			t.Fatalf("view: %d", code)
		}
		return v
	}
	checkIn := func(round int, who []string) {
		t.Helper()
		for _, p := range who {
			if round == 1 && p == noShow {
				continue
			}
			c := cs[p]
			if m := c.reply(c.send("tournament.checkin", map[string]any{"tournament": "city", "round": round})); m.Type != "tournament.checked_in" {
				t.Fatalf("check-in of %s for round %d: %s", p, round, m.raw)
			}
		}
	}
	// ready collects the rooms of a round's pairs that play, by pair.
	type match struct {
		room string
		a, b string // a the better seed
	}
	ready := func(round int, sudden bool) []match {
		t.Helper()
		var out []match
		for i := 1; i <= slots/2; i++ {
			a, b := holder[i], holder[slots+1-i]
			if a == "" || b == "" || (round == 1 && (a == noShow || b == noShow)) {
				continue
			}
			pair := []string{a, b}
			if sudden && !(slices.Contains(pair, suddenWinner) && slices.Contains(pair, suddenLoser)) {
				continue
			}
			if seedOf[b] < seedOf[a] {
				a, b = b, a
			}
			var rooms []string
			for _, p := range []string{a, b} {
				var d struct {
					Round  int
					Room   string
					Sudden bool `json:"sudden_death"`
				}
				cs[p].expectFn(fmt.Sprintf("tournament.match of round %d", round), func(m msg) bool {
					_ = json.Unmarshal(m.Data, &d)
					return m.Type == "tournament.match" && d.Round == round && d.Sudden == sudden
				})
				rooms = append(rooms, d.Room)
			}
			if rooms[0] != rooms[1] {
				t.Fatalf("round %d: %s and %s told rooms %v", round, a, b, rooms)
			}
			out = append(out, match{room: rooms[0], a: a, b: b})
		}
		return out
	}
	// play plays a round's rooms side by side, one question each: the
	// better seed right and the other wrong, but the time tie both right
	// with its loser a second later, the sudden-death pair both right at
	// once, and in the sudden death the scripted winner alone right.
	play := func(ms []match, sudden, countdown bool) {
		t.Helper()
		for _, m := range ms {
			countdownIn(cs[m.a], m.room)
			countdownIn(cs[m.b], m.room)
		}
		if countdown {
			h.advance(3 * time.Second)
		}
		var late *question // the time tie's loser's question
		for k := range ms {
			m := ms[k]
			qa, qb := questionIn(cs[m.a], m.room, 0), questionIn(cs[m.b], m.room, 0)
			pair := []string{m.a, m.b}
			switch {
			case sudden:
				h.answerIn(cs[m.a], qa, m.a == suddenWinner)
				h.answerIn(cs[m.b], qb, m.b == suddenWinner)
			case slices.Contains(pair, timeWinner) && slices.Contains(pair, timeLoser):
				win, lose := qb, qa
				if m.a == timeWinner {
					win, lose = qa, qb
				}
				h.answerIn(cs[timeWinner], win, true)
				late = &lose
			case slices.Contains(pair, suddenWinner) && slices.Contains(pair, suddenLoser):
				h.answerIn(cs[m.a], qa, true)
				h.answerIn(cs[m.b], qb, true)
			default:
				h.answerIn(cs[m.a], qa, true)
				h.answerIn(cs[m.b], qb, false)
			}
		}
		if late != nil {
			h.advance(time.Second)
			h.answerIn(cs[timeLoser], *late, true)
		}
		for _, m := range ms {
			revealIn(cs[m.a], m.room, 0)
			revealIn(cs[m.b], m.room, 0)
		}
		h.advance(3 * time.Second)
		for _, m := range ms {
			finishedIn(cs[m.a], m.room)
			finishedIn(cs[m.b], m.room)
		}
	}
	// verify checks a finished round against the test's bracket and moves
	// the holders on.
	verify := func(round int) {
		t.Helper()
		var v viewReply
		waitFor(t, fmt.Sprintf("round %d finished", round), func() bool {
			v = view()
			return v.Rounds[round-1].State == "finished"
		})
		next := make([]string, slots/2+1)
		for i := 1; i <= slots/2; i++ {
			a, b := holder[i], holder[slots+1-i]
			pair := []string{a, b}
			var win, by string
			switch {
			case b == "":
				win, by = a, "bye"
			case round == 1 && (a == noShow || b == noShow):
				win, by = a, "walkover"
				if a == noShow {
					win = b
				}
			case slices.Contains(pair, timeWinner) && slices.Contains(pair, timeLoser):
				win, by = timeWinner, "time"
			case slices.Contains(pair, suddenWinner) && slices.Contains(pair, suddenLoser):
				win, by = suddenWinner, "sudden_death"
			default:
				win, by = a, "score"
				if seedOf[b] < seedOf[a] {
					win = b
				}
			}
			found := false
			for _, m := range v.Rounds[round-1].Matches {
				var got []string
				for _, p := range m.Seats {
					if p != "" {
						got = append(got, p)
					}
				}
				want := []string{a}
				if b != "" {
					want = append(want, b)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					continue
				}
				found = true
				if m.State != "decided" || !slices.Equal(m.Advance, []string{win}) || m.By != by {
					t.Fatalf("round %d, %v: %s advance %v by %s, want %s by %s", round, pair, m.State, m.Advance, m.By, win, by)
				}
			}
			if !found {
				t.Fatalf("round %d: no match of %v", round, pair)
			}
			for _, p := range pair {
				if p != "" && p != win {
					eliminated[p] = round
				}
			}
			next[i] = win
		}
		holder, slots = next, slots/2
	}

	for round := 1; round <= 6; round++ {
		at := rounds[round-1]
		switch round {
		case 2:
			// Round 2 and round 3 are checked in together; the server goes
			// down once round 2's rooms are open, and is back a minute after
			// round 3 was due. Round 2's rooms are restored and played;
			// round 3 fires as soon as round 2 finishes, late.
			clk.Set(at.Add(-5 * time.Minute))
			checkIn(2, alive())
			checkIn(3, alive())
			clk.Set(at)
			ms := ready(2, false)
			h.stop()
			clk.Set(rounds[2].Add(time.Minute))
			h = startHarness(t, dir, clk, nil)
			for _, p := range alive() {
				c := h.dial()
				c.welcomed(c.send("hello", map[string]any{"resume": cs[p].resume}))
				cs[p] = c
			}
			play(ms, false, true)
			verify(2)
			continue
		case 3:
			// Fired already, late: its rooms are open or opening.
		case 6:
			clk.Set(at.Add(-5 * time.Minute))
			checkIn(6, alive())
			clk.Set(at)
			ms := ready(6, false)
			var v viewReply
			waitFor(t, "the final's event", func() bool { v = view(); return v.Final != nil })
			var link struct{ Token string }
			h.api("POST", "/api/v1/events/"+v.Final.Event+"/links", org, map[string]any{"role": "host"}, &link)
			host := h.dial()
			host.welcomed(host.send("hello", map[string]any{"token": link.Token}))
			if m := host.reply(host.send("host.control", map[string]any{"room": ms[0].room, "action": "start"})); m.Type == "error" {
				t.Fatalf("start the final: %s", m.raw)
			}
			play(ms, false, true)
			verify(6)
			continue
		default:
			clk.Set(at.Add(-5 * time.Minute))
			checkIn(round, alive())
			clk.Set(at)
		}
		ms := ready(round, false)
		play(ms, false, true)
		if round == 1 {
			play(ready(1, true), true, true) // the sudden death
			h.advance(2 * time.Minute)       // the grace ends: the no-show forfeits
		}
		verify(round)
		if round == 3 {
			var v struct {
				Rounds []struct {
					DelayMS int64 `json:"delay_ms"`
				}
			}
			h.api("GET", "/api/v1/tournaments/city/bracket", org, nil, &v)
			if d := time.Duration(v.Rounds[2].DelayMS) * time.Millisecond; d < time.Minute || d > 2*time.Minute {
				t.Fatalf("round 3 fired %v late, want a minute and some seconds", d)
			}
		}
	}

	// Standings: the champion, the runner-up, then each round's losers
	// sharing the place after everyone who went further.
	v := view()
	if len(v.Standings) != 60 {
		t.Fatalf("%d standings, want 60", len(v.Standings))
	}
	champion := holder[1]
	for _, sd := range v.Standings {
		r, place := eliminated[sd.Player], 1
		switch {
		case sd.Player == champion:
		case r == 6:
			place, r = 2, 0
		default:
			place = 3
			for _, er := range eliminated {
				if er > r && er < 6 {
					place++
				}
			}
		}
		if sd.Place != place || sd.Round != r {
			t.Errorf("standing of %s (seed %d): place %d round %d, want place %d round %d", sd.Player, seedOf[sd.Player], sd.Place, sd.Round, place, r)
		}
	}
	if v.Standings[0].Player != champion {
		t.Errorf("champion %s, want %s", v.Standings[0].Player, champion)
	}
}
