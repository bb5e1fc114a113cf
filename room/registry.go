package room

import (
	"context"
	"errors"
	"sync"
)

// Registry is the directory of the rooms running on this node and the owner
// of their goroutines.
type Registry struct {
	wg    sync.WaitGroup
	sends sync.WaitGroup // the rooms' fan-out goroutines

	// mu guards the following fields.
	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool // Close was called: Start refuses, so wg.Add never races Wait
}

// ErrStopping is what Start returns once the registry is closing.
var ErrStopping = errors.New("room: the node is shutting down")

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{rooms: map[string]*Room{}} }

// Start registers r and runs it in its own goroutine until it finishes or
// ctx ends; then it leaves the registry. Once Close has been called it
// refuses with ErrStopping.
func (g *Registry) Start(ctx context.Context, r *Room) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrStopping
	}
	g.rooms[r.ID()] = r
	r.fan.wg = &g.sends
	// Under mu, as Close sets closed: no Add can follow Close, and so none
	// can race Wait.
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		_ = r.Run(ctx)
		g.mu.Lock()
		if g.rooms[r.ID()] == r {
			delete(g.rooms, r.ID())
		}
		g.mu.Unlock()
	}()
	return nil
}

// Close makes Start refuse from now on. Call it before Wait at shutdown.
func (g *Registry) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Get returns a running room. A room whose Run has returned is not
// running, even in the moment before its goroutine takes it out of the
// directory.
func (g *Registry) Get(id string) (*Room, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.rooms[id]
	if !ok || stopped(r) {
		return nil, false
	}
	return r, true
}

// All returns the running rooms.
func (g *Registry) All() []*Room {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*Room, 0, len(g.rooms))
	for _, r := range g.rooms {
		if !stopped(r) {
			out = append(out, r)
		}
	}
	return out
}

// Len is the number of running rooms.
func (g *Registry) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, r := range g.rooms {
		if !stopped(r) {
			n++
		}
	}
	return n
}

// stopped reports whether r's Run has returned.
func stopped(r *Room) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Wait blocks until every room goroutine has ended.
func (g *Registry) Wait() { g.wg.Wait() }

// WaitSent blocks until every broadcast the rooms' journal callbacks have
// released so far has been handed to its connections. Call it after Wait
// and a journal flush, before closing the connections.
func (g *Registry) WaitSent() { g.sends.Wait() }
