package web

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// ExpiryConfig says when stored guests and tokens are removed. A zero field
// takes its default; a negative one turns that rule off.
type ExpiryConfig struct {
	// Guests: a player that never joined a room (an event or a match), has
	// no game on record and holds no player token is removed this long
	// after it was made, with its tokens. Default 24 h.
	Guests time.Duration
	// UnusedTokens: a player or resume token neither made nor presented for
	// this long is removed. Default 30 days. (A resume token also stops
	// working 24 h after it was issued; it is removed at the next sweep.)
	UnusedTokens time.Duration
	// EventTokens: an event's host and screen tokens are removed this long
	// after the event ended. Default 7 days.
	EventTokens time.Duration
	// Every is how often the sweep runs. Default 1 h.
	Every time.Duration
}

func (c *ExpiryConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Guests, 24*time.Hour)
	def(&c.UnusedTokens, 30*24*time.Hour)
	def(&c.EventTokens, 7*24*time.Hour)
	if c.Every <= 0 {
		c.Every = time.Hour
	}
}

// markFlush is how often the marks (players who joined a room, tokens
// presented) are written: batched, so that a thousand joins are one write.
const markFlush = time.Second

// maxMarks bounds the marks held while the store is failing.
const maxMarks = 100000

// expirer removes guests who never played and tokens nobody uses, on a
// schedule, and keeps the marks that tell them apart from the ones in use.
type expirer struct {
	cfg   ExpiryConfig // Static after construction.
	store store.Store
	clock clock.Clock
	log   zerolog.Logger

	// mu guards the following fields: marks not written yet.
	mu     sync.Mutex
	played map[string]struct{}
	used   map[string]struct{}
}

func newExpirer(cfg ExpiryConfig, st store.Store, clk clock.Clock, log zerolog.Logger) *expirer {
	cfg.defaults()
	return &expirer{cfg: cfg, store: st, clock: clk, log: log, played: map[string]struct{}{}, used: map[string]struct{}{}}
}

// MarkPlayed notes that a player joined a room.
func (e *expirer) MarkPlayed(id string) {
	e.mu.Lock()
	if len(e.played) < maxMarks {
		e.played[id] = struct{}{}
	}
	e.mu.Unlock()
}

// MarkUsed notes that the token with this hash was presented.
func (e *expirer) MarkUsed(hash string) {
	e.mu.Lock()
	if len(e.used) < maxMarks {
		e.used[hash] = struct{}{}
	}
	e.mu.Unlock()
}

// flush writes the marks. Those that fail to be written are kept for the
// next flush.
func (e *expirer) flush(ctx context.Context) error {
	e.mu.Lock()
	played, used := e.played, e.used
	e.played, e.used = map[string]struct{}{}, map[string]struct{}{}
	e.mu.Unlock()
	now := e.clock.Now()
	err := e.store.MarkPlayed(ctx, now, keys(played))
	if err != nil {
		e.keep(played, e.MarkPlayed)
	}
	if uerr := e.store.MarkTokensUsed(ctx, now, keys(used)); uerr != nil {
		e.keep(used, e.MarkUsed)
		if err == nil {
			err = uerr
		}
	}
	return err
}

func (e *expirer) keep(m map[string]struct{}, mark func(string)) {
	for k := range m {
		mark(k)
	}
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// sweep writes the marks and removes what has expired by the clock's now.
func (e *expirer) sweep(ctx context.Context) (store.Expired, error) {
	if err := e.flush(ctx); err != nil {
		// Without the marks a player who just joined could look like a
		// guest who never played: sweep another time.
		return store.Expired{}, err
	}
	now := e.clock.Now()
	before := func(d time.Duration) time.Time {
		if d < 0 {
			return time.Time{}
		}
		return now.Add(-d)
	}
	return e.store.Expire(ctx, store.ExpireRules{
		Now:               now,
		GuestsBefore:      before(e.cfg.Guests),
		UnusedBefore:      before(e.cfg.UnusedTokens),
		EventsEndedBefore: before(e.cfg.EventTokens),
	})
}

// Run flushes the marks every second and sweeps every cfg.Every until ctx
// ends, then writes the last marks. Runs in its own goroutine.
func (e *expirer) Run(ctx context.Context) error {
	flushT := e.clock.NewTicker(markFlush)
	defer flushT.Stop()
	sweepT := e.clock.NewTicker(e.cfg.Every)
	defer sweepT.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.flush(fctx); err != nil {
				e.log.Error().Err(err).Msg("expiry: writing marks at shutdown")
			}
			return nil
		case <-flushT.C():
			if err := e.flush(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn().Err(err).Msg("expiry: writing marks")
			}
		case <-sweepT.C():
			n, err := e.sweep(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				e.log.Warn().Err(err).Msg("expiry: sweep")
			case n.Players > 0 || n.Tokens > 0:
				e.log.Info().Int64("players", n.Players).Int64("tokens", n.Tokens).Msg("expiry: removed guests and tokens")
			}
		}
	}
}

// Sweep removes the guests and tokens that have expired now, as the
// server's schedule would; for operators' tools and tests.
func (s *Server) Sweep(ctx context.Context) (store.Expired, error) { return s.expiry.sweep(ctx) }
