package store

import (
	"sync"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// gathered is one call waiting in a gather: wake is buffered (1) and tells
// it, once its group is written, whether it must lead the next one.
type gathered interface {
	comparable
	wakeChan() chan bool
}

// gather lets concurrent callers share one write (one transaction, one
// fsync): the caller that finds no group being written leads. It takes
// every call queued so far, writes them together, answers each, and hands
// the lead to the first call queued meanwhile. Every call returns only
// once its group has been written. awardGroup and txGroup are built on it.
// If most is set, a group takes at most that many calls, the oldest, and
// the rest wait for the next.
//
// Under load a gather may also linger, as the journal's committer does: a
// leader whose group would start less than linger after the previous one
// began waits out the rest, so that more calls share the commit, unless
// most calls are queued already. Only after a group of more than one call:
// a caller writing one call after another (an import, a test) is never
// held back.
type gather[C gathered] struct {
	most int // static after construction; 0: no bound

	// Static once calls come (setLinger).
	linger time.Duration
	clock  clock.Clock
	full   chan struct{} // a lingering leader is told the group is full

	mu        sync.Mutex
	pending   []C
	running   bool
	lastStart time.Time // when the last group was taken
	lastSize  int       // and how many calls it had
}

// setLinger sets the linger, timed on clk. Call it before any join.
func (g *gather[C]) setLinger(d time.Duration, clk clock.Clock) {
	g.linger, g.clock = d, clk
	g.full = make(chan struct{}, 1)
}

// join queues c and returns once write has been called with a group
// holding it (by c's own goroutine or by another leader's).
func (g *gather[C]) join(c C, write func(batch []C)) {
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.running {
		if g.most > 0 && len(g.pending) == g.most && g.full != nil {
			select {
			case g.full <- struct{}{}:
			default:
			}
		}
		g.mu.Unlock()
		if lead := <-c.wakeChan(); !lead {
			return
		}
		g.mu.Lock()
	}
	g.running = true
	if wait := g.lingering(); wait > 0 {
		select {
		case <-g.full: // a signal from before: not about this group
		default:
		}
		g.mu.Unlock()
		t := g.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-g.full:
			t.Stop()
		}
		g.mu.Lock()
	}
	batch := g.pending
	g.pending = nil
	if g.most > 0 && len(batch) > g.most {
		batch, g.pending = batch[:g.most:g.most], batch[g.most:]
	}
	if g.linger > 0 {
		g.lastStart = g.clock.Now()
	}
	g.lastSize = len(batch)
	g.mu.Unlock()

	write(batch)
	for _, o := range batch {
		if o != c {
			o.wakeChan() <- false
		}
	}
	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		g.mu.Unlock()
		next.wakeChan() <- true
	} else {
		g.running = false
		g.mu.Unlock()
	}
}

// lingering returns how long the leader should wait before taking its
// group: none without a linger, after a group of one, or once most calls
// are queued. The caller holds mu.
func (g *gather[C]) lingering() time.Duration {
	if g.linger <= 0 || g.lastSize < 2 || (g.most > 0 && len(g.pending) >= g.most) {
		return 0
	}
	return g.linger - g.clock.Now().Sub(g.lastStart)
}
