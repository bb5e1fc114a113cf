package gateway

import (
	"sync"
	"sync/atomic"
)

// waiters pairs the replies that come back over the Bus with the requests
// waiting for them, by a per-node request id. The zero value is ready.
type waiters[T any] struct {
	next atomic.Uint64

	// mu guards pending.
	mu      sync.Mutex
	pending map[uint64]chan T
}

// id returns a fresh request id, for a request that waits for no reply.
func (w *waiters[T]) id() uint64 { return w.next.Add(1) }

// wait registers a request that waits for its reply: its id, the channel
// the reply comes on, and done, which the request calls when it stops
// waiting.
func (w *waiters[T]) wait() (id uint64, reply <-chan T, done func()) {
	id = w.id()
	ch := make(chan T, 1)
	w.mu.Lock()
	if w.pending == nil {
		w.pending = map[uint64]chan T{}
	}
	w.pending[id] = ch
	w.mu.Unlock()
	return id, ch, func() {
		w.mu.Lock()
		delete(w.pending, id)
		w.mu.Unlock()
	}
}

// deliver hands r to the request id, if it still waits; a second reply to
// one request is dropped.
func (w *waiters[T]) deliver(id uint64, r T) {
	w.mu.Lock()
	ch, ok := w.pending[id]
	w.mu.Unlock()
	if ok {
		select {
		case ch <- r:
		default:
		}
	}
}
