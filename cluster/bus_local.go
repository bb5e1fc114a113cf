package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// LocalHub is the shared state behind in-process buses: what Redis is to a
// cluster. A single node uses one hub through one Local; tests make several
// Locals on one hub to stand for several nodes.
type LocalHub struct {
	clock clock.Clock // Static after construction.

	// mu guards the following fields.
	mu     sync.Mutex
	subs   map[string]map[int]func([]byte)
	nextID int
	claims map[string]claim
	leases map[string]Lease // Live or lapsed; released ones are deleted.
	epochs map[string]uint64
}

type claim struct {
	owner   string
	expires time.Time
}

// NewLocalHub makes a hub on clk (the wall clock if nil).
func NewLocalHub(clk clock.Clock) *LocalHub {
	if clk == nil {
		clk = clock.Real{}
	}
	return &LocalHub{clock: clk, subs: map[string]map[int]func([]byte){}, claims: map[string]claim{},
		leases: map[string]Lease{}, epochs: map[string]uint64{}}
}

// Node returns a new node handle onto the hub.
func (h *LocalHub) Node() *Local { return &Local{hub: h, mine: map[int]string{}} }

// Local is one node's handle onto an in-process hub.
type Local struct {
	hub *LocalHub // Static after construction.

	// mu guards the following fields.
	mu      sync.Mutex
	mine    map[int]string // This handle's subscriptions: id to channel.
	closed  bool
	book    leaseBook
	metrics *Metrics
}

var (
	_ Bus    = (*Local)(nil)
	_ Leases = (*Local)(nil)
)

// NewLocal makes the in-process bus of a single node on clk (the wall clock
// if nil): one handle onto a hub of its own.
func NewLocal(clk clock.Clock) *Local { return NewLocalHub(clk).Node() }

// SetMetrics makes the bus record into m from now on.
func (l *Local) SetMetrics(m *Metrics) {
	l.mu.Lock()
	l.metrics = m
	l.mu.Unlock()
}

func (l *Local) open() (*Metrics, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	return l.metrics, nil
}

// Publish calls the channel's subscribers, on every handle of the hub, on
// the caller's goroutine.
func (l *Local) Publish(_ context.Context, channel string, msg []byte) error {
	m, err := l.open()
	if err != nil {
		return err
	}
	start := time.Now()
	h := l.hub
	h.mu.Lock()
	fns := make([]func([]byte), 0, len(h.subs[channel]))
	for id := 0; id < h.nextID && len(fns) < len(h.subs[channel]); id++ {
		if fn, ok := h.subs[channel][id]; ok {
			fns = append(fns, fn)
		}
	}
	h.mu.Unlock()
	for _, fn := range fns {
		fn(msg)
	}
	m.publishedOn(channel, time.Since(start))
	return nil
}

// Subscribe registers fn on channel.
func (l *Local) Subscribe(_ context.Context, channel string, fn func([]byte)) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	m := l.metrics
	h := l.hub
	h.mu.Lock()
	id := h.nextID
	h.nextID++
	if h.subs[channel] == nil {
		h.subs[channel] = map[int]func([]byte){}
	}
	h.subs[channel][id] = func(msg []byte) { m.receivedOn(channel); fn(msg) }
	h.mu.Unlock()
	l.mine[id] = channel
	return func() {
		l.mu.Lock()
		delete(l.mine, id)
		l.mu.Unlock()
		h.unsubscribe(channel, id)
	}, nil
}

func (h *LocalHub) unsubscribe(channel string, id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[channel], id)
	if len(h.subs[channel]) == 0 {
		delete(h.subs, channel)
	}
}

// Claim implements Bus.
func (l *Local) Claim(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if _, err := l.open(); err != nil {
		return false, err
	}
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	if c, ok := h.claims[key]; ok && c.owner != owner && now.Before(c.expires) {
		return false, nil
	}
	h.claims[key] = claim{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

// ClaimAll implements Bus.
func (l *Local) ClaimAll(ctx context.Context, claims []ClaimOf, ttl time.Duration) ([]bool, error) {
	held := make([]bool, len(claims))
	for i, c := range claims {
		ok, err := l.Claim(ctx, c.Key, c.Owner, ttl)
		if err != nil {
			return nil, err
		}
		held[i] = ok
	}
	return held, nil
}

// Owner implements Bus.
func (l *Local) Owner(_ context.Context, key string) (string, error) {
	if _, err := l.open(); err != nil {
		return "", err
	}
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.claims[key]
	if !ok || !h.clock.Now().Before(c.expires) {
		delete(h.claims, key)
		return "", nil
	}
	return c.owner, nil
}

// Release implements Bus.
func (l *Local) Release(_ context.Context, key, owner string) error {
	if _, err := l.open(); err != nil {
		return err
	}
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.claims[key]; ok && c.owner == owner {
		delete(h.claims, key)
	}
	return nil
}

// TakeLease implements Leases.
func (l *Local) TakeLease(ctx context.Context, key, holder string, ttl time.Duration) (Lease, bool, error) {
	return l.TakeLeaseAbove(ctx, key, holder, ttl, 0)
}

// TakeLeaseAbove implements Leases.
func (l *Local) TakeLeaseAbove(_ context.Context, key, holder string, ttl time.Duration, floor uint64) (Lease, bool, error) {
	m, err := l.open()
	if err != nil {
		return Lease{}, false, err
	}
	h := l.hub
	h.mu.Lock()
	now := h.clock.Now()
	cur, held := h.leases[key]
	if held && now.Before(cur.Expires) {
		if cur.Holder != holder {
			h.mu.Unlock()
			return cur, false, nil
		}
		cur.Expires = now.Add(ttl)
		h.leases[key] = cur
		h.mu.Unlock()
		l.hold(m, cur)
		return cur, true, nil
	}
	h.epochs[key] = max(h.epochs[key], floor) + 1
	le := Lease{Key: key, Holder: holder, Epoch: h.epochs[key], Expires: now.Add(ttl)}
	h.leases[key] = le
	h.mu.Unlock()
	if held && cur.Holder != holder {
		m.tookOver()
	}
	l.hold(m, le)
	return le, true, nil
}

func (l *Local) hold(m *Metrics, le Lease) {
	l.mu.Lock()
	l.book.hold(m, le.Key, le.Epoch)
	l.mu.Unlock()
}

func (l *Local) drop(m *Metrics, le Lease) {
	l.mu.Lock()
	l.book.drop(m, le.Key, le.Epoch)
	l.mu.Unlock()
}

// ForgetLease implements LeaseForgetter.
func (l *Local) ForgetLease(le Lease) {
	l.mu.Lock()
	l.book.drop(l.metrics, le.Key, le.Epoch)
	l.mu.Unlock()
}

// RenewLease implements Leases.
func (l *Local) RenewLease(_ context.Context, le Lease, ttl time.Duration) (Lease, error) {
	m, err := l.open()
	if err != nil {
		return Lease{}, err
	}
	h := l.hub
	h.mu.Lock()
	now := h.clock.Now()
	cur, ok := h.leases[le.Key]
	if !ok || cur.Holder != le.Holder || cur.Epoch != le.Epoch || !now.Before(cur.Expires) {
		h.mu.Unlock()
		l.drop(m, le)
		return Lease{}, ErrLeaseLost
	}
	cur.Expires = now.Add(ttl)
	h.leases[le.Key] = cur
	h.mu.Unlock()
	return cur, nil
}

// ReleaseLease implements Leases.
func (l *Local) ReleaseLease(_ context.Context, le Lease) error {
	m, err := l.open()
	if err != nil {
		return err
	}
	h := l.hub
	h.mu.Lock()
	if cur, ok := h.leases[le.Key]; ok && cur.Holder == le.Holder && cur.Epoch == le.Epoch {
		delete(h.leases, le.Key)
	}
	h.mu.Unlock()
	l.drop(m, le)
	return nil
}

// LapsedLeases implements Leases.
func (l *Local) LapsedLeases(context.Context) ([]Lease, error) {
	if _, err := l.open(); err != nil {
		return nil, err
	}
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	var out []Lease
	for _, le := range h.leases {
		if !now.Before(le.Expires) {
			out = append(out, le)
		}
	}
	return out, nil
}

// Close stops this handle: its subscriptions end and later calls fail with
// ErrClosed. Other handles on the hub go on.
func (l *Local) Close() error {
	l.mu.Lock()
	l.closed = true
	mine := l.mine
	l.mine = map[int]string{}
	l.mu.Unlock()
	for id, ch := range mine {
		l.hub.unsubscribe(ch, id)
	}
	return nil
}
