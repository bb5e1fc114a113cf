package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A team tournament of 8 units over real WebSockets: each unit's team of
// two is picked through the API (one by the unit's own admin), the
// members' qualifier attempts seed the units, and the teams play their
// rooms as teams (sum of their members' scores), to a final on stage.
// Every advance and the standings are checked against the test's own
// reading: the better seed's team answers right, the other wrong.
func TestTeamTournamentOfEightUnits(t *testing.T) {
	h := newHarness(t, nil)
	clk := h
	org := h.orgToken()
	var tree, roster strings.Builder
	tree.WriteString("code,name,parent,expected\ncity,City,,0\n")
	roster.WriteString("name,number,unit\n")
	for u := 1; u <= 8; u++ {
		fmt.Fprintf(&tree, "u%d,Unit %d,city,2\n", u, u)
		for k := range 2 {
			fmt.Fprintf(&roster, "M%d%d,%d%d,u%d\n", u, k, u, k, u)
		}
	}
	if code := h.api("POST", "/api/v1/orgs/import?format=csv", org, []byte(tree.String()), nil); code != 201 {
		t.Fatalf("tree import: %d", code)
	}
	var ro rosterReply
	if code := h.api("POST", "/api/v1/members/import?format=csv", org, []byte(roster.String()), &ro); code != 201 || len(ro.Members) != 16 {
		t.Fatalf("roster import: %d", code)
	}
	members := map[string][]string{} // unit -> member ids
	clients := map[string][]*client{}
	for _, m := range ro.Members {
		var reg struct{ ID, Token string }
		if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"invite": m.Invite}, &reg); code != 201 {
			t.Fatalf("register: %d", code)
		}
		members[m.Unit] = append(members[m.Unit], m.ID)
		c := h.dial()
		c.welcomed(c.send("hello", map[string]any{"token": reg.Token}))
		clients[m.Unit] = append(clients[m.Unit], c)
	}
	closes := t0.Add(time.Hour)
	rounds := []time.Time{closes.Add(10 * time.Minute), closes.Add(20 * time.Minute), closes.Add(30 * time.Minute)}
	var rs []string
	for _, r := range rounds {
		rs = append(rs, r.Format(time.RFC3339))
	}
	body := map[string]any{"id": "units", "title": "单位团体赛", "config": map[string]any{
		"format": "duel", "field": 8, "teams": map[string]any{"min": 2, "max": 2, "mode": "sum"},
		"pool":      map[string]any{"sets": []string{"sample"}},
		"qualifier": map[string]any{"opens": t0.Format(time.RFC3339), "closes": closes.Format(time.RFC3339), "questions": 1, "minutes": 1, "attempts": 1, "units": []string{"city"}},
		"rounds":    rs, "check_in_seconds": 600, "grace_seconds": 60, "match_questions": 1, "match_seconds": 10,
	}}
	if code := h.api("POST", "/api/v1/tournaments", org, body, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	// Teams: u1's admin picks its own; it may not pick another unit's,
	// nor a team of one. The organizer picks the others.
	var at struct{ Token string }
	if code := h.api("POST", "/api/v1/orgs/u1/admin-token", org, nil, &at); code != 201 {
		t.Fatalf("admin token: %d", code)
	}
	if code := h.api("PUT", "/api/v1/tournaments/units/teams/u2", at.Token, map[string]any{"members": members["u2"]}, nil); code != http.StatusNotFound {
		t.Fatalf("u1's admin picks u2's team: %d, want 404", code)
	}
	if code := h.api("PUT", "/api/v1/tournaments/units/teams/u1", at.Token, map[string]any{"members": members["u2"]}, nil); code != http.StatusBadRequest {
		t.Fatalf("u1's admin picks u2's members: %d, want 400", code)
	}
	if code := h.api("PUT", "/api/v1/tournaments/units/teams/u1", at.Token, map[string]any{"members": members["u1"][:1]}, nil); code != http.StatusBadRequest {
		t.Fatalf("a team of one: %d, want 400", code)
	}
	for u := 1; u <= 8; u++ {
		unit, tok := fmt.Sprintf("u%d", u), org
		if u == 1 {
			tok = at.Token
		}
		if code := h.api("PUT", "/api/v1/tournaments/units/teams/"+unit, tok, map[string]any{"members": members[unit]}, nil); code != http.StatusOK {
			t.Fatalf("team of %s: %d", unit, code)
		}
	}
	// The qualifier is open to the city's units only: a guest is refused.
	guest := h.dial()
	guest.hello("路人")
	guest.expectError(guest.send("tournament.attempt", map[string]any{"tournament": "units"}), "forbidden")
	// The qualifier: unit k's members score so the units rank u1..u8:
	// u1-u3 both right (faster first), u4-u6 one right, u7 and u8 none
	// (equal: the unit code decides).
	for u := 1; u <= 8; u++ {
		unit := fmt.Sprintf("u%d", u)
		for k, c := range clients[unit] {
			m := c.reply(c.send("tournament.attempt", map[string]any{"tournament": "units"}))
			if m.Type != "tournament.attempt_started" {
				t.Fatalf("attempt: %s", m.raw)
			}
			var d struct{ Room string }
			m.decode(t, &d)
			right := u <= 3 || (u <= 6 && k == 0)
			delay := time.Duration((u-1)%3) * time.Second
			h.playRoom(d.Room, []*client{c}, [][]step{{{right, delay}}}, true)
		}
	}
	var v viewReply
	waitFor(t, "every attempt recorded", func() bool {
		var r struct{ Rows []struct{ ID string } }
		h.api("GET", "/api/v1/tournaments/units/ranking?by=unit", "", nil, &r)
		return len(r.Rows) == 8
	})
	seed := func(s int) string { return fmt.Sprintf("u%d", s) }
	round := func(n int, pairs [][2]int) {
		t.Helper()
		clk.clk.Set(rounds[n-1].Add(-5 * time.Minute))
		for _, p := range pairs {
			for _, s := range p {
				c := clients[seed(s)][1] // one member checks the team in
				if m := c.reply(c.send("tournament.checkin", map[string]any{"tournament": "units", "round": n})); m.Type != "tournament.checked_in" {
					t.Fatalf("check-in of %s: %s", seed(s), m.raw)
				}
			}
		}
		clk.clk.Set(rounds[n-1])
		// The round's rooms run together on the one clock: they are
		// played side by side, one question each.
		rooms := make([]string, len(pairs))
		css := make([][]*client, len(pairs))
		for i, p := range pairs {
			cs := append(append([]*client{}, clients[seed(p[0])]...), clients[seed(p[1])]...)
			for _, c := range cs {
				var d struct{ Room string }
				c.expect("tournament.match").decode(t, &d)
				if rooms[i] != "" && d.Room != rooms[i] {
					t.Fatalf("one match, two rooms: %s, %s", rooms[i], d.Room)
				}
				rooms[i] = d.Room
			}
			css[i] = cs
			if n == 3 {
				waitFor(t, "the final recorded", func() bool {
					h.api("GET", "/api/v1/tournaments/units/view", "", nil, &v)
					return v.Final != nil
				})
				var link struct{ Token string }
				h.api("POST", "/api/v1/events/"+v.Final.Event+"/links", org, map[string]any{"role": "host"}, &link)
				host := h.dial()
				host.welcomed(host.send("hello", map[string]any{"token": link.Token}))
				if m := host.reply(host.send("host.control", map[string]any{"room": rooms[i], "action": "start"})); m.Type == "error" {
					t.Fatalf("start the final: %s", m.raw)
				}
			}
		}
		for i, cs := range css {
			for _, c := range cs {
				countdownIn(c, rooms[i])
			}
		}
		h.advance(3 * time.Second)
		for i, cs := range css {
			for k, c := range cs {
				h.answerIn(c, questionIn(c, rooms[i], 0), k < 2) // the better seed's team is right
			}
		}
		for i, cs := range css {
			for _, c := range cs {
				revealIn(c, rooms[i], 0)
			}
		}
		h.advance(3 * time.Second)
		for i, cs := range css {
			for _, c := range cs {
				finishedIn(c, rooms[i])
			}
		}
		waitFor(t, fmt.Sprintf("round %d finished", n), func() bool {
			h.api("GET", "/api/v1/tournaments/units/view", "", nil, &v)
			return v.Rounds[n-1].State == "finished"
		})
		for _, p := range pairs {
			found := false
			for _, m := range v.Rounds[n-1].Matches {
				if m.Seats[0] == seed(p[0]) && m.Seats[1] == seed(p[1]) {
					found = true
					if m.State != "decided" || len(m.Advance) != 1 || m.Advance[0] != seed(p[0]) || m.By != "score" {
						t.Fatalf("round %d, %v: %+v", n, p, m)
					}
				}
			}
			if !found {
				t.Fatalf("round %d: no match %v in %+v", n, p, v.Rounds[n-1].Matches)
			}
		}
	}
	round(1, [][2]int{{1, 8}, {4, 5}, {2, 7}, {3, 6}})
	for i, e := range v.Entrants {
		if e.Player != seed(i+1) {
			t.Fatalf("seed %d: %s, want %s", i+1, e.Player, seed(i+1))
		}
	}
	round(2, [][2]int{{1, 4}, {2, 3}})
	round(3, [][2]int{{1, 2}})
	waitFor(t, "standings", func() bool {
		h.api("GET", "/api/v1/tournaments/units/view", "", nil, &v)
		return len(v.Standings) == 8
	})
	want := []int{1, 2, 3, 3, 5, 5, 5, 5}
	order := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}
	for i, sd := range v.Standings {
		if sd.Place != want[i] || sd.Player != order[i] {
			t.Errorf("standing %d: %+v, want %s at %d", i, sd, order[i], want[i])
		}
	}
}
