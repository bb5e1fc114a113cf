package store

import (
	"context"
	"slices"
	"sync"
)

// lane is where a write waits at the write gate.
type lane int

const (
	// laneJournal is the journal's (AppendJournal): every answer's ack
	// and every question a room sends wait on it, so it goes ahead of
	// every other write waiting.
	laneJournal lane = iota
	// laneOrdinary is every other write's, first come first served.
	laneOrdinary
	lanes
)

// writeGate admits as many writes at a time as the write pool has
// connections (one on SQLite). The write pool alone hands a free
// connection to a random waiter, which under load can starve the journal
// behind a queue of other writes; here waiters are served in the order
// they came, lane by lane: a journal write waits only for the writes
// already admitted, never for ordinary ones queued before it. That cannot
// starve the others: the journal has one writer (the Committer), which
// waits for its batch to commit and then for its linger before it comes
// back, and each slot it leaves goes to the next ordinary write in line.
type writeGate struct {
	// mu guards the following fields.
	mu      sync.Mutex
	free    int                    // slots nobody holds; 0 whenever anyone waits
	waiting [lanes][]chan struct{} // each lane's waiters, oldest first; closed when admitted
}

func newWriteGate(slots int) *writeGate {
	return &writeGate{free: max(1, slots)}
}

// enter waits for a slot in lane l, or for ctx to end (then it holds
// nothing). Leave with leave.
func (g *writeGate) enter(ctx context.Context, l lane) error {
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		g.mu.Unlock()
		return err
	}
	admit := make(chan struct{})
	g.waiting[l] = append(g.waiting[l], admit)
	g.mu.Unlock()
	select {
	case <-admit:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(g.waiting[l], admit); i >= 0 {
		g.waiting[l] = slices.Delete(g.waiting[l], i, i+1)
		g.mu.Unlock()
		return ctx.Err()
	}
	g.mu.Unlock()
	// Admitted while giving up: pass the slot on.
	g.leave()
	return ctx.Err()
}

// leave gives the slot to the first waiter of the first lane that has
// one, or frees it.
func (g *writeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for l := range g.waiting {
		if q := g.waiting[l]; len(q) > 0 {
			close(q[0])
			q[0] = nil
			g.waiting[l] = q[1:]
			return
		}
	}
	g.free++
}

// queued reports how many writes wait in each lane, for tests.
func (g *writeGate) queued() (journal, ordinary int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting[laneJournal]), len(g.waiting[laneOrdinary])
}
