package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/web"
)

// clusterOf starts n nodes of one cluster in process that share what a
// cluster shares for quick matches: one store, one in-process bus hub, one
// session directory and one quick-match pool, on one fake clock.
func clusterOf(t *testing.T, n int, mod func(*web.Config)) []*harness {
	t.Helper()
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	hub := cluster.NewLocalHub(clk)
	sessions := clusterstate.NewLocalSessionHub()
	pool := match.NewLocalPool(clk)
	var hs []*harness
	for i := 0; i < n; i++ {
		node := "node-" + string(rune('a'+i))
		bus := hub.Node()
		st := &clusterstate.State{Node: node, Sessions: sessions.Node(node),
			Sharing: &match.Sharing{Node: node, Pool: pool, Relay: bus, TicketTTL: time.Hour, TakenHold: time.Hour}}
		h := startHarnessWith(t, harnessOpts{dir: dir, clock: clk, node: node, bus: bus, leases: bus, state: st,
			cfg: func(c *web.Config) {
				c.LeaseTTL = time.Hour
				if mod != nil {
					mod(c)
				}
			}})
		h.clk = clk
		hs = append(hs, h)
	}
	return hs
}

// dialOn dials one player on each of the nodes given.
func dialOn(hs []*harness, prefix string, on ...int) []*client {
	cs := make([]*client, len(on))
	for i, n := range on {
		cs[i] = hs[n].dial()
		cs[i].hello(prefix + itoa(i+1))
	}
	return cs
}

// TestClusterPartyRefusals: a party made on one node is found by its code
// on every other, and refuses there what it refuses on its own node, with
// the same errors, changing nothing.
func TestClusterPartyRefusals(t *testing.T) {
	hs := clusterOf(t, 3, nil)
	five := dialOn(hs, "甲", 0, 1, 2, 1, 2)
	st := formParty(t, five)
	sixth := dialOn(hs, "六", 2)[0]
	expectReason(t, sixth, sixth.send("party.join", map[string]any{"code": "ZZZZZZ"}), "not_found", "party_code_unknown")
	expectReason(t, sixth, sixth.send("party.join", map[string]any{"code": st.Code}), "wrong_phase", "party_full")
	// Members on other nodes than the party's are in it there too.
	expectReason(t, five[1], five[1].send("party.create", nil), "wrong_phase", "party_already")
	other := dialOn(hs, "乙", 1)[0]
	ost := formParty(t, []*client{other})
	expectReason(t, five[2], five[2].send("party.join", map[string]any{"code": ost.Code}), "wrong_phase", "party_already")
	expectReason(t, five[3], five[3].send("match.find", map[string]any{"mode": "team"}), "forbidden", "party_not_leader")

	// A member on another node leaves; the rest are pushed the party of
	// four, and the sixth may join from its node.
	if m := five[4].reply(five[4].send("party.leave", nil)); m.Type != "party.left" {
		t.Fatalf("leave from another node: %s", m.raw)
	}
	expectReason(t, five[4], five[4].send("party.leave", nil), "not_found", "party_none")
	for _, c := range five[:4] {
		expectPartyOf(t, c, 4)
	}
	if m := sixth.reply(sixth.send("party.join", map[string]any{"code": st.Code})); m.Type != "party.state" {
		t.Fatalf("join after a leave: %s", m.raw)
	}

	// A party queued is busy, wherever the joiner is.
	two := dialOn(hs, "丙", 1, 0)
	tst := formParty(t, two)
	queueParty(t, two)
	late := dialOn(hs, "迟", 2)[0]
	expectReason(t, late, late.send("party.join", map[string]any{"code": tst.Code}), "wrong_phase", "party_busy")
	// Any member cancels the party's ticket, from its own node.
	if m := two[1].reply(two[1].send("match.cancel", map[string]any{"ticket": queuedTicket(t, two[1])})); m.Type != "match.cancelled" {
		t.Fatalf("cancel from another node: %s", m.raw)
	}
	two[0].expect("match.cancelled")
	if _, queued := hs[1].srv.Matchmaker().Queued(two[0].id); queued {
		t.Fatal("the party is still queued after a member cancelled")
	}
}

// TestClusterPartyLeaderElsewhere: the party's leader may be on another
// node than the party (the one who made it left); it queues the party
// from there. A member whose connection is gone for good takes the party
// out of the queue from its own node.
func TestClusterPartyLeaderElsewhere(t *testing.T) {
	hs := clusterOf(t, 2, func(c *web.Config) { c.Grace = 5 * time.Second; c.Match.MaxWait = 10 * time.Minute })
	cs := dialOn(hs, "丁", 0, 1, 1, 0)
	formParty(t, cs)
	cs[0].reply(cs[0].send("party.leave", nil))
	rest := cs[1:]
	for _, c := range rest {
		c.expectFn("party.state led from node b", func(m msg) bool {
			var ps partyState
			if m.Type != "party.state" || m.Re != "" {
				return false
			}
			m.decode(t, &ps)
			return len(ps.Members) == 3 && ps.Leader == rest[0].id
		})
	}
	queueParty(t, rest)
	if _, q := hs[0].srv.Matchmaker().Queued(rest[1].id); !q {
		t.Fatal("the party is not queued on its node")
	}
	hs[1].drop(rest[1])
	hs[1].advance(6 * time.Second) // past the grace window
	waitFor(t, "the party out of the queue", func() bool {
		_, q := hs[0].srv.Matchmaker().Queued(rest[0].id)
		return !q
	})
	for _, c := range []*client{rest[0], rest[2]} {
		c.expect("match.cancelled")
		expectPartyOf(t, c, 2)
	}
}

// TestClusterTeamMatchAcrossNodes: two parties, each made on its own node
// with members on all three, are matched in the shared pool, each member
// told on its own node, and play the team match to the end in one room.
func TestClusterTeamMatchAcrossNodes(t *testing.T) {
	hs := clusterOf(t, 3, nil)
	red, blue := dialOn(hs, "红", 0, 1, 2), dialOn(hs, "蓝", 1, 2, 0)
	rst := formParty(t, red)
	formParty(t, blue)
	queueParty(t, red)
	queueParty(t, blue)
	ctx := context.Background()
	for _, h := range hs {
		h.srv.Matchmaker().Process(ctx)
	}
	all := append(append([]*client{}, red...), blue...)
	teamOf := map[string]string{}
	var roomID string
	for _, c := range all {
		var f struct {
			Room, Mode string
			Players    []struct{ ID, Team string }
		}
		c.expect("match.found").decode(t, &f)
		if f.Mode != "team" || len(f.Players) != 6 || (roomID != "" && f.Room != roomID) {
			t.Fatalf("match.found = %+v", f)
		}
		roomID = f.Room
		for _, p := range f.Players {
			teamOf[p.ID] = p.Team
		}
		c.expect("room.state")
	}
	if teamOf[red[1].id] != teamOf[red[0].id] || teamOf[blue[2].id] == teamOf[red[0].id] {
		t.Fatalf("teams %v", teamOf)
	}
	// A party playing is busy, wherever its match runs and the joiner is.
	late := dialOn(hs, "迟", 2)[0]
	expectReason(t, late, late.send("party.join", map[string]any{"code": rst.Code}), "wrong_phase", "party_busy")
	owner := -1
	for i, h := range hs {
		if _, ok := h.srv.Rooms().Get(roomID); ok {
			owner = i
		}
	}
	if owner < 0 {
		t.Fatal("no node runs the team room")
	}
	h := hs[owner]
	h.advance(3 * time.Second) // countdown
	for qi := 0; ; qi++ {
		m := all[0].expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			break
		}
		var q question
		m.decode(t, &q)
		for _, c := range all[1:] {
			c.expect("question")
		}
		for _, c := range red {
			h.advance(100 * time.Millisecond)
			if r := c.reply(c.send("answer", h.correctAnswer(q))); r.Type != "answer.ack" {
				t.Fatalf("answer by %s: %s", c.id, r.raw)
			}
		}
		for _, c := range blue {
			h.advance(100 * time.Millisecond)
			if r := c.reply(c.send("answer", h.wrongAnswer(q))); r.Type != "answer.ack" {
				t.Fatalf("answer by %s: %s", c.id, r.raw)
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
	for _, c := range all[1:] {
		var f struct {
			You struct {
				PointsAwarded int64 `json:"points_awarded"`
			}
		}
		c.expect("room.finished").decode(t, &f)
		want := map[bool]int64{true: 5, false: 2}[teamOf[c.id] == teamOf[red[0].id]]
		if f.You.PointsAwarded != want {
			t.Fatalf("%s awarded %d points, want %d", c.id, f.You.PointsAwarded, want)
		}
	}
	if res, err := h.st.Result(ctx, roomID); err != nil || res.Kind != "team" {
		t.Fatalf("stored result %+v, %v", res, err)
	}
	// Nobody was matched twice: every node's queue is empty, and no
	// further match is made.
	for _, h := range hs {
		h.srv.Matchmaker().Process(ctx)
	}
	var made int64
	for _, h := range hs {
		made += h.srv.Matchmaker().Matched()
	}
	if made != 1 {
		t.Fatalf("%d matches made, want 1", made)
	}
}

// TestClusterPartyMemberMovesNode: members whose connections drop and come
// back on other nodes within the grace window stay in their party, queued:
// the old nodes' grace ending takes nobody out (the leader left the party's
// own node), each is pushed the party's state on its new node, and the
// party is matched and found there.
func TestClusterPartyMemberMovesNode(t *testing.T) {
	hs := clusterOf(t, 3, func(c *web.Config) { c.Grace = 5 * time.Second; c.Match.MaxWait = 10 * time.Minute })
	red := dialOn(hs, "己", 0, 1)
	blue := dialOn(hs, "庚", 2, 0)
	formParty(t, red)
	formParty(t, blue)
	queueParty(t, red)
	ctx := context.Background()
	hs[0].srv.Matchmaker().Process(ctx) // red's party is in the pool
	// red[0] from node a (its party's) to c, red[1] from b to a.
	for i, to := range []int{2, 0} {
		hs[i].drop(red[i])
		back, _ := hs[to].resume(red[i])
		expectPartyOf(t, back, 2)
		red[i] = back
	}
	hs[0].advance(6 * time.Second) // the old nodes' grace ends
	// The members are still in the party, still queued.
	expectReason(t, red[1], red[1].send("party.create", nil), "wrong_phase", "party_already")
	if _, q := hs[0].srv.Matchmaker().Queued(red[0].id); !q {
		t.Fatal("the party left the queue when its leader's old connection expired")
	}
	queueParty(t, blue)
	for i := 0; i < 2; i++ {
		for _, h := range hs {
			h.srv.Matchmaker().Process(ctx)
		}
	}
	for _, c := range append(red, blue...) {
		var f struct{ Room string }
		c.expect("match.found").decode(t, &f)
		if f.Room == "" {
			t.Fatalf("%s: match.found without a room", c.id)
		}
		c.expect("room.state")
	}
}

// TestClusterTeamMatchSeatsMovedMember: a party's node that takes the
// match seats a member who moved to another node there, not on the session
// it left behind in its grace window.
func TestClusterTeamMatchSeatsMovedMember(t *testing.T) {
	hs := clusterOf(t, 3, func(c *web.Config) { c.Grace = time.Minute })
	red := dialOn(hs, "辛", 0, 1)
	blue := dialOn(hs, "壬", 2, 1)
	formParty(t, red)
	formParty(t, blue)
	queueParty(t, red)
	ctx := context.Background()
	hs[0].srv.Matchmaker().Process(ctx)
	hs[0].drop(red[0])
	back, _ := hs[2].resume(red[0])
	back.expectFn("party.state on the new node", func(m msg) bool { return m.Type == "party.state" && m.Re == "" })
	red[0] = back
	queueParty(t, blue)
	hs[2].srv.Matchmaker().Process(ctx) // blue's party into the pool
	hs[0].srv.Matchmaker().Process(ctx) // red's back in it, and node a takes the pair
	if hs[0].srv.Matchmaker().Matched() != 1 {
		t.Fatalf("node a made %d matches, want the one", hs[0].srv.Matchmaker().Matched())
	}
	for _, c := range append(red, blue...) {
		c.expect("match.found")
		c.expect("room.state")
	}
}
