package nodetest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/nodetest"
	"github.com/leitai/leitai/questionbank"
)

// play answers the questions of room as they come, right where right[i],
// until the room is finished.
func play(t *testing.T, bank map[string]questionbank.Question, c *nodetest.Client, room string, right []bool) {
	t.Helper()
	for i, r := range right {
		var q question
		c.ExpectFn(fmt.Sprintf("question %d of %s", i, room), func(m nodetest.Msg) bool {
			if m.Type != "question" {
				return false
			}
			_ = json.Unmarshal(m.Data, &q)
			return q.Room == room && q.Index == i
		}).Decode(t, &q)
		a := wrongAnswer(t, bank, room, q.Question.ID, i)
		if r {
			a = rightAnswer(t, bank, room, q.Question.ID, i)
		}
		if m := c.Reply(c.Send("answer", a)); m.Type == "error" {
			t.Fatalf("%s answers %d of %s: %s", c.Name, i, room, m.Raw)
		}
	}
	c.ExpectFn("room.finished of "+room, func(m nodetest.Msg) bool {
		var d struct{ Room string }
		_ = json.Unmarshal(m.Data, &d)
		return m.Type == "room.finished" && d.Room == room
	})
}

type tourView struct {
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
		}
	}
}

// TestTournamentAcrossNodes: two nodes on one Redis and PostgreSQL, four
// members, two connected to each. The scheduler runs on one node under
// the lease and fires the knockout round exactly once; both duels seat a
// player of each node, who are both pushed tournament.match (the one on
// the other node over the Bus), play the duel through to its end, and the
// winners advance. A player who drops and comes back on the other node
// finds their match room.
func TestTournamentAcrossNodes(t *testing.T) {
	bank := answers(t)
	c := nodetest.Start(t, 2)
	now := time.Now().UTC()
	closes := now.Add(75 * time.Second) // a 1-minute paper must fit before it closes
	round1 := closes.Add(8 * time.Second)
	body := map[string]any{"id": "twonode", "title": "两节点", "config": map[string]any{
		"format": "duel", "field": 4,
		"pool":             map[string]any{"sets": []string{"sample"}},
		"qualifier":        map[string]any{"opens": now.Add(-time.Minute).Format(time.RFC3339), "closes": closes.Format(time.RFC3339), "questions": 3, "minutes": 1, "attempts": 1},
		"rounds":           []string{round1.Format(time.RFC3339), round1.Add(time.Hour).Format(time.RFC3339)},
		"check_in_seconds": 600, "grace_seconds": 60, "match_questions": 2, "match_seconds": 20,
	}}
	if code := c.Nodes[0].API("POST", "/api/v1/tournaments", nodetest.AdminToken, body, nil); code != http.StatusCreated {
		t.Fatalf("create the tournament: %d", code)
	}

	// p0, p1 on node1; p2, p3 on node2. The qualifier ranks them p0..p3
	// (3, 2, 1 and 0 right), so the duels are p0–p3 and p1–p2: each has a
	// player on each node.
	cs := make([]*nodetest.Client, 4)
	for i := range cs {
		cs[i] = c.Nodes[i/2].Dial()
		cs[i].Hello(map[string]any{"name": fmt.Sprintf("选手%d", i)})
	}
	done := make(chan error, len(cs))
	for i, cl := range cs {
		m := cl.Reply(cl.Send("tournament.attempt", map[string]any{"tournament": "twonode"}))
		if m.Type != "tournament.attempt_started" {
			t.Fatalf("%s's attempt: %s", cl.Name, m.Raw)
		}
		var d struct{ Room string }
		m.Decode(t, &d)
		right := []bool{i < 3, i < 2, i < 1}
		go func() {
			defer func() { done <- nil }()
			play(t, bank, cl, d.Room, right)
		}()
	}
	for range cs {
		<-done
	}
	if t.Failed() {
		t.FailNow()
	}

	// Check-in opens once the qualifier has closed and the seeds are set.
	deadline := time.Now().Add(time.Until(closes) + 20*time.Second)
	for i := 0; i < len(cs); {
		cl := cs[i]
		m := cl.Reply(cl.Send("tournament.checkin", map[string]any{"tournament": "twonode", "round": 1}))
		if m.Type == "tournament.checked_in" {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's check-in: %s", cl.Name, m.Raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var v tourView
	c.Nodes[1].API("GET", "/api/v1/tournaments/twonode/view", "", nil, &v)
	var seeds []string
	for _, e := range v.Entrants {
		seeds = append(seeds, e.Player)
	}
	if want := []string{cs[0].ID, cs[1].ID, cs[2].ID, cs[3].ID}; !slices.Equal(seeds, want) {
		t.Fatalf("seeds %v, want %v", seeds, want)
	}

	// The round fires: everyone is pushed their match, whichever node
	// opened it.
	rooms := make([]string, len(cs))
	for i, cl := range cs {
		var d struct {
			Round   int
			Room    string
			Players []string
		}
		cl.ExpectFn("tournament.match", func(m nodetest.Msg) bool { return m.Type == "tournament.match" }).Decode(t, &d)
		if d.Round != 1 || !slices.Contains(d.Players, cl.ID) || len(d.Players) != 2 {
			t.Fatalf("%s is pushed %+v", cl.Name, d)
		}
		rooms[i] = d.Room
	}
	if rooms[0] != rooms[3] || rooms[1] != rooms[2] || rooms[0] == rooms[1] {
		t.Fatalf("rooms %v: want p0 with p3 and p1 with p2", rooms)
	}

	// p3 drops and comes back on node1: the session directory lists the
	// room under it.
	cs[3].Drop()
	back := c.Nodes[0].Dial()
	back.Name = cs[3].Name
	if w := back.Hello(map[string]any{"resume": cs[3].Resume}); w.Player.ID != cs[3].ID {
		t.Fatalf("p3 resumed as %s, want %s", w.Player.ID, cs[3].ID)
	}
	back.ExpectFn("room.state of "+rooms[3], func(m nodetest.Msg) bool {
		var d struct{ Room string }
		_ = json.Unmarshal(m.Data, &d)
		return m.Type == "room.state" && d.Room == rooms[3]
	})
	cs[3] = back

	// Both duels are played through: the better seed answers right.
	for i, cl := range cs {
		right := []bool{i < 2, i < 2}
		go func() {
			defer func() { done <- nil }()
			play(t, bank, cl, rooms[i], right)
		}()
	}
	for range cs {
		<-done
	}
	if t.Failed() {
		t.FailNow()
	}

	// The winners advance: the better seed of each duel.
	deadline = time.Now().Add(nodetest.Wait)
	for {
		c.Nodes[0].API("GET", "/api/v1/tournaments/twonode/view", "", nil, &v)
		if len(v.Rounds) == 2 && v.Rounds[0].State == "finished" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("round 1 not settled: %+v", v.Rounds)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var advanced []string
	for _, m := range v.Rounds[0].Matches {
		if len(m.Advance) != 1 {
			t.Fatalf("match %d advances %v", m.Slot, m.Advance)
		}
		advanced = append(advanced, m.Advance[0])
	}
	slices.Sort(advanced)
	want := []string{cs[0].ID, cs[1].ID}
	slices.Sort(want)
	if !slices.Equal(advanced, want) {
		t.Fatalf("round 1 advances %v, want %v", advanced, want)
	}

	// One node fired the round, once.
	fired := 0
	for _, n := range c.Nodes {
		for _, line := range strings.Split(n.Output(), "\n") {
			if strings.Contains(line, "round fired") && strings.Contains(line, `"round":1`) {
				fired++
			}
		}
	}
	if fired != 1 {
		t.Fatalf("round 1 fired %d times across the nodes, want once", fired)
	}
}
