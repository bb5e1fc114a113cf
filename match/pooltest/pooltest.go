// Package pooltest is the contract every match.Pool passes (the in-process
// LocalPool, and the Redis pool on a standalone server and on a Redis
// Cluster), and the suite of shared matchmakers on such a pool: several
// Matchmakers, as on several nodes, never match a player twice and match as
// fairly as one node does.
package pooltest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// Backend is n node handles onto one fresh shared pool.
type Backend struct {
	Pools  []match.Pool
	Relays []match.Relay
	// Advance moves the pool's clock by d; nil for pools on a real clock
	// (Redis), whose tickets simply lapse as time passes.
	Advance func(d time.Duration)
}

// Open makes a fresh Backend of n nodes; what one call returns no other
// call sees.
type Open func(t *testing.T, n int) Backend

const waitLimit = 10 * time.Second

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lapse lets d pass for the pool.
func (b Backend) lapse(d time.Duration) {
	if b.Advance != nil {
		b.Advance(d)
	}
}

func ticket(id, player string, rating float64, at time.Time) match.PoolTicket {
	return match.PoolTicket{ID: id, Player: protocol.PlayerInfo{ID: player, Name: "P " + player, Rating: rating},
		Mode: match.ModeDuel, Category: "science", Lang: "en", At: at, Node: "n1"}
}

func ids(ts []match.PoolTicket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	sort.Strings(out)
	return out
}

func snapshot(t *testing.T, p match.Pool) []match.PoolTicket {
	t.Helper()
	s, err := p.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Run runs the Pool contract.
func Run(t *testing.T, open Open) {
	ctx := context.Background()
	at := time.Date(2026, 12, 4, 15, 0, 0, 123456789, time.UTC)

	t.Run("AddIsSeenByEveryNodeInArrivalOrder", func(t *testing.T) {
		b := open(t, 2)
		var seqs []int64
		for i := 0; i < 5; i++ {
			seq, err := b.Pools[i%2].Add(ctx, ticket(fmt.Sprint("t", i), fmt.Sprint("p", i), 1500+float64(i), at), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, seq)
		}
		if !slices.IsSorted(seqs) || seqs[0] <= 0 || len(slices.Compact(slices.Clone(seqs))) != 5 {
			t.Fatalf("numbers %v do not grow with arrival", seqs)
		}
		got := snapshot(t, b.Pools[1])
		if !slices.Equal(ids(got), []string{"t0", "t1", "t2", "t3", "t4"}) {
			t.Fatalf("snapshot %v", ids(got))
		}
		for _, pt := range got {
			if pt.ID == "t3" {
				want := ticket("t3", "p3", 1503, at)
				want.Seq = seqs[3]
				if !pt.At.Equal(want.At) || pt.Player != want.Player || pt.Mode != want.Mode || pt.Category != want.Category || pt.Lang != want.Lang || pt.Node != want.Node || pt.Seq != want.Seq {
					t.Fatalf("ticket came back as %+v, want %+v", pt, want)
				}
			}
		}
		// Adding a ticket again keeps its number; a ticket put back with
		// its number keeps it.
		again, err := b.Pools[0].Add(ctx, ticket("t2", "p2", 1502, at), time.Minute)
		if err != nil || again != seqs[2] {
			t.Fatalf("add again: %d %v, want %d", again, err, seqs[2])
		}
		kept := ticket("t9", "p9", 1500, at)
		kept.Seq = 3
		if seq, err := b.Pools[0].Add(ctx, kept, time.Minute); err != nil || seq != 3 {
			t.Fatalf("add with a number: %d %v", seq, err)
		}
	})

	t.Run("OneLiveTicketPerPlayer", func(t *testing.T) {
		b := open(t, 2)
		if _, err := b.Pools[0].Add(ctx, ticket("a1", "alice", 1500, at), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Pools[1].Add(ctx, ticket("a2", "alice", 1500, at), time.Minute); !errors.Is(err, match.ErrBusy) {
			t.Fatalf("second ticket of a player: %v, want ErrBusy", err)
		}
		if got := ids(snapshot(t, b.Pools[0])); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("snapshot %v", got)
		}
		if err := b.Pools[1].Remove(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Pools[1].Add(ctx, ticket("a2", "alice", 1500, at), time.Minute); err != nil {
			t.Fatalf("after removal: %v", err)
		}
		if err := b.Pools[1].Remove(ctx, "nobody"); err != nil {
			t.Fatalf("removing an unknown ticket: %v", err)
		}
	})

	t.Run("TakeIsAllOrNothing", func(t *testing.T) {
		b := open(t, 2)
		for _, id := range []string{"a", "b", "c"} {
			if _, err := b.Pools[0].Add(ctx, ticket(id, "p"+id, 1500, at), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := b.Pools[1].Take(ctx, []string{"a", "b"}, time.Minute); err != nil || !ok {
			t.Fatalf("take a, b: %v %v", ok, err)
		}
		if ok, err := b.Pools[0].Take(ctx, []string{"b", "c"}, time.Minute); err != nil || ok {
			t.Fatalf("take b (taken) and c: %v %v", ok, err)
		}
		if ok, err := b.Pools[0].Take(ctx, []string{"c", "c"}, time.Minute); err != nil || ok {
			t.Fatalf("take c twice in one match: %v %v", ok, err)
		}
		if got := ids(snapshot(t, b.Pools[0])); !slices.Equal(got, []string{"c"}) {
			t.Fatalf("live after takes: %v", got)
		}
		st, err := b.Pools[0].Renew(ctx, []string{"a", "c", "zz"}, time.Minute)
		if err != nil || !slices.Equal(st, []match.TicketState{match.TicketTaken, match.TicketLive, match.TicketGone}) {
			t.Fatalf("renew states %v %v", st, err)
		}
		if _, err := b.Pools[0].Add(ctx, ticket("a", "pa", 1500, at), time.Minute); !errors.Is(err, match.ErrTaken) {
			t.Fatalf("adding a taken ticket: %v, want ErrTaken", err)
		}
		// The player of a taken ticket may queue with a new one.
		if _, err := b.Pools[0].Add(ctx, ticket("a-next", "pa", 1500, at), time.Minute); err != nil {
			t.Fatalf("new ticket of a matched player: %v", err)
		}
	})

	t.Run("ReturnPutsTakenTicketsBackWithTheirPlace", func(t *testing.T) {
		b := open(t, 2)
		seqA, _ := b.Pools[0].Add(ctx, ticket("a", "pa", 1500, at), time.Minute)
		_, _ = b.Pools[0].Add(ctx, ticket("b", "pb", 1500, at), time.Minute)
		if ok, _ := b.Pools[1].Take(ctx, []string{"a", "b"}, time.Minute); !ok {
			t.Fatal("take")
		}
		// b's player queued again meanwhile: b is not put back.
		_, _ = b.Pools[0].Add(ctx, ticket("b2", "pb", 1500, at), time.Minute)
		if err := b.Pools[1].Return(ctx, []string{"a", "b", "never"}, time.Minute); err != nil {
			t.Fatal(err)
		}
		got := snapshot(t, b.Pools[0])
		if !slices.Equal(ids(got), []string{"a", "b2"}) {
			t.Fatalf("after return: %v", ids(got))
		}
		for _, pt := range got {
			if pt.ID == "a" && pt.Seq != seqA {
				t.Fatalf("returned ticket has number %d, had %d", pt.Seq, seqA)
			}
		}
		if err := b.Pools[1].Remove(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.Pools[1].Take(ctx, []string{"b2"}, time.Minute); !ok {
			t.Fatal("take b2")
		}
		if err := b.Pools[1].Remove(ctx, "b2"); err != nil {
			t.Fatal(err)
		}
		if st, _ := b.Pools[0].Renew(ctx, []string{"a", "b2"}, time.Minute); !slices.Equal(st, []match.TicketState{match.TicketGone, match.TicketGone}) {
			t.Fatalf("removed tickets are %v", st)
		}
		if err := b.Pools[0].Return(ctx, []string{"b2"}, time.Minute); err != nil || len(snapshot(t, b.Pools[0])) != 0 {
			t.Fatalf("a removed ticket came back: %v", err)
		}
	})

	t.Run("UnrenewedTicketsLapse", func(t *testing.T) {
		b := open(t, 2)
		_, _ = b.Pools[0].Add(ctx, ticket("short", "ps", 1500, at), 200*time.Millisecond)
		_, _ = b.Pools[0].Add(ctx, ticket("long", "pl", 1500, at), time.Hour)
		b.lapse(300 * time.Millisecond)
		eventually(t, "the unrenewed ticket to lapse", func() bool { return slices.Equal(ids(snapshot(t, b.Pools[1])), []string{"long"}) })
		if st, _ := b.Pools[1].Renew(ctx, []string{"short", "long"}, 200*time.Millisecond); !slices.Equal(st, []match.TicketState{match.TicketGone, match.TicketLive}) {
			t.Fatalf("states %v", st)
		}
		// Its player is free to queue again.
		if _, err := b.Pools[1].Add(ctx, ticket("short2", "ps", 1500, at), time.Hour); err != nil {
			t.Fatal(err)
		}
		// The renewal cut "long" to 200 ms.
		b.lapse(300 * time.Millisecond)
		eventually(t, "the renewed ticket to lapse at its new time", func() bool { return slices.Equal(ids(snapshot(t, b.Pools[0])), []string{"short2"}) })
		// A taken ticket is remembered for its hold only.
		if ok, _ := b.Pools[0].Take(ctx, []string{"short2"}, 200*time.Millisecond); !ok {
			t.Fatal("take")
		}
		b.lapse(300 * time.Millisecond)
		eventually(t, "the taken ticket to be forgotten", func() bool {
			st, _ := b.Pools[0].Renew(ctx, []string{"short2"}, time.Minute)
			return len(st) == 1 && st[0] == match.TicketGone
		})
	})

	t.Run("ConcurrentTakesNeverShareATicket", func(t *testing.T) {
		b := open(t, 3)
		const n = 120
		for i := 0; i < n; i++ {
			if _, err := b.Pools[i%3].Add(ctx, ticket(fmt.Sprint("t", i), fmt.Sprint("p", i), 1500, at), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		won := map[string]int{}
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for k := 0; k < 150; k++ {
					g := []string{fmt.Sprint("t", rng.IntN(n)), fmt.Sprint("t", rng.IntN(n)), fmt.Sprint("t", rng.IntN(n))}
					ok, err := b.Pools[w%3].Take(ctx, g, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						for _, id := range g {
							won[id]++
						}
						mu.Unlock()
					}
				}
			}(w)
		}
		wg.Wait()
		live := map[string]bool{}
		for _, pt := range snapshot(t, b.Pools[0]) {
			live[pt.ID] = true
		}
		for id, c := range won {
			if c != 1 || live[id] {
				t.Fatalf("ticket %s taken %d times (live %v)", id, c, live[id])
			}
		}
		if len(won)+len(live) != n || len(won) == 0 {
			t.Fatalf("%d taken + %d live, want %d", len(won), len(live), n)
		}
	})
}

// starter records the matches a node started.
type starter struct {
	node  int
	mu    sync.Mutex
	games []game
}

type game struct {
	node    int
	room    string
	players []string
}

func (s *starter) StartMatch(_ context.Context, room, mode, category string, ts []*match.Ticket) error {
	g := game{node: s.node, room: room}
	for _, t := range ts {
		g.players = append(g.players, t.Player.ID)
	}
	s.mu.Lock()
	s.games = append(s.games, g)
	s.mu.Unlock()
	return nil
}

func (s *starter) all() []game {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.games)
}

// sink records the frames a player got.
type sink struct {
	mu     sync.Mutex
	frames []string
}

func (s *sink) Send(f *protocol.Frame) bool {
	s.mu.Lock()
	s.frames = append(s.frames, string(f.Bytes()))
	s.mu.Unlock()
	return true
}

func (s *sink) count(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.frames {
		if strings.Contains(f, `"type":"`+typ+`"`) {
			n++
		}
	}
	return n
}

type nodes struct {
	mms      []*match.Matchmaker
	starters []*starter
	clk      *clock.Fake

	// peers are the players' own sinks, as each node's gateway reaches a
	// player wherever its connection is (Sharing.PeerSink).
	peersMu sync.Mutex
	peers   map[string]*sink
}

// peer returns the sink of player, made on first use.
func (ns *nodes) peer(player string) *sink {
	ns.peersMu.Lock()
	defer ns.peersMu.Unlock()
	s, ok := ns.peers[player]
	if !ok {
		s = &sink{}
		ns.peers[player] = s
	}
	return s
}

func (ns *nodes) games() []game {
	var out []game
	for _, s := range ns.starters {
		out = append(out, s.all()...)
	}
	return out
}

// processUntilPlaced has every node process at once, as on real nodes,
// until want players are placed in games.
func (ns *nodes) processUntilPlaced(t *testing.T, ctx context.Context, want int) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range ns.mms {
		wg.Add(1)
		go func(m *match.Matchmaker) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				m.Process(ctx)
			}
		}(m)
	}
	eventually(t, "every player to be placed", func() bool {
		n := 0
		for _, g := range ns.games() {
			n += len(g.players)
		}
		return n >= want
	})
	close(stop)
	wg.Wait()
}

// share makes one shared matchmaker per node of b, on one fake clock.
func share(t *testing.T, b Backend, cfg match.Config, ttl time.Duration) *nodes {
	t.Helper()
	ns := &nodes{clk: clock.NewFake(time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)), peers: map[string]*sink{}}
	for i := range b.Pools {
		st := &starter{node: i}
		m := match.New(cfg, ns.clk, st, nopClaims{}, zerolog.Nop())
		stop, err := m.Share(context.Background(), match.Sharing{Node: fmt.Sprint("node", i), Pool: b.Pools[i], Relay: b.Relays[i], TicketTTL: ttl,
			PeerSink: func(_, player string) match.Sink { return ns.peer(player) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		ns.mms = append(ns.mms, m)
		ns.starters = append(ns.starters, st)
	}
	return ns
}

// nopClaims lets every claim through: these tests are about the queue.
type nopClaims struct{}

func (nopClaims) Claim(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (nopClaims) Release(context.Context, string, string) error { return nil }

// RunMatchmakers runs the shared matchmaker suite.
func RunMatchmakers(t *testing.T, open Open) {
	ctx := context.Background()

	t.Run("ManyPlayersOnThreeNodesMatchedOnce", func(t *testing.T) {
		b := open(t, 3)
		ns := share(t, b, match.Config{Window: 300}, time.Minute)
		const players = 240
		sinks := map[string]*sink{}
		for i := 0; i < players; i++ {
			id := fmt.Sprint("p", i)
			sinks[id] = &sink{}
			mode := match.ModeDuel
			if i%3 == 0 {
				mode = match.ModeFour
			}
			if _, err := ns.mms[i%3].Find(protocol.PlayerInfo{ID: id, Rating: 1400 + float64(i%7)*30}, mode, "", sinks[id]); err != nil {
				t.Fatal(err)
			}
		}
		ns.processUntilPlaced(t, ctx, players)
		seen := map[string]string{}
		nodesUsed := map[int]bool{}
		for _, g := range ns.games() {
			nodesUsed[g.node] = true
			for _, p := range g.players {
				if r, ok := seen[p]; ok {
					t.Fatalf("player %s matched twice: rooms %s and %s", p, r, g.room)
				}
				seen[p] = g.room
			}
		}
		if len(seen) != players {
			t.Fatalf("%d players matched, want %d", len(seen), players)
		}
		for id, s := range sinks {
			eventually(t, "match.found for "+id, func() bool { return s.count("match.found") >= 1 })
			if n := s.count("match.found"); n != 1 {
				t.Fatalf("%s got match.found %d times", id, n)
			}
			s.mu.Lock()
			f := s.frames[0]
			s.mu.Unlock()
			if !strings.Contains(f, seen[id]) {
				t.Fatalf("%s was told %s, but is in room %s", id, f, seen[id])
			}
		}
		for i, m := range ns.mms {
			for p := range sinks {
				if _, ok := m.Queued(p); ok {
					t.Fatalf("%s still queued on node %d after its match", p, i)
				}
			}
		}
		t.Logf("matches started by %d nodes", len(nodesUsed))
	})

	t.Run("SameMatchesAsOneNode", func(t *testing.T) {
		// The same arrivals, on one node and spread over three sharing a
		// pool, give the same matches in the same order: fairness by
		// waiting time and rating, with the window widening, is one
		// node's.
		rng := rand.New(rand.NewPCG(42, 9))
		type arrival struct {
			id     string
			rating float64
			mode   string
			wait   time.Duration // before the next arrival
		}
		var arrivals []arrival
		for i := 0; i < 90; i++ {
			mode := match.ModeDuel
			if rng.IntN(4) == 0 {
				mode = match.ModeFour
			}
			arrivals = append(arrivals, arrival{id: fmt.Sprint("p", i), rating: 1000 + float64(rng.IntN(1000)), mode: mode, wait: time.Duration(rng.IntN(1500)) * time.Millisecond})
		}
		cfg := match.Config{MaxWait: time.Hour}
		play := func(mms []*match.Matchmaker, clk *clock.Fake, games func() []game) [][]string {
			for i, a := range arrivals {
				if _, err := mms[i%len(mms)].Find(protocol.PlayerInfo{ID: a.id, Rating: a.rating}, a.mode, "", &sink{}); err != nil {
					t.Fatal(err)
				}
				clk.Advance(a.wait)
				// One node processes after every few arrivals, in turn.
				if i%6 == 5 {
					mms[i/6%len(mms)].Process(ctx)
				}
			}
			for k := 0; k < 40; k++ {
				clk.Advance(time.Second)
				mms[k%len(mms)].Process(ctx)
			}
			var out [][]string
			for _, g := range games() {
				out = append(out, g.players)
			}
			return out
		}
		oneClk := clock.NewFake(time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC))
		one := &starter{}
		single := play([]*match.Matchmaker{match.New(cfg, oneClk, one, nopClaims{}, zerolog.Nop())}, oneClk, one.all)
		b := open(t, 3)
		ns := share(t, b, cfg, time.Hour)
		shared := play(ns.mms, ns.clk, func() []game {
			// In order of the rooms' start across nodes.
			var all []game
			for k := 0; ; k++ {
				more := false
				for _, s := range ns.starters {
					g := s.all()
					if k < len(g) {
						all = append(all, g[k])
						more = true
					}
				}
				if !more {
					return all
				}
			}
		})
		if len(single) < 20 {
			t.Fatalf("only %d matches on one node: the scenario is too thin", len(single))
		}
		norm := func(gs [][]string) []string {
			var out []string
			for _, g := range gs {
				g = slices.Clone(g)
				sort.Strings(g)
				out = append(out, strings.Join(g, ","))
			}
			sort.Strings(out)
			return out
		}
		if !slices.Equal(norm(single), norm(shared)) {
			t.Fatalf("three nodes matched\n%v\none node matched\n%v", norm(shared), norm(single))
		}
	})

	t.Run("ADeadNodeLeavesNoPlayerInTheQueue", func(t *testing.T) {
		b := open(t, 2)
		ns := share(t, b, match.Config{Window: 1000}, 300*time.Millisecond)
		if _, err := ns.mms[0].Find(protocol.PlayerInfo{ID: "ghost", Rating: 1500}, match.ModeDuel, "", &sink{}); err != nil {
			t.Fatal(err)
		}
		ns.mms[0].Process(ctx) // publishes the ticket; then node 0 dies
		b.lapse(400 * time.Millisecond)
		eventually(t, "the dead node's ticket to lapse", func() bool { return len(snapshot(t, b.Pools[1])) == 0 })
		alive := &sink{}
		if _, err := ns.mms[1].Find(protocol.PlayerInfo{ID: "alive", Rating: 1500}, match.ModeDuel, "", alive); err != nil {
			t.Fatal(err)
		}
		ns.mms[1].Process(ctx)
		ns.mms[1].Process(ctx)
		if g := ns.games(); len(g) != 0 || alive.count("match.found") != 0 {
			t.Fatalf("matched with a dead node's player: %v", g)
		}
		if _, ok := ns.mms[1].Queued("alive"); !ok {
			t.Fatal("the live player left the queue")
		}
	})

	t.Run("BotsFillOnlyTheTicketsOwnNode", func(t *testing.T) {
		b := open(t, 2)
		ns := share(t, b, match.Config{MaxWait: 10 * time.Second, BotFill: true}, time.Minute)
		s := &sink{}
		if _, err := ns.mms[0].Find(protocol.PlayerInfo{ID: "lonely", Rating: 1500}, match.ModeFour, "", s); err != nil {
			t.Fatal(err)
		}
		ns.mms[0].Process(ctx)
		ns.clk.Advance(11 * time.Second)
		ns.mms[1].Process(ctx)
		if g := ns.games(); len(g) != 0 {
			t.Fatalf("another node filled the ticket with bots: %v", g)
		}
		ns.mms[0].Process(ctx)
		g := ns.games()
		if len(g) != 1 || g[0].node != 0 || len(g[0].players) != 4 || g[0].players[0] != "lonely" || !match.IsBot(g[0].players[1]) {
			t.Fatalf("games %+v, want lonely and three bots on node 0", g)
		}
		if s.count("match.found") != 1 {
			t.Fatalf("frames %v", s.frames)
		}
	})

	runTeams(t, open)

	t.Run("TimeoutAndCancelAcrossNodes", func(t *testing.T) {
		b := open(t, 2)
		ns := share(t, b, match.Config{MaxWait: 10 * time.Second, Window: 50, MaxWindow: 50}, time.Minute)
		far, gone := &sink{}, &sink{}
		_, _ = ns.mms[0].Find(protocol.PlayerInfo{ID: "far", Rating: 1000}, match.ModeDuel, "", far)
		_, _ = ns.mms[1].Find(protocol.PlayerInfo{ID: "gone", Rating: 1000}, match.ModeDuel, "", gone)
		if n := len(snapshot(t, b.Pools[0])); n != 2 {
			t.Fatalf("%d tickets in the pool right after Find, want 2", n)
		}
		// gone cancels on its node before anyone processes its ticket
		// with far's: far must not be matched with a cancelled ticket.
		if err := ns.mms[1].Cancel("gone", ""); err != nil {
			t.Fatal(err)
		}
		ns.mms[0].Process(ctx)
		ns.mms[1].Process(ctx)
		if g := ns.games(); len(g) != 0 {
			t.Fatalf("matched a cancelled ticket: %v", g)
		}
		ns.clk.Advance(11 * time.Second)
		ns.mms[1].Process(ctx)
		if far.count("match.timeout") != 0 {
			t.Fatal("another node timed out the ticket")
		}
		ns.mms[0].Process(ctx)
		if far.count("match.timeout") != 1 {
			t.Fatalf("far got %v", far.frames)
		}
		if len(snapshot(t, b.Pools[0])) != 0 {
			t.Fatal("a timed-out ticket is still in the pool")
		}
	})
}
