package match

import (
	"context"
	"encoding/json"
	"sort"
	"time"
)

// A shared matchmaker's team queue. A party queued on this node (its home)
// is in the shared pool as one ticket, its leader's, carrying every member
// and the node holding each member's connection. Every node pairs parties
// from the whole pool, as it does players, and takes a pair atomically, so
// no party is in two matches. The node that took a pair starts the match:
// it tells each member match.found on the member's own node (PeerSink),
// and the parties' home nodes, over the relay, that their party left the
// queue.

// teamOut is a pooled party of this node that left its queue: taken by a
// match on another node, or cancelled. Kept for TakenHold, so that what
// the taking node says to its members still reaches them.
type teamOut struct {
	e  *teamEntry
	at time.Time
}

// member returns the ticket of player in e, or nil.
func (e *teamEntry) member(player string) *Ticket {
	for _, t := range e.tickets {
		if t.Player.ID == player {
			return t
		}
	}
	return nil
}

// unpoolTeam takes this node's party e, just dropped from its queue, out of
// the pool. The caller holds mu; the returned func, called after
// unlocking, does the pool I/O.
func (m *Matchmaker) unpoolTeam(e *teamEntry) func() {
	t := e.tickets[0]
	if m.share == nil || e.home != "" || !t.pooled {
		return func() {}
	}
	m.teamsOut[t.ID] = teamOut{e: e, at: m.clock.Now()}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.share.Pool.Remove(ctx, t.ID); err != nil {
			m.log.Warn().Err(err).Str("player", t.Player.ID).Msg("remove a cancelled party from the shared pool; it lapses")
		}
	}
}

// pooledTeam is the queued party of a team ticket read from the pool: this
// node's own entry, or one made for another node's party; nil if it is not
// queued here any more or does not make sense. The caller holds mu.
func (m *Matchmaker) pooledTeam(pt PoolTicket) *teamEntry {
	s := m.share
	if pt.Node == s.Node {
		t := m.byPlayer[pt.Player.ID]
		if t == nil || t.ID != pt.ID || t.team == nil {
			return nil // cancelled here; its removal is on its way
		}
		return t.team
	}
	if len(pt.Team) < PartyMin || len(pt.Team) > PartyMax || pt.Node == "" {
		return nil
	}
	e := &teamEntry{at: pt.At, rating: pt.Player.Rating, home: pt.Node,
		key: ModeTeam + "/" + itoa(len(pt.Team)) + "/" + pt.Category + "/" + pt.Lang}
	for _, tm := range pt.Team {
		node := tm.Node
		if node == s.Node {
			node = ""
		}
		t := &Ticket{ID: pt.ID, Player: tm.Player, Mode: ModeTeam, Category: pt.Category, Lang: pt.Lang, At: pt.At, seq: pt.Seq, node: node, team: e}
		if s.PeerSink != nil {
			if sink := s.PeerSink(node, tm.Player.ID); sink != nil {
				t.Sink = sink
			}
		}
		if t.Sink == nil {
			t.Sink = &remoteSink{m: m, node: pt.Node, ticket: pt.ID, player: tm.Player.ID}
		}
		e.tickets = append(e.tickets, t)
	}
	return e
}

// decideSharedTeams pairs the parties of the pool, queue by queue, and
// picks this node's parties that waited MaxWait (a node times out only its
// own). It changes no queue: the pairs are taken from the pool first (see
// takeTeams). The caller holds mu.
func (m *Matchmaker) decideSharedTeams(qs map[string][]*teamEntry, now time.Time) ([]group, []*teamEntry) {
	keys := make([]string, 0, len(qs))
	for k, q := range qs {
		keys = append(keys, k)
		sort.Slice(q, func(i, j int) bool {
			if !q[i].at.Equal(q[j].at) {
				return q[i].at.Before(q[j].at)
			}
			return q[i].tickets[0].seq < q[j].tickets[0].seq
		})
	}
	sort.Strings(keys)
	var groups []group
	var expired []*teamEntry
	for _, key := range keys {
		q := qs[key]
		taken := make([]bool, len(q))
		groups = append(groups, m.pairTeams(q, now, taken)...)
		for i, e := range q {
			if !taken[i] && e.home == "" && now.Sub(e.at) >= m.cfg.MaxWait {
				expired = append(expired, e)
			}
		}
	}
	return groups, expired
}

// takeTeams takes the parties of g from the pool. If it wins them, this
// node's parties leave its queue (one cancelled meanwhile is matched all
// the same, as a player is), the other parties' home nodes are told, and
// the members on this node are reserved as starting.
func (m *Matchmaker) takeTeams(ctx context.Context, g group) bool {
	var ids []string
	var entries []*teamEntry
	for _, t := range g.tickets {
		if len(entries) == 0 || entries[len(entries)-1] != t.team {
			entries = append(entries, t.team)
			ids = append(ids, t.ID)
		}
	}
	ok, err := m.share.Pool.Take(ctx, ids, m.share.TakenHold)
	if err != nil {
		m.log.Warn().Err(err).Msg("take a team match from the shared pool; tried again")
	}
	if !ok || err != nil {
		return false
	}
	m.mu.Lock()
	for _, e := range entries {
		if e.home != "" {
			continue
		}
		if !m.unlinkTeam(e) {
			for _, t := range e.tickets {
				t.gone = true
			}
		}
	}
	if len(entries) > 1 {
		m.reserve([]group{g})
	}
	m.mu.Unlock()
	for _, e := range entries {
		if e.home == "" {
			continue
		}
		lead := e.tickets[0]
		msg, _ := json.Marshal(relayMsg{Ticket: lead.ID, Player: lead.Player.ID})
		if err := m.share.Relay.Publish(ctx, relayChannel(e.home), msg); err != nil {
			// The party stays in its home's queue until its members
			// cancel; its ticket stays taken in the pool meanwhile.
			m.log.Warn().Err(err).Str("node", e.home).Msg("tell a party's node it was matched")
		}
	}
	return true
}
