package clusterstate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
)

// state is what two nodes of one cluster hold.
type state struct {
	sessions [2]clusterstate.Sessions
	pins     [2]clusterstate.PINs
	history  [2]clusterstate.History
	buses    [2]cluster.Bus
}

type openState func(t *testing.T) state

func openLocalState(t *testing.T) state {
	sh := clusterstate.NewLocalSessionHub()
	pins := clusterstate.NewLocalPINs()
	hist := clusterstate.NewLocalHistory(5)
	hub := cluster.NewLocalHub(nil)
	a, b := hub.Node(), hub.Node()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return state{
		sessions: [2]clusterstate.Sessions{sh.Node("n0"), sh.Node("n1")},
		pins:     [2]clusterstate.PINs{pins, pins},
		history:  [2]clusterstate.History{hist, hist},
		buses:    [2]cluster.Bus{a, b},
	}
}

func redisState(url string) openState {
	return func(t *testing.T) state {
		p := uniquePrefix()
		var s state
		for i := 0; i < 2; i++ {
			bus := openBus(t, url, p)
			s.sessions[i] = clusterstate.NewRedisSessions(bus.Client(), bus.Prefix(), bus, fmt.Sprint("n", i))
			s.pins[i] = clusterstate.NewRedisPINs(bus.Client(), bus.Prefix())
			s.history[i] = clusterstate.NewRedisHistory(bus.Client(), bus.Prefix(), 5)
			s.buses[i] = bus
		}
		return s
	}
}

func TestLocalState(t *testing.T) { runState(t, openLocalState) }

func TestRedisState(t *testing.T) {
	srv := redistest.StartServer(t)
	runState(t, redisState(srv.URL()))
}

func TestRedisClusterState(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	runState(t, redisState(c.URL()))
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }

func runState(t *testing.T, open openState) {
	ctx := context.Background()

	t.Run("SecondConnectionOnAnotherNodeReplacesTheFirst", func(t *testing.T) {
		s := open(t)
		var mu sync.Mutex
		var got [2][]string
		for i := 0; i < 2; i++ {
			i := i
			cancel, err := s.sessions[i].Watch(ctx, func(player, conn string) {
				mu.Lock()
				got[i] = append(got[i], player+"/"+conn)
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
		}
		if err := s.sessions[0].Register(ctx, "alice", "c1"); err != nil {
			t.Fatal(err)
		}
		// A newer connection on the same node: that node closes its own,
		// nobody is told.
		if err := s.sessions[0].Register(ctx, "alice", "c2"); err != nil {
			t.Fatal(err)
		}
		if err := s.sessions[1].Register(ctx, "alice", "c3"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node 0 to hear its connection was replaced", func() bool { mu.Lock(); defer mu.Unlock(); return len(got[0]) > 0 })
		if err := s.sessions[0].Register(ctx, "alice", "c4"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node 1 to hear its connection was replaced", func() bool { mu.Lock(); defer mu.Unlock(); return len(got[1]) > 0 })
		mu.Lock()
		if !slices.Equal(got[0], []string{"alice/c2"}) || !slices.Equal(got[1], []string{"alice/c3"}) {
			t.Fatalf("node 0 told %v, node 1 told %v", got[0], got[1])
		}
		mu.Unlock()
		if n, c, err := s.sessions[1].Holder(ctx, "alice"); err != nil || n != "n0" || c != "c4" {
			t.Fatalf("holder %q %q %v", n, c, err)
		}
		_ = s.sessions[1].Register(ctx, "bob", "b1")
		hs, err := s.sessions[0].Holders(ctx, []string{"bob", "nobody", "alice"})
		if err != nil || !slices.Equal(hs, []clusterstate.Holding{{Node: "n1", Conn: "b1"}, {}, {Node: "n0", Conn: "c4"}}) {
			t.Fatalf("holders %+v %v", hs, err)
		}
		// A stale unregister (the replaced connection closing) changes
		// nothing; the holder's own does.
		_ = s.sessions[1].Unregister(ctx, "alice", "c3")
		_ = s.sessions[0].Unregister(ctx, "alice", "c2")
		if n, _, _ := s.sessions[1].Holder(ctx, "alice"); n != "n0" {
			t.Fatalf("a stale unregister removed the holder: %q", n)
		}
		_ = s.sessions[0].Unregister(ctx, "alice", "c4")
		if n, c, _ := s.sessions[1].Holder(ctx, "alice"); n != "" || c != "" {
			t.Fatalf("after unregister: %q %q", n, c)
		}
	})

	t.Run("RoomsByPlayer", func(t *testing.T) {
		s := open(t)
		_ = s.sessions[0].AddRoom(ctx, "bob", "r1")
		_ = s.sessions[1].AddRoom(ctx, "bob", "r2")
		_ = s.sessions[1].AddRoom(ctx, "bob", "r2")
		_ = s.sessions[1].AddRoom(ctx, "carol", "r2")
		if rs, err := s.sessions[1].Rooms(ctx, "bob"); err != nil || !slices.Equal(sorted(rs), []string{"r1", "r2"}) {
			t.Fatalf("bob's rooms %v %v", rs, err)
		}
		_ = s.sessions[0].RemoveRoom(ctx, "bob", "r1")
		if rs, _ := s.sessions[1].Rooms(ctx, "bob"); !slices.Equal(rs, []string{"r2"}) {
			t.Fatalf("after leaving r1: %v", rs)
		}
		if rs, err := s.sessions[0].Rooms(ctx, "nobody"); err != nil || len(rs) != 0 {
			t.Fatalf("nobody's rooms %v %v", rs, err)
		}
		var many []string
		for i := 0; i < 50; i++ {
			many = append(many, fmt.Sprint("m", i))
		}
		if err := s.sessions[0].Seat(ctx, "r9", append(many, "bob")); err != nil {
			t.Fatal(err)
		}
		for _, p := range many {
			if rs, _ := s.sessions[1].Rooms(ctx, p); !slices.Equal(rs, []string{"r9"}) {
				t.Fatalf("%s seated in r9 has rooms %v", p, rs)
			}
		}
		if rs, _ := s.sessions[1].Rooms(ctx, "bob"); !slices.Equal(sorted(rs), []string{"r2", "r9"}) {
			t.Fatalf("bob's rooms after the seating %v", rs)
		}
		if err := s.sessions[1].Unseat(ctx, "r9", append(many, "bob")); err != nil {
			t.Fatal(err)
		}
		for _, p := range many {
			if rs, _ := s.sessions[0].Rooms(ctx, p); len(rs) != 0 {
				t.Fatalf("%s unseated from r9 has rooms %v", p, rs)
			}
		}
		if rs, _ := s.sessions[0].Rooms(ctx, "bob"); !slices.Equal(rs, []string{"r2"}) {
			t.Fatalf("bob's rooms after the unseating %v, want r2 kept", rs)
		}
	})

	t.Run("PINsResolveOnEveryNode", func(t *testing.T) {
		s := open(t)
		e := clusterstate.Event{ID: "ev-1", Room: "r-1", PIN: "123456", Title: "Finals", Config: []byte(`{"count":10}`)}
		if err := s.pins[0].Put(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := s.pins[0].Put(ctx, e); err != nil {
			t.Fatalf("putting again: %v", err)
		}
		got, ok, err := s.pins[1].ByPIN(ctx, "123456")
		if err != nil || !ok || got.ID != e.ID || got.Room != e.Room || got.Title != e.Title || string(got.Config) != string(e.Config) {
			t.Fatalf("by PIN on the other node: %+v %v %v", got, ok, err)
		}
		if got, ok, _ := s.pins[1].ByID(ctx, "ev-1"); !ok || got.PIN != "123456" {
			t.Fatalf("by id: %+v %v", got, ok)
		}
		other := clusterstate.Event{ID: "ev-2", Room: "r-2", PIN: "123456", Title: "Other"}
		if err := s.pins[1].Put(ctx, other); !errors.Is(err, clusterstate.ErrPINTaken) {
			t.Fatalf("a second event on a live PIN: %v", err)
		}
		if _, ok, _ := s.pins[0].ByID(ctx, "ev-2"); ok {
			t.Fatal("a refused event is listed by id")
		}
		_ = s.pins[1].Remove(ctx, other) // not its PIN: changes nothing
		if _, ok, _ := s.pins[0].ByPIN(ctx, "123456"); !ok {
			t.Fatal("removing another event freed the PIN")
		}
		if err := s.pins[1].Remove(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.pins[0].ByPIN(ctx, "123456"); ok {
			t.Fatal("PIN still listed after its event ended")
		}
		if _, ok, _ := s.pins[0].ByID(ctx, "ev-1"); ok {
			t.Fatal("id still listed after its event ended")
		}
		if err := s.pins[1].Put(ctx, other); err != nil {
			t.Fatalf("the freed PIN: %v", err)
		}
	})

	t.Run("HistorySharedByNodes", func(t *testing.T) {
		s := open(t)
		if err := s.history[0].Seen(ctx, []string{"p1", "p2"}, []string{"q1", "q2", "q3"}); err != nil {
			t.Fatal(err)
		}
		if err := s.history[1].Seen(ctx, []string{"p1"}, []string{"q4", "q5", "q1", "q6"}); err != nil {
			t.Fatal(err)
		}
		// Five kept per player: q2 fell off p1's (q1 was seen again).
		got, err := s.history[1].Recent(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"q3": true, "q4": true, "q5": true, "q1": true, "q6": true}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("p1 recent %v, want %v", got, want)
		}
		got, _ = s.history[0].Recent(ctx, "p2", "nobody")
		if fmt.Sprint(got) != fmt.Sprint(map[string]bool{"q1": true, "q2": true, "q3": true}) {
			t.Fatalf("p2 recent %v", got)
		}
		_ = s.history[0].Forget(ctx, "p1")
		if got, _ := s.history[1].Recent(ctx, "p1"); len(got) != 0 {
			t.Fatalf("forgotten player still has %v", got)
		}
	})

	t.Run("ImportVisibleOnEveryNode", func(t *testing.T) {
		s := open(t)
		var mu sync.Mutex
		stored := map[string][]questionbank.Question{}
		loads := 0
		load := func(_ context.Context, id string) ([]questionbank.Question, error) {
			mu.Lock()
			defer mu.Unlock()
			loads++
			return stored[id], nil
		}
		var banks [2]*clusterstate.Banks
		for i := range banks {
			banks[i] = clusterstate.NewBusBanks(questionbank.NewBank(), s.buses[i], fmt.Sprint("n", i), load, zerolog.Nop())
			cancel, err := banks[i].Watch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
		}
		all, err := questionbank.Sample()
		if err != nil {
			t.Fatal(err)
		}
		qs := all[:3]
		// Stored first, then announced, as an import does.
		mu.Lock()
		stored["qs-1"] = qs
		mu.Unlock()
		if err := banks[0].Imported(ctx, "qs-1", qs); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the other node to load the set", func() bool { return len(banks[1].Bank().Questions("qs-1")) == 3 })
		// A set whose notice has not arrived (here: never sent) is loaded
		// when asked for.
		mu.Lock()
		stored["qs-2"] = qs[:2]
		mu.Unlock()
		banks[0].Bank().Add("qs-2", qs[:2])
		if ok, err := banks[1].Ensure(ctx, "qs-2"); err != nil || !ok || len(banks[1].Bank().Questions("qs-2")) != 2 {
			t.Fatalf("ensure: %v %v", ok, err)
		}
		if ok, err := banks[1].Ensure(ctx, "qs-none"); err != nil || ok {
			t.Fatalf("ensure of an unknown set: %v %v", ok, err)
		}
		mu.Lock()
		n := loads
		mu.Unlock()
		if ok, _ := banks[1].Ensure(ctx, "qs-2"); !ok {
			t.Fatal("ensure again")
		}
		mu.Lock()
		defer mu.Unlock()
		if loads != n {
			t.Fatal("a set in the bank was read from the store again")
		}
		if len(banks[0].Bank().Questions("qs-1")) != 3 {
			t.Fatal("the importer lost its set")
		}
	})
}

func TestRedisSentinelState(t *testing.T) {
	s := redistest.StartSentinel(t, "leitai")
	runState(t, redisState(s.URL()))
}

// TestPINsComeBackAfterRedisLosesThem flushes Redis under a live event: the
// node running it puts it back at its next round, on the injected clock.
func TestPINsComeBackAfterRedisLosesThem(t *testing.T) {
	srv := redistest.StartServer(t)
	s := redisState(srv.URL())(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := clusterstate.Event{ID: "ev-1", Room: "r-1", PIN: "654321", Title: "Quiz night"}
	if err := s.pins[0].Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		clusterstate.KeepPINs(ctx, s.pins[0], clk, 30*time.Second, func() []clusterstate.Event { return []clusterstate.Event{e} }, nil)
	}()
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.pins[1].ByPIN(ctx, "654321"); ok {
		t.Fatal("the flush left the PIN")
	}
	eventually(t, "the keeper's ticker", func() bool { return clk.Timers() == 1 })
	clk.Advance(30 * time.Second)
	eventually(t, "the PIN to resolve again", func() bool {
		got, ok, _ := s.pins[1].ByPIN(ctx, "654321")
		return ok && got.ID == "ev-1"
	})
	cancel()
	<-done
}

// TestRedisDownIsUnavailable stops Redis under every piece: each call fails
// with cluster.ErrUnavailable, which callers answer as `unavailable`.
func TestRedisDownIsUnavailable(t *testing.T) {
	srv := redistest.StartServer(t)
	bus := openBus(t, srv.URL()+"?timeout=200ms", uniquePrefix())
	c, p := bus.Client(), bus.Prefix()
	pool := clusterstate.NewRedisPool(c, p)
	sess := clusterstate.NewRedisSessions(c, p, bus, "n0")
	pins := clusterstate.NewRedisPINs(c, p)
	hist := clusterstate.NewRedisHistory(c, p, 5)
	banks := clusterstate.NewBusBanks(questionbank.NewBank(), bus, "n0", func(context.Context, string) ([]questionbank.Question, error) { return nil, nil }, zerolog.Nop())
	srv.Stop(t)
	ctx := context.Background()
	at := time.Now()
	calls := map[string]func() error{
		"pool add": func() error {
			_, err := pool.Add(ctx, match.PoolTicket{ID: "t", Player: protocol.PlayerInfo{ID: "p"}}, time.Minute)
			return err
		},
		"pool snapshot": func() error { _, err := pool.Snapshot(ctx); return err },
		"pool take":     func() error { _, err := pool.Take(ctx, []string{"t"}, time.Minute); return err },
		"register":      func() error { return sess.Register(ctx, "p", "c") },
		"rooms":         func() error { _, err := sess.Rooms(ctx, "p"); return err },
		"seat":          func() error { return sess.Seat(ctx, "r", []string{"p", "q"}) },
		"unseat":        func() error { return sess.Unseat(ctx, "r", []string{"p", "q"}) },
		"pin put":       func() error { return pins.Put(ctx, clusterstate.Event{ID: "e", PIN: "111111"}) },
		"pin lookup":    func() error { _, _, err := pins.ByPIN(ctx, "111111"); return err },
		"history seen":  func() error { return hist.Seen(ctx, []string{"p"}, []string{"q1"}) },
		"history read":  func() error { _, err := hist.Recent(ctx, "p"); return err },
		"announce":      func() error { return banks.Announce(ctx, "qs-1") },
	}
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := call(); !errors.Is(err, cluster.ErrUnavailable) {
				t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d calls failed in %v", len(calls), time.Since(at).Round(time.Millisecond))
}
