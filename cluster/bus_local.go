package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// Local is the in-process Bus of a single node.
type Local struct {
	clock clock.Clock // Static after construction.

	// mu guards the following fields.
	mu     sync.Mutex
	subs   map[string]map[int]func([]byte)
	nextID int
	claims map[string]claim
	closed bool
}

type claim struct {
	owner   string
	expires time.Time
}

var _ Bus = (*Local)(nil)

// NewLocal makes an in-process bus on clk (the wall clock if nil).
func NewLocal(clk clock.Clock) *Local {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Local{clock: clk, subs: map[string]map[int]func([]byte){}, claims: map[string]claim{}}
}

// Publish calls the channel's subscribers on the caller's goroutine.
func (l *Local) Publish(_ context.Context, channel string, msg []byte) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	fns := make([]func([]byte), 0, len(l.subs[channel]))
	for id := 0; id < l.nextID; id++ {
		if fn, ok := l.subs[channel][id]; ok {
			fns = append(fns, fn)
		}
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(msg)
	}
	return nil
}

// Subscribe registers fn on channel.
func (l *Local) Subscribe(_ context.Context, channel string, fn func([]byte)) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	id := l.nextID
	l.nextID++
	if l.subs[channel] == nil {
		l.subs[channel] = map[int]func([]byte){}
	}
	l.subs[channel][id] = fn
	return func() {
		l.mu.Lock()
		delete(l.subs[channel], id)
		if len(l.subs[channel]) == 0 {
			delete(l.subs, channel)
		}
		l.mu.Unlock()
	}, nil
}

// Claim implements Bus.
func (l *Local) Claim(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false, ErrClosed
	}
	now := l.clock.Now()
	if c, ok := l.claims[key]; ok && c.owner != owner && now.Before(c.expires) {
		return false, nil
	}
	l.claims[key] = claim{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

// Owner implements Bus.
func (l *Local) Owner(_ context.Context, key string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", ErrClosed
	}
	c, ok := l.claims[key]
	if !ok || !l.clock.Now().Before(c.expires) {
		delete(l.claims, key)
		return "", nil
	}
	return c.owner, nil
}

// Release implements Bus.
func (l *Local) Release(_ context.Context, key, owner string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if c, ok := l.claims[key]; ok && c.owner == owner {
		delete(l.claims, key)
	}
	return nil
}

// Close stops the bus; later calls fail with ErrClosed.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.subs = map[string]map[int]func([]byte){}
	return nil
}
