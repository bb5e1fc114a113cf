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
