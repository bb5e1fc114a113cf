package match

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
)

// ErrTaken is returned by Pool.Add for a ticket that a match has taken.
var ErrTaken = errors.New("match: ticket already taken by a match")

// PoolTicket is a queued ticket as every node of a cluster sees it: what
// matchmaking needs, and the node that holds the player's connection.
type PoolTicket struct {
	ID       string              `json:"id"`
	Player   protocol.PlayerInfo `json:"player"`
	Mode     string              `json:"mode"`
	Category string              `json:"category,omitempty"`
	Lang     string              `json:"lang,omitempty"`
	// At is when the player joined the queue, on the joining node's clock.
	At time.Time `json:"at"`
	// Seq orders tickets that joined at the same instant: the pool gives
	// each ticket a number when it is first added, growing with arrival.
	Seq  int64  `json:"seq"`
	Node string `json:"node"`
	// Team is set on a queued party's one ticket (Mode team): its members,
	// each with the node holding its connection. Player is then the
	// leader, with the members' mean rating; Node the party's own node.
	Team []TeamMember `json:"team,omitempty"`
}

// TeamMember is a queued party's member as the pool holds it.
type TeamMember struct {
	Player protocol.PlayerInfo `json:"player"`
	Node   string              `json:"node"`
}

// TicketState is what Pool.Renew found of a ticket.
type TicketState int

// Ticket states.
const (
	// TicketGone: the ticket is not in the pool (it expired, or was
	// removed); its node may add it again.
	TicketGone TicketState = iota
	// TicketLive: queued, and now renewed.
	TicketLive
	// TicketTaken: a match took it; the node that took it tells the
	// ticket's node.
	TicketTaken
)

// Pool is the quick-match queue shared by every node of a cluster: tickets
// of the ordinary queues (duel and four) from all nodes, each kept only as
// long as its node renews it, and taken into matches atomically, so that no
// ticket is ever in two matches. A single node needs none: its Matchmaker
// keeps its queues in memory. LocalPool is the in-process Pool (tests, and
// several matchmakers in one process); package clusterstate has the Redis
// one; both pass the suite in match/pooltest.
type Pool interface {
	// Add queues t until ttl passes without a Renew. t.Seq 0 asks for a
	// fresh number; a ticket put back keeps its own. It returns the
	// ticket's number. ErrBusy if the player has another live ticket;
	// ErrTaken if a match holds t.
	Add(ctx context.Context, t PoolTicket, ttl time.Duration) (int64, error)
	// Renew extends the live tickets among ids by ttl and reports each id's
	// state, in order.
	Renew(ctx context.Context, ids []string, ttl time.Duration) ([]TicketState, error)
	// Remove takes a ticket out of the pool, live or taken. Removing an
	// unknown ticket is not an error.
	Remove(ctx context.Context, id string) error
	// Snapshot returns the live tickets, in no particular order.
	Snapshot(ctx context.Context) ([]PoolTicket, error)
	// Take moves every ticket of ids from live to taken, where it stays for
	// hold, and reports true; if any of them is not live it changes nothing
	// and reports false.
	Take(ctx context.Context, ids []string, hold time.Duration) (bool, error)
	// Return puts taken tickets back in the queue (a match that could not
	// start) with their number, live for ttl. Tickets no longer taken, or
	// whose player queued again meanwhile, are dropped.
	Return(ctx context.Context, ids []string, ttl time.Duration) error
}

// LocalPool is the in-process Pool, on an injected clock.
type LocalPool struct {
	clock clock.Clock // Static after construction.

	// mu guards the following fields.
	mu      sync.Mutex
	live    map[string]*pooled
	taken   map[string]*pooled
	players map[string]string // player -> live ticket id
	seq     int64
}

type pooled struct {
	t       PoolTicket
	expires time.Time
}

var _ Pool = (*LocalPool)(nil)

// NewLocalPool makes an empty pool on clk (the wall clock if nil).
func NewLocalPool(clk clock.Clock) *LocalPool {
	if clk == nil {
		clk = clock.Real{}
	}
	return &LocalPool{clock: clk, live: map[string]*pooled{}, taken: map[string]*pooled{}, players: map[string]string{}}
}

// purge drops the tickets whose time ran out. The caller holds mu.
func (p *LocalPool) purge(now time.Time) {
	for id, x := range p.live {
		if !now.Before(x.expires) {
			p.dropLive(id)
		}
	}
	for id, x := range p.taken {
		if !now.Before(x.expires) {
			delete(p.taken, id)
		}
	}
}

// dropLive removes a live ticket. The caller holds mu.
func (p *LocalPool) dropLive(id string) {
	x, ok := p.live[id]
	if !ok {
		return
	}
	delete(p.live, id)
	if p.players[x.t.Player.ID] == id {
		delete(p.players, x.t.Player.ID)
	}
}

// Add implements Pool.
func (p *LocalPool) Add(_ context.Context, t PoolTicket, ttl time.Duration) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.purge(now)
	if _, ok := p.taken[t.ID]; ok {
		return 0, ErrTaken
	}
	if other, ok := p.players[t.Player.ID]; ok && other != t.ID {
		return 0, ErrBusy
	}
	if x, ok := p.live[t.ID]; ok {
		x.expires = now.Add(ttl)
		return x.t.Seq, nil
	}
	if t.Seq == 0 {
		p.seq++
		t.Seq = p.seq
	}
	p.live[t.ID] = &pooled{t: t, expires: now.Add(ttl)}
	p.players[t.Player.ID] = t.ID
	return t.Seq, nil
}

// Renew implements Pool.
func (p *LocalPool) Renew(_ context.Context, ids []string, ttl time.Duration) ([]TicketState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.purge(now)
	out := make([]TicketState, len(ids))
	for i, id := range ids {
		if x, ok := p.live[id]; ok {
			x.expires = now.Add(ttl)
			out[i] = TicketLive
		} else if _, ok := p.taken[id]; ok {
			out[i] = TicketTaken
		}
	}
	return out, nil
}

// Remove implements Pool.
func (p *LocalPool) Remove(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLive(id)
	delete(p.taken, id)
	return nil
}

// Snapshot implements Pool.
func (p *LocalPool) Snapshot(context.Context) ([]PoolTicket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.purge(p.clock.Now())
	out := make([]PoolTicket, 0, len(p.live))
	for _, x := range p.live {
		out = append(out, x.t)
	}
	return out, nil
}

// Take implements Pool.
func (p *LocalPool) Take(_ context.Context, ids []string, hold time.Duration) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.purge(now)
	for i, id := range ids {
		if _, ok := p.live[id]; !ok || slices.Contains(ids[:i], id) {
			return false, nil
		}
	}
	for _, id := range ids {
		x := p.live[id]
		p.dropLive(id)
		x.expires = now.Add(hold)
		p.taken[id] = x
	}
	return true, nil
}

// Return implements Pool.
func (p *LocalPool) Return(_ context.Context, ids []string, ttl time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.purge(now)
	for _, id := range ids {
		x, ok := p.taken[id]
		if !ok {
			continue
		}
		delete(p.taken, id)
		if _, busy := p.players[x.t.Player.ID]; busy {
			continue
		}
		x.expires = now.Add(ttl)
		p.live[id] = x
		p.players[x.t.Player.ID] = id
	}
	return nil
}
