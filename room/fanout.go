package room

import (
	"runtime"
	"sync"
)

// Fan-out sizes. A delivery to at most inlinePeers peers is sent on the
// journal's goroutine; a larger one goes to a goroutine of the room's own,
// which hands frames to sliceSize connections at a time and then yields.
const (
	inlinePeers = 64
	sliceSize   = 128
)

// fanout sends a room's deliveries in the order the room said them.
//
// Handing a frame to a connection wakes that connection's writer. A
// question for 15,000 contestants wakes 15,000 writers at once, and Go's
// run queue is first come, first served: a reader woken by an answer that
// arrives meanwhile would wait behind every one of them, and so would its
// ack. Waking the writers a slice at a time, and yielding after each slice,
// lets the readers, the room and the journal run between slices, so
// answers are taken while a broadcast is still going out.
//
// Only the room's own broadcasts pass through here. Acks go straight from
// the journal to the connection: an answer comes from a contestant who
// already has the question, so no ack can overtake a broadcast its reader
// has not seen.
type fanout struct {
	wg   *sync.WaitGroup // Static after construction: counts sending goroutines.
	room string          // Static after construction: the room's id, for relays.

	// mu guards the following fields.
	mu      sync.Mutex
	queue   []delivery
	sending bool // a goroutine is draining queue
}

// send sends out, now if it is small and nothing is queued before it,
// otherwise on the fan-out goroutine. Runs on the journal's goroutine.
func (f *fanout) send(out []delivery) {
	var groups []relayGroup
	for i := range out {
		out[i] = out[i].relayOut(&groups, f.room)
	}
	for i := range groups {
		groups[i].relay.Relay(groups[i].items)
	}
	f.mu.Lock()
	if !f.sending && peersIn(out) <= inlinePeers {
		f.mu.Unlock()
		for i := range out {
			out[i].run(0, out[i].size())
		}
		return
	}
	f.queue = append(f.queue, out...)
	start := !f.sending
	f.sending = true
	f.mu.Unlock()
	if start {
		f.wg.Add(1)
		go f.drain()
	}
}

// drain sends the queue until it is empty. Runs in its own goroutine.
func (f *fanout) drain() {
	defer f.wg.Done()
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.sending = false
			f.queue = nil
			f.mu.Unlock()
			return
		}
		d := f.queue[0]
		f.queue[0] = delivery{}
		f.queue = f.queue[1:]
		f.mu.Unlock()
		for n, lo := d.size(), 0; lo < n; lo += sliceSize {
			d.run(lo, min(lo+sliceSize, n))
			if n > sliceSize {
				runtime.Gosched()
			}
		}
	}
}

func peersIn(out []delivery) int {
	n := 0
	for i := range out {
		n += out[i].size()
	}
	return n
}
