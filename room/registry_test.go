package room

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// Once a shutdown has closed the registry, Start refuses, so no room's
// wg.Add can race the shutdown's Wait (run with -race: a room started
// concurrently with Close either runs and is waited for, or is refused).
func TestRegistryRefusesAfterClose(t *testing.T) {
	reg := NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newRig(t, Config{ID: "r" + string(rune('a'+i)), Kind: KindEvent})
			if err := reg.Start(ctx, g.r); err != nil && !errors.Is(err, ErrStopping) {
				t.Errorf("start: %v", err)
			}
		}()
	}
	reg.Close()
	cancel()
	reg.Wait()
	wg.Wait()
	reg.Wait()
	g := newRig(t, Config{ID: "late", Kind: KindEvent})
	if err := reg.Start(context.Background(), g.r); !errors.Is(err, ErrStopping) {
		t.Fatalf("start after close: %v, want ErrStopping", err)
	}
	if reg.Len() != 0 {
		t.Fatalf("%d rooms registered after close", reg.Len())
	}
}

// A room whose Run has returned is not running, even while its goroutine
// has yet to take it out of the directory: Get, All and Len leave it out,
// so nothing routes a command to it or counts it after its Done closed.
func TestRegistryHidesAStoppedRoom(t *testing.T) {
	reg := NewRegistry()
	live := newRig(t, Config{ID: "live", Kind: KindEvent})
	ended := newRig(t, Config{ID: "ended", Kind: KindEvent})
	reg.mu.Lock()
	reg.rooms["live"] = live.r
	reg.rooms["ended"] = ended.r
	reg.mu.Unlock()
	close(ended.r.done) // as Run's return does, before the registry's goroutine removes it
	if _, ok := reg.Get("ended"); ok {
		t.Fatal("Get returns a room whose Run has returned")
	}
	if r, ok := reg.Get("live"); !ok || r != live.r {
		t.Fatal("Get does not return the running room")
	}
	if all := reg.All(); len(all) != 1 || all[0] != live.r {
		t.Fatalf("All returns %d rooms, want the running one only", len(all))
	}
	if n := reg.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
}
