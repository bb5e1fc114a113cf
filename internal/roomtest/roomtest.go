// Package roomtest holds what tests and benchmarks of several packages
// need of a running room.
package roomtest

import (
	"context"
	"testing"
	"time"

	"github.com/leitai/leitai/room"
)

// WaitPhase polls r until it is in phase (a room that has ended counts as
// finished), failing tb if that takes more than 10 s. The room runs on its
// own goroutine, so this waits for it, not for a clock.
func WaitPhase(tb testing.TB, r *room.Room, phase string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := r.Snapshot(context.Background())
		if err == nil && s.Phase == phase || err == room.ErrClosed && phase == room.PhaseFinished {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("room in phase %q (%v), want %q", s.Phase, err, phase)
		}
		time.Sleep(time.Millisecond)
	}
}
