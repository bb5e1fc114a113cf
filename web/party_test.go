package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/leitai/leitai/web"
)

type partyState struct {
	Party   string
	Code    string
	Leader  string
	Members []struct{ ID string }
}

// expectReason waits for the reply to id and checks its error code and
// reason.
func expectReason(t *testing.T, c *client, id, code, reason string) {
	t.Helper()
	m := c.reply(id)
	var e struct{ Code, Reason, Message string }
	m.decode(t, &e)
	if m.Type != "error" || e.Code != code || e.Reason != reason {
		t.Fatalf("reply: %s, want error %s/%s", m.raw, code, reason)
	}
}

// formParty has cs[0] create a party and the others join it by its code;
// it returns the party's state as the last joiner sees it.
func formParty(t *testing.T, cs []*client) partyState {
	t.Helper()
	var st partyState
	m := cs[0].reply(cs[0].send("party.create", nil))
	m.decode(t, &st)
	if m.Type != "party.state" || len(st.Code) != 6 || st.Leader != cs[0].id || len(st.Members) != 1 {
		t.Fatalf("party.create: %s", m.raw)
	}
	for i, c := range cs[1:] {
		m := c.reply(c.send("party.join", map[string]any{"code": st.Code}))
		m.decode(t, &st)
		if m.Type != "party.state" || st.Leader != cs[0].id || len(st.Members) != i+2 || st.Members[i+1].ID != c.id {
			t.Fatalf("party.join: %s", m.raw)
		}
		// Everyone already in was pushed the new state.
		for _, o := range cs[:i+1] {
			var pushed partyState
			o.expectFn("pushed party.state", func(m msg) bool { return m.Type == "party.state" && m.Re == "" }).decode(t, &pushed)
			if len(pushed.Members) != i+2 {
				t.Fatalf("pushed party.state has %d members, want %d", len(pushed.Members), i+2)
			}
		}
	}
	return st
}

func dialPlayers(h *harness, prefix string, n int) []*client {
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = h.dial()
		cs[i].hello(prefix + itoa(i+1))
	}
	return cs
}

// queuedTicket is the ticket of the last match.queued c has received.
func queuedTicket(t *testing.T, c *client) string {
	t.Helper()
	var q struct{ Ticket string }
	for _, m := range c.all() {
		if m.Type == "match.queued" {
			m.decode(t, &q)
		}
	}
	return q.Ticket
}

// queueParty has the leader queue its party and checks every member hears
// match.queued.
func queueParty(t *testing.T, cs []*client) {
	t.Helper()
	if m := cs[0].reply(cs[0].send("match.find", map[string]any{"mode": "team"})); m.Type != "match.queued" {
		t.Fatalf("team find: %s", m.raw)
	}
	for _, c := range cs[1:] {
		c.expect("match.queued")
	}
}

func TestPartyTeamMatch(t *testing.T) {
	for _, size := range []int{2, 3} {
		t.Run("size"+itoa(size), func(t *testing.T) { playTeamMatch(t, size) })
	}
}

func playTeamMatch(t *testing.T, size int) {
	h := newHarness(t, nil)
	red, blue := dialPlayers(h, "红", size), dialPlayers(h, "蓝", size)
	formParty(t, red)
	formParty(t, blue)
	queueParty(t, red)
	queueParty(t, blue)
	h.srv.Matchmaker().Process(context.Background())

	all := append(append([]*client{}, red...), blue...)
	teamOf := map[string]string{}
	var roomID string
	for _, c := range all {
		var f struct {
			Room, Mode string
			Players    []struct{ ID, Team string }
		}
		c.expect("match.found").decode(t, &f)
		if f.Mode != "team" || len(f.Players) != 2*size || (roomID != "" && f.Room != roomID) {
			t.Fatalf("match.found = %+v", f)
		}
		roomID = f.Room
		for _, p := range f.Players {
			teamOf[p.ID] = p.Team
		}
	}
	redTeam, blueTeam := teamOf[red[0].id], teamOf[blue[0].id]
	if redTeam == "" || redTeam == blueTeam {
		t.Fatalf("teams red %q blue %q", redTeam, blueTeam)
	}
	for i, c := range all {
		if teamOf[c.id] != map[bool]string{true: redTeam, false: blueTeam}[i < size] {
			t.Fatalf("player %s in team %q", c.id, teamOf[c.id])
		}
		c.expect("room.state")
	}
	h.advance(3 * time.Second) // countdown

	// Red answers right every time, one after another; blue answers
	// wrong, except its first member on the first question.
	var firstFinished msg
	for qi := 0; ; qi++ {
		m := all[0].expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			firstFinished = m
			break
		}
		var q question
		m.decode(t, &q)
		for _, c := range all[1:] {
			c.expect("question")
		}
		for _, c := range red {
			h.advance(100 * time.Millisecond)
			c.reply(c.send("answer", h.correctAnswer(q)))
		}
		for i, c := range blue {
			h.advance(100 * time.Millisecond)
			if qi == 0 && i == 0 {
				c.reply(c.send("answer", h.correctAnswer(q)))
			} else {
				c.reply(c.send("answer", h.wrongAnswer(q)))
			}
		}
		for _, c := range all {
			c.expect("reveal")
		}
		h.advance(3 * time.Second) // reveal
		if qi > 12 {
			t.Fatal("the match never finished")
		}
	}
	var fin struct {
		Standings []struct {
			ID    string
			Team  string
			Score int64
		}
		Teams []struct {
			Rank    int
			Team    string
			Score   int64
			Members int
		}
		You struct {
			PointsAwarded int64 `json:"points_awarded"`
		}
	}
	got := map[string]int64{}
	for _, c := range all {
		var f = fin
		m := firstFinished
		if c != all[0] {
			m = c.expect("room.finished")
		}
		m.decode(t, &f)
		if c == all[0] {
			fin = f
		}
		want := map[bool]int64{true: 5, false: 2}[teamOf[c.id] == redTeam]
		if f.You.PointsAwarded != want {
			t.Fatalf("%s awarded %d points, want %d (its team's rank)", c.id, f.You.PointsAwarded, want)
		}
	}
	// The team scores are the sums of their members' scores.
	for _, st := range fin.Standings {
		got[teamOf[st.ID]] += st.Score
	}
	if len(fin.Teams) != 2 || fin.Teams[0].Team != redTeam || fin.Teams[0].Rank != 1 || fin.Teams[1].Rank != 2 {
		t.Fatalf("teams = %+v", fin.Teams)
	}
	for _, tm := range fin.Teams {
		if tm.Score != got[tm.Team] || tm.Members != size {
			t.Fatalf("team %s: score %d members %d, want %d and %d", tm.Team, tm.Score, tm.Members, got[tm.Team], size)
		}
	}
	if got[blueTeam] <= 0 || got[redTeam] <= got[blueTeam] {
		t.Fatalf("team scores %v: want red ahead and blue above 0", got)
	}
	// The result, ratings and points are stored; the points through the
	// ledger under the team source.
	if res, err := h.st.Result(context.Background(), roomID); err != nil || res.Kind != "team" {
		t.Fatalf("stored result %+v, %v", res, err)
	}
	for _, c := range all {
		p, err := h.st.Player(context.Background(), c.id)
		wantPts := map[bool]int64{true: 5, false: 2}[teamOf[c.id] == redTeam]
		if err != nil || p.Points != wantPts || (teamOf[c.id] == redTeam) != (p.Rating > 1500) {
			t.Fatalf("player %s = %+v, %v", c.id, p, err)
		}
	}
	// Everyone is free again: the leader may queue the party again.
	waitFor(t, "players released", func() bool {
		for _, c := range all {
			if _, busy := h.srv.Matchmaker().Playing(c.id); busy {
				return false
			}
		}
		return true
	})
	queueParty(t, red)
	// The party queues at its members' new ratings.
	if tk, ok := h.srv.Matchmaker().Queued(red[1].id); !ok || tk.Player.Rating <= 1500 {
		t.Fatalf("queued again with %+v, want the member's new rating", tk)
	}
}

func TestPartyRefusals(t *testing.T) {
	h := newHarness(t, nil)
	five := dialPlayers(h, "甲", 5)
	st := formParty(t, five)
	sixth := h.dial()
	sixth.hello("第六")

	// Unknown and empty codes, a full party, joining twice.
	expectReason(t, sixth, sixth.send("party.join", map[string]any{"code": "ZZZZZZ"}), "not_found", "party_code_unknown")
	expectReason(t, sixth, sixth.send("party.join", map[string]any{"code": " "}), "bad_request", "party_code_required")
	expectReason(t, sixth, sixth.send("party.join", map[string]any{"code": st.Code}), "wrong_phase", "party_full")
	expectReason(t, five[1], five[1].send("party.create", nil), "wrong_phase", "party_already")
	// A team find without a party, and by a member who does not lead.
	expectReason(t, sixth, sixth.send("match.find", map[string]any{"mode": "team"}), "bad_request", "party_none")
	expectReason(t, five[1], five[1].send("match.find", map[string]any{"mode": "team"}), "forbidden", "party_not_leader")
	for _, c := range append(five, sixth) {
		if _, q := h.srv.Matchmaker().Queued(c.id); q {
			t.Fatalf("%s queued after a refusal", c.id)
		}
	}
	// Nothing changed: the party still has its five.
	five[4].reply(five[4].send("party.leave", nil))
	for _, c := range five[:4] {
		var ps partyState
		c.expectFn("pushed party.state", func(m msg) bool {
			if m.Type != "party.state" || m.Re != "" {
				return false
			}
			m.decode(t, &ps)
			return len(ps.Members) == 4
		})
	}
	// A party of one may not queue.
	solo := h.dial()
	solo.hello("独")
	solo.reply(solo.send("party.create", nil))
	expectReason(t, solo, solo.send("match.find", map[string]any{"mode": "team"}), "wrong_phase", "party_size")
}

func TestPartySizesNeverMixed(t *testing.T) {
	h := newHarness(t, nil)
	two, three := dialPlayers(h, "二", 2), dialPlayers(h, "三", 3)
	formParty(t, two)
	st := formParty(t, three)
	queueParty(t, two)
	queueParty(t, three)
	// Joining a queued party is refused.
	late := h.dial()
	late.hello("迟")
	expectReason(t, late, late.send("party.join", map[string]any{"code": st.Code}), "wrong_phase", "party_busy")
	for i := 0; i < 5; i++ {
		h.advance(5 * time.Second) // the rating windows widen
		h.srv.Matchmaker().Process(context.Background())
	}
	if n := h.srv.Matchmaker().Matched(); n != 0 {
		t.Fatalf("%d matches made between parties of 2 and 3", n)
	}
	// A member leaving takes the party out of the queue; the others hear
	// match.cancelled and the new party state.
	three[2].reply(three[2].send("party.leave", nil))
	three[0].expect("match.cancelled")
	three[1].expect("match.cancelled")
	if _, q := h.srv.Matchmaker().Queued(three[0].id); q {
		t.Fatal("the party is still queued after a member left")
	}
	// After MaxWait the party of two is told match.timeout.
	h.advance(10 * time.Second)
	h.srv.Matchmaker().Process(context.Background())
	for _, c := range two {
		c.expect("match.timeout")
	}
}

// A member whose connection is gone for good takes its party out of the
// queue and out of the party; one who resumes in time would keep it.
func TestPartyMemberDropLeavesQueue(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Grace = 30 * time.Second; c.Match.MaxWait = 10 * time.Minute })
	cs := dialPlayers(h, "掉", 3)
	formParty(t, cs)
	queueParty(t, cs)
	h.drop(cs[2])
	h.advance(20 * time.Second) // inside the grace window
	if _, q := h.srv.Matchmaker().Queued(cs[0].id); !q {
		t.Fatal("the party left the queue inside the grace window")
	}
	h.advance(15 * time.Second) // past it
	waitFor(t, "the party out of the queue", func() bool {
		_, q := h.srv.Matchmaker().Queued(cs[0].id)
		return !q
	})
	for _, c := range cs[:2] {
		c.expect("match.cancelled")
		var ps partyState
		c.expectFn("party.state of two", func(m msg) bool {
			if m.Type != "party.state" || m.Re != "" {
				return false
			}
			m.decode(t, &ps)
			return len(ps.Members) == 2
		})
	}
	// The two may queue again.
	queueParty(t, cs[:2])
}

// Any member may cancel the party's ticket: the whole party leaves the
// queue and every member hears match.cancelled.
func TestPartyCancelByMember(t *testing.T) {
	h := newHarness(t, nil)
	cs := dialPlayers(h, "消", 2)
	formParty(t, cs)
	queueParty(t, cs)
	if m := cs[1].reply(cs[1].send("match.cancel", map[string]any{"ticket": queuedTicket(t, cs[1])})); m.Type != "match.cancelled" {
		t.Fatalf("cancel: %s", m.raw)
	}
	cs[0].expect("match.cancelled")
	for _, c := range cs {
		if _, queued := h.srv.Matchmaker().Queued(c.id); queued {
			t.Fatalf("%s still queued", c.id)
		}
	}
	queueParty(t, cs)
}

// expectPartyOf waits for a pushed party.state (not a reply) of n members.
func expectPartyOf(t *testing.T, c *client, n int) {
	t.Helper()
	c.expectFn("party.state of "+itoa(n), func(m msg) bool {
		var ps partyState
		if m.Type != "party.state" || m.Re != "" {
			return false
		}
		m.decode(t, &ps)
		return len(ps.Members) == n
	})
}
