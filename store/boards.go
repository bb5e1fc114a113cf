package store

import (
	"context"
	"sync"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// BoardCache keeps what a units board is built from, the tree under a
// root and every unit's rollups for a period, for a short time, so that
// screens and pages asking for the same board many times a second read the
// database once per freshness interval instead of once per request. An
// answer is at most Fresh old by the cache's clock (counted from when its
// read began), whatever wrote since, on this node or another: every node
// holds its own cache with the same bound. Callers that ask while a read
// of the same board is under way wait for it rather than read again.
type BoardCache struct {
	st    Store
	clk   clock.Clock
	fresh time.Duration

	mu     sync.Mutex
	boards map[boardKey]*board
	reads  int64 // database reads made, for tests
}

type boardKey struct{ root, period string }

type board struct {
	ready chan struct{} // closed when the read is done
	at    time.Time     // when the read began
	orgs  []Org
	pts   []UnitPoints
	err   error
}

// maxBoards bounds the boards kept; past it, expired ones are dropped.
const maxBoards = 256

// NewBoardCache returns a cache over st whose answers are at most fresh
// old by clk.
func NewBoardCache(st Store, clk clock.Clock, fresh time.Duration) *BoardCache {
	return &BoardCache{st: st, clk: clk, fresh: fresh, boards: map[boardKey]*board{}}
}

// Units returns st.Orgs(root) and st.UnitPoints(period), as read at most
// the cache's freshness ago. The slices are shared with other callers and
// must not be changed.
func (c *BoardCache) Units(ctx context.Context, root, period string) ([]Org, []UnitPoints, error) {
	key := boardKey{root, period}
	now := c.clk.Now()
	c.mu.Lock()
	b := c.boards[key]
	if b != nil && b.done() && now.Sub(b.at) >= c.fresh {
		b = nil // expired
	}
	if b == nil {
		b = &board{ready: make(chan struct{}), at: now}
		c.put(key, b, now)
		c.reads++
		c.mu.Unlock()
		b.orgs, b.pts, b.err = c.read(ctx, root, period)
		if b.err != nil {
			c.mu.Lock()
			if c.boards[key] == b {
				delete(c.boards, key) // the next caller reads again
			}
			c.mu.Unlock()
		}
		close(b.ready)
		return b.orgs, b.pts, b.err
	}
	c.mu.Unlock()
	select {
	case <-b.ready:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	if b.err != nil {
		// The read this caller waited for failed, perhaps only because its
		// own caller went away: read for this one.
		return c.read(ctx, root, period)
	}
	return b.orgs, b.pts, nil
}

func (c *BoardCache) read(ctx context.Context, root, period string) ([]Org, []UnitPoints, error) {
	orgs, err := c.st.Orgs(ctx, root)
	if err != nil {
		return nil, nil, err
	}
	pts, err := c.st.UnitPoints(ctx, period)
	if err != nil {
		return nil, nil, err
	}
	return orgs, pts, nil
}

// put stores b under key, first dropping expired boards if there are many
// (a caller may name any date, so the keys are not bounded). c.mu is held.
func (c *BoardCache) put(key boardKey, b *board, now time.Time) {
	if len(c.boards) >= maxBoards {
		for k, old := range c.boards {
			if old.done() && now.Sub(old.at) >= c.fresh {
				delete(c.boards, k)
			}
		}
	}
	if len(c.boards) >= maxBoards {
		// As many distinct boards within one interval: keep only the reads
		// under way.
		for k, old := range c.boards {
			if old.done() {
				delete(c.boards, k)
			}
		}
	}
	c.boards[key] = b
}

// Reads counts the database reads the cache has made.
func (c *BoardCache) Reads() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func (b *board) done() bool {
	select {
	case <-b.ready:
		return true
	default:
		return false
	}
}
