package match

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/protocol"
)

// Rematch errors.
var (
	ErrNoMatch     = errors.New("match: no such finished match")
	ErrNotFinished = errors.New("match: the match is still running")
	ErrNoOffer     = errors.New("match: no rematch offered")
)

// Why a rematch offer ended without a match.
const (
	ReasonDeclined = "declined"
	ReasonTimeout  = "timeout"
	ReasonLeft     = "left"
)

// pastMatch is a match room the matchmaker started, kept from its start
// until RematchKeep after its end so its players can ask for a rematch.
// Guarded by the matchmaker's mu.
type pastMatch struct {
	room, mode, category string
	players              []protocol.PlayerInfo // in seat order
	bots                 map[string]bool
	sinks                map[string]Sink // humans' sinks, by player id
	// nodes are the nodes holding the connections of a shared match's
	// players of other nodes, by player id (none for this node's).
	nodes   map[string]string
	lang    string    // the questions' language, as the tickets asked
	endedAt time.Time // zero while the match runs
	offer   *offer    // the pending rematch, if any
	done    bool      // a rematch was asked for already
}

// offer is a pending rematch: who asked, who accepted, until when.
type offer struct {
	accepted map[string]bool
	deadline time.Time
}

func (pm *pastMatch) isHuman(player string) bool {
	for _, p := range pm.players {
		if p.ID == player {
			return !pm.bots[player]
		}
	}
	return false
}

// remember records a started match. The caller holds mu.
func (m *Matchmaker) remember(room string, g group) {
	// A match is remembered for minutes after its end, thousands at once
	// on a busy node: bots and nodes, empty for a match of this node's
	// humans, are made only when needed (reading a nil map is fine).
	pm := &pastMatch{room: room, mode: g.mode, category: g.category,
		players: make([]protocol.PlayerInfo, 0, len(g.tickets)), sinks: make(map[string]Sink, len(g.tickets))}
	for _, t := range g.tickets {
		pm.lang = t.Lang
		pm.players = append(pm.players, t.Player)
		if t.Bot {
			if pm.bots == nil {
				pm.bots = map[string]bool{}
			}
			pm.bots[t.Player.ID] = true
			continue
		}
		if t.Sink != nil {
			pm.sinks[t.Player.ID] = t.Sink
		}
		if t.node != "" {
			// A player of another node: the offer and the rematch's
			// match.found reach it there directly.
			if pm.nodes == nil {
				pm.nodes = map[string]string{}
			}
			pm.nodes[t.Player.ID] = t.node
			if s := m.share; s != nil && s.PeerSink != nil {
				if sink := s.PeerSink(t.node, t.Player.ID); sink != nil {
					pm.sinks[t.Player.ID] = sink
				}
			}
		}
	}
	m.past[room] = pm
}

// Rematch asks the other players of room, a finished match of p's, for a
// rematch, or accepts the one they offered. Once every human player has
// accepted, the same players (bots included) start a new match of the same
// kind. If anyone declines, leaves or lets RematchWindow pass, those who
// accepted are put in the ordinary queue of that kind instead.
func (m *Matchmaker) Rematch(ctx context.Context, p protocol.PlayerInfo, room string, sink Sink) error {
	now := m.clock.Now()
	m.mu.Lock()
	pm := m.past[room]
	switch {
	case pm == nil || !pm.isHuman(p.ID):
		m.mu.Unlock()
		return ErrNoMatch
	case pm.endedAt.IsZero():
		m.mu.Unlock()
		return ErrNotFinished
	case pm.offer == nil && (pm.done || now.Sub(pm.endedAt) > m.cfg.RematchKeep):
		m.mu.Unlock()
		return ErrNoMatch
	}
	if _, ok := m.byPlayer[p.ID]; ok {
		m.mu.Unlock()
		return ErrBusy
	}
	if _, ok := m.playing[p.ID]; ok {
		m.mu.Unlock()
		return ErrBusy
	}
	if sink != nil {
		pm.sinks[p.ID] = sink
	}
	for i := range pm.players {
		if pm.players[i].ID == p.ID && p.Rating > 0 {
			pm.players[i].Rating = p.Rating // ratings moved with the last match
		}
	}
	if pm.offer == nil {
		pm.done = true
		pm.offer = &offer{accepted: map[string]bool{}, deadline: now.Add(m.cfg.RematchWindow)}
		msg := protocol.Encode("match.rematch_offer", "", protocol.RematchOffer{Room: room, Mode: pm.mode, From: p, ExpiresAt: pm.offer.deadline.UnixMilli()})
		for _, x := range pm.players {
			if pm.bots[x.ID] {
				continue
			}
			m.offerOf[x.ID] = pm
			if s := pm.sinks[x.ID]; x.ID != p.ID && s != nil {
				s.Send(protocol.NewFrame(msg))
			}
		}
	}
	pm.offer.accepted[p.ID] = true
	for _, x := range pm.players {
		if !pm.bots[x.ID] && !pm.offer.accepted[x.ID] {
			m.mu.Unlock()
			return nil // the others have yet to answer
		}
	}
	g := group{mode: pm.mode, category: pm.category}
	for _, x := range pm.players {
		t := &Ticket{ID: "t-" + uuid.NewString(), Player: x, Mode: pm.mode, Category: pm.category, Lang: pm.lang, At: now, Bot: pm.bots[x.ID], node: pm.nodes[x.ID]}
		if !t.Bot {
			t.Sink = pm.sinks[x.ID]
			m.playing[x.ID] = "" // reserved until the room id is known
		}
		g.tickets = append(g.tickets, t)
	}
	m.closeOffer(pm)
	m.mu.Unlock()
	m.start(ctx, g)
	return nil
}

// DeclineRematch turns down the rematch offered for room.
func (m *Matchmaker) DeclineRematch(player, room string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	pm, ok := m.offerOf[player]
	if !ok || pm.room != room {
		return ErrNoOffer
	}
	delete(pm.offer.accepted, player) // a requester who withdraws is not queued either
	m.failOffer(pm, ReasonDeclined)
	return nil
}

// closeOffer forgets a finished offer. The caller holds mu.
func (m *Matchmaker) closeOffer(pm *pastMatch) {
	for _, x := range pm.players {
		if m.offerOf[x.ID] == pm {
			delete(m.offerOf, x.ID)
		}
	}
	pm.offer = nil
}

// failOffer ends a rematch offer without a match: every human player is told
// why, and those who had accepted join the ordinary queue of the same kind.
// The caller holds mu.
func (m *Matchmaker) failOffer(pm *pastMatch, reason string) {
	accepted := pm.offer.accepted
	m.closeOffer(pm)
	now := m.clock.Now()
	cancelled := protocol.Encode("match.rematch_cancelled", "", protocol.RematchCancelled{Room: pm.room, Reason: reason})
	for _, x := range pm.players {
		s := pm.sinks[x.ID]
		if pm.bots[x.ID] || s == nil {
			continue
		}
		s.Send(protocol.NewFrame(cancelled))
		if !accepted[x.ID] {
			continue
		}
		if node := pm.nodes[x.ID]; node != "" {
			// Queued by its own node, where its connection is.
			go m.requeueOn(node, PoolTicket{Player: x, Mode: pm.mode, Category: pm.category, Lang: pm.lang})
			continue
		}
		if _, ok := m.byPlayer[x.ID]; ok {
			continue
		}
		if _, ok := m.playing[x.ID]; ok {
			continue
		}
		t := &Ticket{ID: "t-" + uuid.NewString(), Player: x, Mode: pm.mode, Category: pm.category, Lang: pm.lang, At: now, Sink: s}
		key := t.queue()
		m.queues[key] = append(m.queues[key], t)
		m.byPlayer[x.ID] = t
		s.Send(protocol.NewFrame(protocol.Encode("match.queued", "", protocol.MatchQueued{Ticket: t.ID, Mode: t.Mode})))
	}
}

// expireRematches ends the offers whose window has passed and forgets
// matches too old to be asked for a rematch.
func (m *Matchmaker) expireRematches(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, pm := range m.past {
		if pm.offer != nil && !now.Before(pm.offer.deadline) {
			m.failOffer(pm, ReasonTimeout)
		}
		if pm.offer == nil && !pm.endedAt.IsZero() && now.Sub(pm.endedAt) > m.cfg.RematchKeep {
			delete(m.past, id)
		}
	}
}

// RematchKey is the key of the claim that names the node remembering a
// shared match, where its players' nodes send their rematch requests.
func RematchKey(room string) string { return "rematch:" + room }

// requeueOn asks node to queue its player for a new match of the kind of
// q, as a rematch offer that failed queues those who accepted.
func (m *Matchmaker) requeueOn(node string, q PoolTicket) {
	msg, _ := json.Marshal(relayMsg{Player: q.Player.ID, Requeue: &q})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.share.Relay.Publish(ctx, relayChannel(node), msg); err != nil {
		m.log.Warn().Err(err).Str("node", node).Str("player", q.Player.ID).Msg("ask a player's node to queue it after a rematch offer")
	}
}

// requeued queues a player of this node whose rematch offer, on another
// node, failed after it accepted.
func (m *Matchmaker) requeued(q PoolTicket) {
	sink := m.share.PeerSink("", q.Player.ID)
	if sink == nil {
		return // gone from this node meanwhile
	}
	t, err := m.FindLang(q.Player, q.Mode, q.Category, q.Lang, sink)
	if err != nil {
		return // queued or playing already
	}
	sink.Send(protocol.NewFrame(protocol.Encode("match.queued", "", protocol.MatchQueued{Ticket: t.ID, Mode: t.Mode})))
}
