// Package bustest is the contract every cluster.Bus implementation passes:
// the in-process bus now, the Redis bus when it comes.
package bustest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
)

// Run runs the contract against fresh buses made by open. Buses made by one
// open call must share state, as nodes of one cluster do: open(t) may be
// called several times in a subtest and must return peers.
func Run(t *testing.T, open func(t *testing.T) (a, b cluster.Bus)) {
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
		<-done
		mu.Lock()
		defer mu.Unlock()
		if n != 1 {
			t.Fatalf("cancelled subscriber got %d messages", n)
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
		a, _ := open(t)
		_ = a.Close()
		if err := a.Publish(ctx, "c", nil); err == nil {
			t.Fatal("publish on a closed bus succeeded")
		}
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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
