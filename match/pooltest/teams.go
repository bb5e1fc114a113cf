package pooltest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// formParty makes a party at node home whose members' connections are on
// the nodes given (one per member, the leader first), and queues it. Each
// member is reached through its own sink, wherever its connection is.
func formParty(t *testing.T, ns *nodes, ps []*match.Parties, home int, ids []string, on []int, rating float64) *match.Ticket {
	t.Helper()
	member := func(i int) match.Member {
		mb := match.Member{Player: protocol.PlayerInfo{ID: ids[i], Rating: rating}, Sink: ns.peer(ids[i])}
		if on[i] != home {
			mb.Node = fmt.Sprint("node", on[i])
		}
		return mb
	}
	lead := member(0)
	pt, err := ps[home].Create(lead.Player, lead.Sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(ids); i++ {
		if _, err := ps[home].JoinMember(pt.Code, member(i)); err != nil {
			t.Fatal(err)
		}
	}
	tk, _, err := ps[home].Queue(ids[0], "", "zh", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func parties(ns *nodes) []*match.Parties {
	ps := make([]*match.Parties, len(ns.mms))
	for i, m := range ns.mms {
		ps[i] = match.NewParties(m)
	}
	return ps
}

// runTeams is the team queue part of RunMatchmakers.
func runTeams(t *testing.T, open Open) {
	ctx := context.Background()

	t.Run("PartiesOfTwoNodesMeet", func(t *testing.T) {
		b := open(t, 3)
		ns := share(t, b, match.Config{}, time.Minute)
		ps := parties(ns)
		// a's party lives on node 0, a2 connected to node 1; b's on node
		// 1, b2 on node 2; c's, of three, on node 2 finds nobody its size.
		formParty(t, ns, ps, 0, []string{"a1", "a2"}, []int{0, 1}, 1500)
		ns.mms[0].Process(ctx)
		ns.clk.Advance(time.Second)
		formParty(t, ns, ps, 1, []string{"b1", "b2"}, []int{1, 2}, 1520)
		formParty(t, ns, ps, 2, []string{"c1", "c2", "c3"}, []int{2, 0, 1}, 1500)
		ns.mms[2].Process(ctx)
		ns.mms[1].Process(ctx) // sees a's and b's parties: pairs them
		g := ns.games()
		if len(g) != 1 || g[0].node != 1 {
			t.Fatalf("games %+v, want one on node 1", g)
		}
		got := slices.Clone(g[0].players)
		slices.Sort(got)
		if !slices.Equal(got, []string{"a1", "a2", "b1", "b2"}) {
			t.Fatalf("matched %v", got)
		}
		for _, id := range got {
			s := ns.peer(id)
			eventually(t, "match.found for "+id, func() bool { return s.count("match.found") >= 1 })
		}
		// a's node hears its party was taken: it leaves the queue there,
		// and no node matches it again.
		eventually(t, "a's party to leave node 0's queue", func() bool { _, q := ns.mms[0].Queued("a2"); return !q })
		for i := 0; i < 3; i++ {
			for _, m := range ns.mms {
				m.Process(ctx)
			}
		}
		if g := ns.games(); len(g) != 1 {
			t.Fatalf("games %+v, want one", g)
		}
		for _, id := range got {
			if n := ns.peer(id).count("match.found"); n != 1 {
				t.Fatalf("%s got match.found %d times: %v", id, n, ns.peer(id).frames)
			}
		}
		// The party that waited longer is team A.
		f := ns.peer("b2").frames[0]
		if !strings.Contains(f, `"id":"a1"`) || !strings.Contains(f, `"team":"A"`) || !strings.Contains(f, `"team":"B"`) {
			t.Fatalf("match.found %s", f)
		}
		if _, q := ns.mms[2].Queued("c2"); !q {
			t.Fatal("c's party left the queue")
		}
	})

	t.Run("ManyPartiesOnThreeNodesMatchedOnce", func(t *testing.T) {
		b := open(t, 3)
		ns := share(t, b, match.Config{Window: 400}, time.Minute)
		ps := parties(ns)
		const n = 30 // parties of two, each spread over two nodes
		var players []string
		for i := 0; i < n; i++ {
			home := i % 3
			ids := []string{fmt.Sprint("l", i), fmt.Sprint("m", i)}
			players = append(players, ids...)
			formParty(t, ns, ps, home, ids, []int{home, (home + 1 + i%2) % 3}, 1400+float64(i%5)*40)
		}
		ns.processUntilPlaced(t, ctx, 2*n)
		seen := map[string]string{}
		for _, g := range ns.games() {
			if len(g.players) != 4 {
				t.Fatalf("game of %d: %v", len(g.players), g.players)
			}
			for _, p := range g.players {
				if r, ok := seen[p]; ok {
					t.Fatalf("player %s matched twice: rooms %s and %s", p, r, g.room)
				}
				seen[p] = g.room
			}
		}
		if len(seen) != 2*n {
			t.Fatalf("%d players matched, want %d", len(seen), 2*n)
		}
		for _, id := range players {
			s := ns.peer(id)
			eventually(t, "match.found for "+id, func() bool { return s.count("match.found") >= 1 })
			if k := s.count("match.found"); k != 1 {
				t.Fatalf("%s got match.found %d times", id, k)
			}
		}
		for i, m := range ns.mms {
			for _, p := range players {
				if _, q := m.Queued(p); q {
					eventually(t, p+" to leave node "+fmt.Sprint(i)+"'s queue", func() bool { _, q := m.Queued(p); return !q })
				}
			}
		}
	})

	t.Run("PartyTimeoutAndCancelAcrossNodes", func(t *testing.T) {
		b := open(t, 2)
		ns := share(t, b, match.Config{MaxWait: 10 * time.Second}, time.Minute)
		ps := parties(ns)
		// y's party is queued, pooled, then cancelled by a member: x's
		// party must not meet it.
		formParty(t, ns, ps, 1, []string{"y1", "y2"}, []int{1, 0}, 1500)
		ns.mms[1].Process(ctx)
		if n := len(snapshot(t, b.Pools[0])); n != 1 {
			t.Fatalf("%d tickets in the pool, want y's party's one", n)
		}
		if err := ns.mms[1].Cancel("y2", ""); err != nil {
			t.Fatal(err)
		}
		formParty(t, ns, ps, 0, []string{"x1", "x2"}, []int{0, 1}, 1500)
		ns.mms[0].Process(ctx)
		ns.mms[1].Process(ctx)
		if g := ns.games(); len(g) != 0 {
			t.Fatalf("matched a cancelled party: %v", g)
		}
		if ns.peer("y1").count("match.cancelled") != 1 {
			t.Fatalf("y1 got %v", ns.peer("y1").frames)
		}
		ns.clk.Advance(11 * time.Second)
		ns.mms[1].Process(ctx)
		if ns.peer("x1").count("match.timeout") != 0 {
			t.Fatal("another node timed out the party")
		}
		ns.mms[0].Process(ctx)
		for _, id := range []string{"x1", "x2"} {
			if ns.peer(id).count("match.timeout") != 1 {
				t.Fatalf("%s got %v", id, ns.peer(id).frames)
			}
		}
		if _, q := ns.mms[0].Queued("x1"); q {
			t.Fatal("a timed-out party is still queued")
		}
		if len(snapshot(t, b.Pools[0])) != 0 {
			t.Fatal("a timed-out party is still in the pool")
		}
	})
}
