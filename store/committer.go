package store

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
)

// ErrClosed is reported for work submitted to a Committer that has stopped.
var ErrClosed = errors.New("store: committer closed")

// CommitterOptions configures a Committer. Zero values mean defaults.
type CommitterOptions struct {
	// MaxBatch caps the entries written by one AppendJournal call.
	// Default 1024.
	MaxBatch int
	// QueueSize is how many submissions may wait for the committer before
	// Submit blocks. Default 16384: every answer of a 15,000-player
	// question at once. The queue is allocated whole and the garbage
	// collector scans all of it on every cycle, so it is no bigger.
	QueueSize int
	// Linger is the least time between the starts of two batches: under
	// load the committer waits out the rest of it before the next batch,
	// so that more entries share its transaction and fsync. After a quiet
	// spell longer than Linger, the next entry is written at once. Default
	// DefaultLinger; negative means never wait.
	Linger time.Duration
	// Clock times the linger; default the real one.
	Clock clock.Clock
	// Logger receives batch failures. The zero Logger discards.
	Logger zerolog.Logger
	// Backend labels the committer's metrics ("sqlite", "postgres");
	// default the Store's Backend() if it has one, else "unknown".
	Backend string
}

// DefaultLinger is CommitterOptions.Linger's default. A commit costs a few
// hundred microseconds of CPU whatever its size; with entries arriving at
// 7,500 a second (BenchmarkCommitterPaced) 10 ms gathers about 80 of them
// into each, 5 ms 42 and 2 ms 17, and an entry waits a few milliseconds
// longer for its ack. Against 5 ms, a stage event of 15,000 spent about
// 4 µs less per answer and a duel 5 % less per match, with the same ack
// p99 (docs/benchmarks.md).
const DefaultLinger = 10 * time.Millisecond

// Committer writes journal entries with group commit: every entry waiting
// when the previous write finishes goes into the next AppendJournal call,
// one transaction and one fsync for the lot. Under load the queue fills
// while a write is in flight, and a batch also waits until Linger has
// passed since the previous one began; so an idle server commits a lone
// answer at once and a busy one amortizes the fsync over many. A Then or
// Flush with no entry queued ahead of it does not wait for the linger.
//
// A batch holds many rooms, and one room's failure is that room's alone.
// Entries the store refuses by room (a stale epoch, a missing room) fail
// while the rest are written. If the whole batch fails for what one room's
// entries hold (RoomFault: a seq already taken, say), the committer writes
// it again split by room, halving the set of rooms until each failing room
// stands alone, so only the callbacks of those rooms get the error. A
// failure of the database itself fails every entry of the batch.
type Committer struct {
	// Static after construction.
	s        Store
	maxBatch int
	linger   time.Duration
	clock    clock.Clock
	log      zerolog.Logger
	queue    chan commitReq
	running  atomic.Bool

	// mu guards closed. Submit holds it shared while it enqueues; Run takes
	// it exclusively to close the door, after which no enqueue is in flight
	// and draining the queue once more reaches everything ever submitted.
	mu     sync.RWMutex
	closed bool

	batches, written atomic.Uint64 // AppendJournal calls and their entries
	metrics          *committerMetrics

	// Owned by Run: when the last batch began, and buffers reused between
	// batches to spare the allocations.
	lastStart time.Time
	reqs      []commitReq
	entries   []JournalEntry
}

// commitReq is one submission: an entry with its callback, or (flushed
// non-nil) a Flush marker that carries no entry.
type commitReq struct {
	e       JournalEntry
	done    func(error)
	flushed chan struct{}
	mark    bool // a Then marker: done, but no entry; e.Room set by ThenFor
}

// entry reports whether the request carries a journal entry.
func (r *commitReq) entry() bool { return r.flushed == nil && !r.mark }

// NewCommitter returns a Committer writing to s. Call Run to start it.
func NewCommitter(s Store, opts CommitterOptions) *Committer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	switch {
	case opts.Linger == 0:
		opts.Linger = DefaultLinger
	case opts.Linger < 0:
		opts.Linger = 0
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1 << 14
	}
	if opts.Backend == "" {
		opts.Backend = "unknown"
		if b, ok := s.(interface{ Backend() string }); ok {
			opts.Backend = b.Backend()
		}
	}
	c := &Committer{
		s:        s,
		maxBatch: opts.MaxBatch,
		linger:   opts.Linger,
		clock:    opts.Clock,
		log:      opts.Logger,
		queue:    make(chan commitReq, opts.QueueSize),
	}
	c.metrics = newCommitterMetrics(c, opts.Backend)
	return c
}

// Submit queues e to be written and calls done once it is durable (nil) or
// could not be written (the error of its room's entries, or of the whole
// batch if the database failed; the caller decides whether to retry or
// fail the room). If the committer has stopped, done(ErrClosed) is called
// before Submit returns. done may be nil.
//
// Submit does not wait for the write. It blocks only while the queue is
// full, which means the disk is far behind; that backpressure is meant to
// reach the room rather than grow memory without bound. Entries submitted
// before Run starts wait for it.
//
// done runs on the committer's goroutine, in submission order, and the next
// batch waits for it: it must be cheap and must not block (send to a
// buffered channel or a room's inbox with select/default, set a flag) and
// must not call Submit or Flush on the same Committer.
func (c *Committer) Submit(e JournalEntry, done func(error)) {
	if !c.enqueue(commitReq{e: e, done: done}) && done != nil {
		done(ErrClosed)
	}
}

// Then calls done once everything submitted before it is durable (with the
// first error of an entry before it in its batch, if any failed), in order
// with the Submit callbacks around it. Like Submit's, done runs on the
// committer's goroutine and must be cheap; if the committer has stopped,
// done gets ErrClosed before Then returns.
func (c *Committer) Then(done func(error)) {
	if !c.enqueue(commitReq{done: done, mark: true}) {
		done(ErrClosed)
	}
}

// ThenFor is Then for one room: done gets an error only if that room's
// entries in its batch failed (or the whole batch did), not for another
// room's failure.
func (c *Committer) ThenFor(room string, done func(error)) {
	if !c.enqueue(commitReq{e: JournalEntry{Room: room}, done: done, mark: true}) {
		done(ErrClosed)
	}
}

// enqueue puts r on the queue unless the committer is closed.
func (c *Committer) enqueue(r commitReq) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	c.queue <- r
	return true
}

// Stats reports how many batches the committer has written and how many
// entries they held, failed batches included: entries per batch is the
// group commit's gain.
func (c *Committer) Stats() (batches, entries uint64) {
	return c.batches.Load(), c.written.Load()
}

// Flush returns once everything submitted before it has been written and
// its done callback called; write failures go to those callbacks, not to
// Flush. It returns ErrClosed if the committer has stopped (by then its
// queue was written out anyway), or ctx's error if ctx ends first. Use it
// in tests and before closing the Store on shutdown.
func (c *Committer) Flush(ctx context.Context) error {
	flushed := make(chan struct{})
	if !c.enqueue(commitReq{flushed: flushed}) {
		return ErrClosed
	}
	select {
	case <-flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes batches until ctx ends, then writes everything already
// submitted, makes later submissions fail with ErrClosed, and returns nil.
// Writes use a context that ignores ctx's cancellation, so shutdown never
// aborts a batch halfway. Run may be called once.
//
// Runs in its own goroutine.
func (c *Committer) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("store: committer already running")
	}
	wctx := context.WithoutCancel(ctx)

	for {
		select {
		case r := <-c.queue:
			c.commit(wctx, r)
			continue
		case <-ctx.Done():
		}
		break
	}

	// Close the door. Taking mu may wait for a Submit blocked on a full
	// queue, so keep writing batches meanwhile.
	sealed := make(chan struct{})
	go func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(sealed)
	}()
	for {
		select {
		case r := <-c.queue:
			c.commit(wctx, r)
		case <-sealed:
			for {
				select {
				case r := <-c.queue:
					c.commit(wctx, r)
				default:
					return nil
				}
			}
		}
	}
}

// commit writes first and whatever else is queued right now, up to
// maxBatch entries, in one AppendJournal call, then reports to each
// submitter in order. Markers ahead of the first entry are settled first.
func (c *Committer) commit(ctx context.Context, first commitReq) {
	// A marker at the head of the queue follows only entries whose batches
	// are written and reported, so it is settled at once rather than after
	// the linger: a room's broadcast that recorded nothing new goes out
	// without waiting for the next batch.
	for !first.entry() {
		if first.flushed != nil {
			close(first.flushed)
		} else {
			first.done(nil)
		}
		select {
		case first = <-c.queue:
		default:
			return
		}
	}
	// Under load a batch begins as soon as the previous one ends, and a
	// small batch pays a whole transaction and fsync (a few hundred µs
	// of CPU here) for a handful of entries. Waiting out the linger lets
	// more of them arrive; after a quiet spell there is nothing to wait for.
	if wait := c.linger - c.clock.Now().Sub(c.lastStart); wait > 0 {
		t := c.clock.NewTimer(wait)
		<-t.C()
	}
	c.lastStart = c.clock.Now()
	reqs := append(c.reqs[:0], first)
	n := 1
fill:
	for n < c.maxBatch {
		select {
		case r := <-c.queue:
			reqs = append(reqs, r)
			if r.entry() {
				n++
			}
		default:
			break fill
		}
	}

	entries := c.entries[:0]
	for _, r := range reqs {
		if r.entry() {
			entries = append(entries, r.e)
		}
	}
	var out outcome
	if len(entries) > 0 {
		start := c.clock.Now()
		err := c.s.AppendJournal(ctx, entries)
		c.metrics.latency.Observe(c.clock.Now().Sub(start).Seconds())
		c.batches.Add(1)
		c.written.Add(uint64(len(entries)))
		if err != nil {
			out = c.settle(ctx, entries, err)
		}
	}
	var before error // the first error of an entry so far, for Then
	for i := range reqs {
		r := &reqs[i]
		switch {
		case r.flushed != nil:
			close(r.flushed)
		case out.ok():
			if r.done != nil {
				r.done(nil)
			}
		case r.mark && r.e.Room != "":
			r.done(out.ofRoom(r.e.Room))
		case r.mark:
			r.done(before)
		default:
			err := out.of(&r.e)
			if err != nil {
				before = cmp.Or(before, err)
				c.metrics.failed.Inc()
				if errors.Is(err, ErrStaleEpoch) {
					c.metrics.stale.Inc()
				}
			}
			if r.done != nil {
				r.done(err)
			}
		}
	}

	// Drop references to the entries' data before reusing the buffers.
	clear(reqs)
	clear(entries)
	c.reqs, c.entries = reqs[:0], entries[:0]
}

// outcome is how a batch's entries fared when AppendJournal failed: all of
// them with one error, or room by room.
type outcome struct {
	all     error
	refused []*RefusedError // what the store refused while writing the rest
	rooms   map[string]error
}

// ok reports whether every entry was written.
func (o *outcome) ok() bool { return o.all == nil && o.refused == nil && o.rooms == nil }

// of returns the entry's error, or nil if it was written.
func (o *outcome) of(e *JournalEntry) error {
	if o.all != nil {
		return o.all
	}
	if err := o.rooms[e.Room]; err != nil {
		return err
	}
	for _, r := range o.refused {
		if err := r.Of(e); err != nil {
			return err
		}
	}
	return nil
}

// ofRoom returns the first error among the room's entries.
func (o *outcome) ofRoom(room string) error {
	if o.all != nil {
		return o.all
	}
	if err := o.rooms[room]; err != nil {
		return err
	}
	for _, r := range o.refused {
		for _, f := range r.Refused {
			if f.Room == room {
				return f.Err
			}
		}
	}
	return nil
}

// settle works out which entries a failed AppendJournal call leaves
// unwritten, writing the others room by room when the failure was one
// room's fault. It runs only when a batch fails.
func (c *Committer) settle(ctx context.Context, entries []JournalEntry, err error) outcome {
	var out outcome
	var refused *RefusedError
	if errors.As(err, &refused) {
		c.log.Warn().Err(err).Int("entries", len(entries)).Msg("journal entries refused")
		out.refused = append(out.refused, refused)
		return out
	}
	byRoom := groupByRoom(entries)
	if len(byRoom) == 1 || !RoomFault(err) {
		c.log.Error().Err(err).Int("entries", len(entries)).Msg("journal batch failed")
		out.all = err
		return out
	}
	out.rooms = map[string]error{}
	c.split(ctx, byRoom, &out)
	c.log.Error().Err(err).Int("entries", len(entries)).Int("rooms", len(byRoom)).
		Int("failed_rooms", len(out.rooms)).Msg("journal batch failed; wrote the other rooms apart")
	return out
}

// split writes the halves of a failed set of rooms apart, recursing into a
// half that fails for a room's fault, until each failing room is alone.
func (c *Committer) split(ctx context.Context, rooms [][]JournalEntry, out *outcome) {
	mid := len(rooms) / 2
	for _, half := range [][][]JournalEntry{rooms[:mid], rooms[mid:]} {
		var batch []JournalEntry
		for _, r := range half {
			batch = append(batch, r...)
		}
		err := c.s.AppendJournal(ctx, batch)
		c.batches.Add(1)
		var refused *RefusedError
		switch {
		case err == nil:
		case errors.As(err, &refused):
			out.refused = append(out.refused, refused)
		case len(half) > 1 && RoomFault(err):
			c.split(ctx, half, out)
		default:
			for _, r := range half {
				out.rooms[r[0].Room] = err
			}
		}
	}
}

// groupByRoom returns the entries of each room, rooms in order of first
// appearance and each room's entries in their order.
func groupByRoom(entries []JournalEntry) [][]JournalEntry {
	index := map[string]int{}
	var rooms [][]JournalEntry
	for _, e := range entries {
		i, ok := index[e.Room]
		if !ok {
			i = len(rooms)
			index[e.Room] = i
			rooms = append(rooms, nil)
		}
		rooms[i] = append(rooms[i], e)
	}
	return rooms
}
