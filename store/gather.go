package store

import "sync"

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
type gather[C gathered] struct {
	most int // static after construction; 0: no bound

	mu      sync.Mutex
	pending []C
	running bool
}

// join queues c and returns once write has been called with a group
// holding it (by c's own goroutine or by another leader's).
func (g *gather[C]) join(c C, write func(batch []C)) {
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.running {
		g.mu.Unlock()
		if lead := <-c.wakeChan(); !lead {
			return
		}
		g.mu.Lock()
	}
	g.running = true
	batch := g.pending
	g.pending = nil
	if g.most > 0 && len(batch) > g.most {
		batch, g.pending = batch[:g.most:g.most], batch[g.most:]
	}
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
