package room

import (
	"context"
	"sync"
)

// Registry is the directory of the rooms running on this node and the owner
// of their goroutines.
type Registry struct {
	wg    sync.WaitGroup
	sends sync.WaitGroup // the rooms' fan-out goroutines

	// mu guards the following fields.
	mu    sync.Mutex
	rooms map[string]*Room
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{rooms: map[string]*Room{}} }

// Start registers r and runs it in its own goroutine until it finishes or
// ctx ends; then it leaves the registry.
func (g *Registry) Start(ctx context.Context, r *Room) {
	g.mu.Lock()
	g.rooms[r.ID()] = r
	g.mu.Unlock()
	r.fan.wg = &g.sends
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		_ = r.Run(ctx)
		g.mu.Lock()
		if g.rooms[r.ID()] == r {
			delete(g.rooms, r.ID())
		}
		g.mu.Unlock()
	}()
}

// Get returns a running room.
func (g *Registry) Get(id string) (*Room, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.rooms[id]
	return r, ok
}

// All returns the running rooms.
func (g *Registry) All() []*Room {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*Room, 0, len(g.rooms))
	for _, r := range g.rooms {
		out = append(out, r)
	}
	return out
}

// Len is the number of running rooms.
func (g *Registry) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rooms)
}

// Wait blocks until every room goroutine has ended.
func (g *Registry) Wait() { g.wg.Wait() }

// WaitSent blocks until every broadcast the rooms' journal callbacks have
// released so far has been handed to its connections. Call it after Wait
// and a journal flush, before closing the connections.
func (g *Registry) WaitSent() { g.sends.Wait() }
