// Package bustest is the contract every cluster.Bus and cluster.Leases
// implementation passes: the in-process bus, and the Redis bus on a
// standalone server and on a Redis Cluster. No test waits unboundedly.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
)

// Node is what one node of a cluster holds: the bus and its leases.
type Node interface {
	cluster.Bus
	cluster.Leases
}

// Run runs the contract against fresh state made by open. The two nodes one
// open call returns must be independent handles (closing one leaves the
// other working) onto one shared backing, as two nodes of one cluster are;
// each call must return state no other call sees.
func Run(t *testing.T, open func(t *testing.T) (a, b Node)) {
	ctx := context.Background()
	t.Run("PublishReachesEverySubscriberInOrder", func(t *testing.T) {
		a, b := open(t)
		var mu sync.Mutex
		got := map[string][]string{}
		rec := func(name string) func([]byte) {
			return func(m []byte) { mu.Lock(); got[name] = append(got[name], string(m)); mu.Unlock() }
		}
		c1, err := a.Subscribe(ctx, "room:1", rec("a"))
		if err != nil {
			t.Fatal(err)
		}
		defer c1()
		c2, err := b.Subscribe(ctx, "room:1", rec("b"))
		if err != nil {
			t.Fatal(err)
		}
		defer c2()
		c3, _ := b.Subscribe(ctx, "room:2", rec("other"))
		defer c3()
		for i := 0; i < 50; i++ {
			if err := a.Publish(ctx, "room:1", []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got["a"]) == 50 && len(got["b"]) == 50 })
		mu.Lock()
		defer mu.Unlock()
		for _, name := range []string{"a", "b"} {
			for i, m := range got[name] {
				if m != fmt.Sprint(i) {
					t.Fatalf("%s got %v out of order", name, got[name])
				}
			}
		}
		if len(got["other"]) != 0 {
			t.Fatalf("another channel's subscriber got %v", got["other"])
		}
	})
	t.Run("CancelStopsDelivery", func(t *testing.T) {
		a, _ := open(t)
		var mu sync.Mutex
		n := 0
		cancel, _ := a.Subscribe(ctx, "c", func([]byte) { mu.Lock(); n++; mu.Unlock() })
		_ = a.Publish(ctx, "c", []byte("1"))
		eventually(t, "first message", func() bool { mu.Lock(); defer mu.Unlock(); return n == 1 })
		cancel()
		_ = a.Publish(ctx, "c", []byte("2"))
		// A marker subscriber proves later messages were delivered.
		done := make(chan struct{})
		c2, _ := a.Subscribe(ctx, "c", func(m []byte) {
			if string(m) == "3" {
				close(done)
			}
		})
		defer c2()
		_ = a.Publish(ctx, "c", []byte("3"))
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Fatal("timed out waiting for the marker message")
		}
		mu.Lock()
		defer mu.Unlock()
		if n != 1 {
			t.Fatalf("cancelled subscriber got %d messages", n)
		}
	})
	t.Run("SubscribersOfOneChannelAreIndependent", func(t *testing.T) {
		a, b := open(t)
		var mu sync.Mutex
		got := map[string][]string{}
		rec := func(name string) func([]byte) {
			return func(m []byte) { mu.Lock(); got[name] = append(got[name], string(m)); mu.Unlock() }
		}
		c1, err := a.Subscribe(ctx, "shared", rec("one"))
		if err != nil {
			t.Fatal(err)
		}
		c2, err := a.Subscribe(ctx, "shared", rec("two"))
		if err != nil {
			t.Fatal(err)
		}
		defer c2()
		c1()
		c1() // twice is harmless
		_ = b.Publish(ctx, "shared", []byte("x"))
		eventually(t, "delivery to the remaining subscriber", func() bool { mu.Lock(); defer mu.Unlock(); return len(got["two"]) == 1 })
		c2()
		// The channel's last subscriber left; subscribing again works.
		c3, err := a.Subscribe(ctx, "shared", rec("three"))
		if err != nil {
			t.Fatal(err)
		}
		defer c3()
		_ = b.Publish(ctx, "shared", []byte("y"))
		eventually(t, "delivery after subscribing again", func() bool { mu.Lock(); defer mu.Unlock(); return len(got["three"]) == 1 })
		mu.Lock()
		defer mu.Unlock()
		if len(got["one"]) != 0 || len(got["two"]) != 1 {
			t.Fatalf("cancelled subscribers got messages: %v", got)
		}
	})
	t.Run("ClaimIsExclusive", func(t *testing.T) {
		a, b := open(t)
		ok, err := a.Claim(ctx, "player:1", "room-a", time.Minute)
		if err != nil || !ok {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if ok, _ := b.Claim(ctx, "player:1", "room-b", time.Minute); ok {
			t.Fatal("second owner got the claim")
		}
		if ok, _ := b.Claim(ctx, "player:1", "room-a", time.Minute); !ok {
			t.Fatal("the owner could not extend its claim")
		}
		if o, _ := b.Owner(ctx, "player:1"); o != "room-a" {
			t.Fatalf("owner = %q", o)
		}
		_ = b.Release(ctx, "player:1", "room-b") // not the owner: no effect
		if o, _ := a.Owner(ctx, "player:1"); o != "room-a" {
			t.Fatalf("release by a non-owner freed the claim (owner %q)", o)
		}
		_ = a.Release(ctx, "player:1", "room-a")
		if o, _ := b.Owner(ctx, "player:1"); o != "" {
			t.Fatalf("owner after release = %q", o)
		}
		if ok, _ := b.Claim(ctx, "player:1", "room-b", time.Minute); !ok {
			t.Fatal("a freed key could not be claimed")
		}
	})
	t.Run("ClaimAllIsClaimForEach", func(t *testing.T) {
		a, b := open(t)
		if ok, err := a.Claim(ctx, "party:X", "node-a", time.Minute); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		var claims []cluster.ClaimOf
		for i := range 40 { // on a Redis Cluster, keys of many slots
			claims = append(claims, cluster.ClaimOf{Key: fmt.Sprint("member:", i), Owner: "node-b"})
		}
		claims = append(claims, cluster.ClaimOf{Key: "party:X", Owner: "node-b"})
		held, err := b.ClaimAll(ctx, claims, time.Minute)
		if err != nil || len(held) != len(claims) {
			t.Fatalf("claim all: %v %v", held, err)
		}
		for i, c := range claims[:40] {
			if o, _ := a.Owner(ctx, c.Key); !held[i] || o != "node-b" {
				t.Fatalf("%s: held %v, owner %q", c.Key, held[i], o)
			}
		}
		if held[40] {
			t.Fatal("a key held by another owner was claimed")
		}
		if o, _ := b.Owner(ctx, "party:X"); o != "node-a" {
			t.Fatalf("party:X owner %q after another's claim, want node-a", o)
		}
		if held, err := b.ClaimAll(ctx, claims[:3], time.Minute); err != nil || !held[0] || !held[1] || !held[2] {
			t.Fatalf("extending: %v %v", held, err)
		}
		if held, err := b.ClaimAll(ctx, nil, time.Minute); err != nil || len(held) != 0 {
			t.Fatalf("no claims: %v %v", held, err)
		}
	})
	t.Run("ConcurrentClaimsHaveOneWinner", func(t *testing.T) {
		a, b := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := 0; i < 40; i++ {
			bus := a
			if i%2 == 1 {
				bus = b
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if ok, _ := bus.Claim(ctx, "contested", fmt.Sprint("owner-", i), time.Minute); ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%d winners", winners)
		}
	})
	t.Run("ClaimExpires", func(t *testing.T) {
		a, b := open(t)
		if ok, _ := a.Claim(ctx, "short", "x", 100*time.Millisecond); !ok {
			t.Fatal("claim")
		}
		Expire(a, 200*time.Millisecond)
		eventually(t, "expiry", func() bool { o, _ := b.Owner(ctx, "short"); return o == "" })
		if ok, _ := b.Claim(ctx, "short", "y", time.Minute); !ok {
			t.Fatal("an expired key could not be claimed")
		}
	})
	t.Run("ClosedBusFails", func(t *testing.T) {
		a, b := open(t)
		var mu sync.Mutex
		got := 0
		cb, err := b.Subscribe(ctx, "c", func([]byte) { mu.Lock(); got++; mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		defer cb()
		_ = a.Close()
		if err := a.Publish(ctx, "c", nil); err == nil {
			t.Fatal("publish on a closed bus succeeded")
		}
		if _, _, err := a.TakeLease(ctx, "k", "x", time.Minute); err == nil {
			t.Fatal("take lease on a closed bus succeeded")
		}
		// The other node goes on.
		if err := b.Publish(ctx, "c", []byte("after")); err != nil {
			t.Fatalf("the other node's publish after a closed: %v", err)
		}
		eventually(t, "delivery on the other node", func() bool { mu.Lock(); defer mu.Unlock(); return got == 1 })
	})
	runLeases(t, open)
}

func runLeases(t *testing.T, open func(t *testing.T) (a, b Node)) {
	ctx := context.Background()
	t.Run("LeaseRaceHasOneWinner", func(t *testing.T) {
		a, b := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []cluster.Lease
		epochs := map[uint64]bool{}
		for i := 0; i < 40; i++ {
			n := Node(a)
			if i%2 == 1 {
				n = b
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				l, ok, err := n.TakeLease(ctx, "room:race", fmt.Sprint("node-", i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				epochs[l.Epoch] = true
				if ok {
					won = append(won, l)
				}
			}(i)
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("%d winners: %v", len(won), won)
		}
		if len(epochs) != 1 || won[0].Epoch == 0 {
			t.Fatalf("the racers saw epochs %v; the winner has %d", epochs, won[0].Epoch)
		}
	})
	t.Run("LeaseRenewAndStaleHolder", func(t *testing.T) {
		a, b := open(t)
		la, ok, err := a.TakeLease(ctx, "room:1", "node-a", time.Minute)
		if err != nil || !ok || la.Holder != "node-a" {
			t.Fatalf("take: %+v %v %v", la, ok, err)
		}
		if lb, ok, _ := b.TakeLease(ctx, "room:1", "node-b", time.Minute); ok || lb.Holder != "node-a" || lb.Epoch != la.Epoch {
			t.Fatalf("a second holder took a live lease, or was not told who holds it: %+v %v", lb, ok)
		}
		again, ok, _ := a.TakeLease(ctx, "room:1", "node-a", time.Minute)
		if !ok || again.Epoch != la.Epoch {
			t.Fatalf("the holder taking its own lease again changed the epoch: %+v", again)
		}
		r, err := a.RenewLease(ctx, la, time.Minute)
		if err != nil || r.Epoch != la.Epoch || r.Holder != "node-a" {
			t.Fatalf("renew by the holder: %+v %v", r, err)
		}
		stale := la
		stale.Epoch--
		if _, err := a.RenewLease(ctx, stale, time.Minute); !errors.Is(err, cluster.ErrLeaseLost) {
			t.Fatalf("renew with an old epoch: %v, want ErrLeaseLost", err)
		}
		other := la
		other.Holder = "node-b"
		if _, err := b.RenewLease(ctx, other, time.Minute); !errors.Is(err, cluster.ErrLeaseLost) {
			t.Fatalf("renew by a non-holder: %v, want ErrLeaseLost", err)
		}
		_ = b.ReleaseLease(ctx, other) // not the holder: no effect
		if _, ok, _ := b.TakeLease(ctx, "room:1", "node-b", time.Minute); ok {
			t.Fatal("a release by a non-holder freed the lease")
		}
	})
	t.Run("LeaseReleaseHandsOverWithHigherEpoch", func(t *testing.T) {
		a, b := open(t)
		la, _, _ := a.TakeLease(ctx, "room:2", "node-a", time.Minute)
		if err := a.ReleaseLease(ctx, la); err != nil {
			t.Fatal(err)
		}
		if lapsed, _ := b.LapsedLeases(ctx); len(lapsed) != 0 {
			t.Fatalf("a released lease is listed as lapsed: %v", lapsed)
		}
		lb, ok, err := b.TakeLease(ctx, "room:2", "node-b", time.Minute)
		if err != nil || !ok || lb.Epoch <= la.Epoch {
			t.Fatalf("take after release: %+v %v %v (previous epoch %d)", lb, ok, err, la.Epoch)
		}
		if _, err := a.RenewLease(ctx, la, time.Minute); !errors.Is(err, cluster.ErrLeaseLost) {
			t.Fatalf("the old holder renewed after handing over: %v", err)
		}
	})
	t.Run("LeaseEpochFloor", func(t *testing.T) {
		a, b := open(t)
		la, _, _ := a.TakeLease(ctx, "room:f", "node-a", time.Minute)
		// A live lease held by another is not taken, floor or not.
		if _, ok, _ := b.TakeLeaseAbove(ctx, "room:f", "node-b", time.Minute, la.Epoch+10); ok {
			t.Fatal("a floor took a live lease")
		}
		if same, ok, _ := a.TakeLeaseAbove(ctx, "room:f", "node-a", time.Minute, la.Epoch+10); !ok || same.Epoch != la.Epoch {
			t.Fatalf("the holder's own live lease changed epoch under a floor: %+v", same)
		}
		_ = a.ReleaseLease(ctx, la)
		lb, ok, err := b.TakeLeaseAbove(ctx, "room:f", "node-b", time.Minute, la.Epoch+10)
		if err != nil || !ok || lb.Epoch != la.Epoch+11 {
			t.Fatalf("take above %d: %+v %v %v", la.Epoch+10, lb, ok, err)
		}
		_ = b.ReleaseLease(ctx, lb)
		// A floor below the kept epoch changes nothing: epochs never go back.
		lc, ok, _ := a.TakeLeaseAbove(ctx, "room:f", "node-a", time.Minute, 1)
		if !ok || lc.Epoch != lb.Epoch+1 {
			t.Fatalf("take above a low floor: %+v, want epoch %d", lc, lb.Epoch+1)
		}
	})
	t.Run("LeaseLapsesAndIsTakenOver", func(t *testing.T) {
		a, b := open(t)
		la, ok, _ := a.TakeLease(ctx, "room:3", "node-a", 300*time.Millisecond)
		if !ok {
			t.Fatal("take")
		}
		if _, ok, _ := a.TakeLease(ctx, "room:live", "node-a", time.Minute); !ok {
			t.Fatal("take live")
		}
		Expire(a, 400*time.Millisecond)
		var lapsed []cluster.Lease
		eventually(t, "the lease to lapse", func() bool {
			var err error
			lapsed, err = b.LapsedLeases(ctx)
			return err == nil && len(lapsed) > 0
		})
		if len(lapsed) != 1 || lapsed[0].Key != "room:3" || lapsed[0].Holder != "node-a" || lapsed[0].Epoch != la.Epoch {
			t.Fatalf("lapsed = %+v, want room:3 of node-a at epoch %d only", lapsed, la.Epoch)
		}
		if _, err := a.RenewLease(ctx, la, time.Minute); !errors.Is(err, cluster.ErrLeaseLost) {
			t.Fatalf("renew of a lapsed lease: %v, want ErrLeaseLost", err)
		}
		lb, ok, err := b.TakeLease(ctx, "room:3", "node-b", time.Minute)
		if err != nil || !ok || lb.Epoch <= la.Epoch || lb.Holder != "node-b" {
			t.Fatalf("takeover: %+v %v %v (previous epoch %d)", lb, ok, err, la.Epoch)
		}
		if lapsed, _ := a.LapsedLeases(ctx); len(lapsed) != 0 {
			t.Fatalf("a taken-over lease is still listed as lapsed: %v", lapsed)
		}
		// The stale holder can neither renew nor release the new lease.
		if _, err := a.RenewLease(ctx, la, time.Minute); !errors.Is(err, cluster.ErrLeaseLost) {
			t.Fatalf("stale renew after takeover: %v", err)
		}
		_ = a.ReleaseLease(ctx, la)
		if _, ok, _ := a.TakeLease(ctx, "room:3", "node-c", time.Minute); ok {
			t.Fatal("the stale holder's release freed the new holder's lease")
		}
	})
	t.Run("WatchLapsedTakesEachOnce", func(t *testing.T) {
		a, b := open(t)
		for i := 0; i < 5; i++ {
			if _, ok, _ := a.TakeLease(ctx, fmt.Sprint("room:w", i), "node-a", 200*time.Millisecond); !ok {
				t.Fatal("take")
			}
		}
		Expire(a, 300*time.Millisecond)
		var mu sync.Mutex
		taken := map[string]string{}
		watch := func(n Node, name string) {
			lapsed, err := n.LapsedLeases(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			for _, l := range lapsed {
				if nl, ok, _ := n.TakeLease(ctx, l.Key, name, time.Minute); ok {
					mu.Lock()
					if prev, dup := taken[l.Key]; dup {
						t.Errorf("%s taken by %s and %s", l.Key, prev, name)
					}
					taken[l.Key] = name
					mu.Unlock()
					if nl.Epoch <= l.Epoch {
						t.Errorf("takeover epoch %d not above %d", nl.Epoch, l.Epoch)
					}
				}
			}
		}
		eventually(t, "every lapsed lease taken over", func() bool {
			var wg sync.WaitGroup
			for i, n := range []Node{a, b} {
				wg.Add(1)
				go func() { defer wg.Done(); watch(n, fmt.Sprint("node-", i)) }()
			}
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			return len(taken) == 5
		})
	})
}

// Expirer is implemented by buses whose clock a test can move; Expire moves
// it by d. Buses on a real clock (Redis) simply let the time pass.
type Expirer interface{ Advance(d time.Duration) }

// Expire lets d pass for the bus's claims.
func Expire(b cluster.Bus, d time.Duration) {
	if e, ok := b.(Expirer); ok {
		e.Advance(d)
	}
}

// waitLimit bounds every wait of the suite.
const waitLimit = 5 * time.Second

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
