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
	seats                []pastSeat // in seat order
	lang                 string     // the questions' language, as the tickets asked
	endedAt              time.Time  // zero while the match runs
	offer                *offer     // the pending rematch, if any
	done                 bool       // a rematch was asked for already
}

// pastSeat is one player of a past match. Thousands of past matches are
// kept at once on a busy node, so a seat is a slice element, not an entry
// in a map per field.
type pastSeat struct {
	player protocol.PlayerInfo
	sink   Sink // a human's, if it has one
	// node holds the connection of a shared match's player of another
	// node ("" for this node's players).
	node string
	bot  bool
}

// offer is a pending rematch: who asked, who accepted, until when.
type offer struct {
	accepted map[string]bool
	deadline time.Time
}

func (pm *pastMatch) isHuman(player string) bool {
	x := pm.seat(player)
	return x != nil && !x.bot
}

// seat returns player's seat, or nil if player did not play.
func (pm *pastMatch) seat(player string) *pastSeat {
	for i := range pm.seats {
		if pm.seats[i].player.ID == player {
			return &pm.seats[i]
		}
	}
	return nil
}

// remember records a started match. The caller holds mu.
func (m *Matchmaker) remember(room string, g group) {
	pm := &pastMatch{room: room, mode: g.mode, category: g.category, seats: make([]pastSeat, len(g.tickets))}
	for i, t := range g.tickets {
		pm.lang = t.Lang
		x := &pm.seats[i]
		x.player, x.bot = t.Player, t.Bot
		if t.Bot {
			continue
		}
		x.sink = t.Sink
		if t.node != "" {
			// A player of another node: the offer and the rematch's
			// match.found reach it there directly.
			x.node = t.node
			if s := m.share; s != nil && s.PeerSink != nil {
				if sink := s.PeerSink(t.node, t.Player.ID); sink != nil {
					x.sink = sink
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
	me := pm.seat(p.ID)
	if sink != nil {
		me.sink = sink
	}
	if p.Rating > 0 {
		me.player.Rating = p.Rating // ratings moved with the last match
	}
	if pm.offer == nil {
		pm.done = true
		pm.offer = &offer{accepted: map[string]bool{}, deadline: now.Add(m.cfg.RematchWindow)}
		msg := protocol.Encode("match.rematch_offer", "", protocol.RematchOffer{Room: room, Mode: pm.mode, From: p, ExpiresAt: pm.offer.deadline.UnixMilli()})
		for _, x := range pm.seats {
			if x.bot {
				continue
			}
			m.offerOf[x.player.ID] = pm
			if x.player.ID != p.ID && x.sink != nil {
				x.sink.Send(protocol.NewFrame(msg))
			}
		}
	}
	pm.offer.accepted[p.ID] = true
	for _, x := range pm.seats {
		if !x.bot && !pm.offer.accepted[x.player.ID] {
			m.mu.Unlock()
			return nil // the others have yet to answer
		}
	}
	g := group{mode: pm.mode, category: pm.category}
	for _, x := range pm.seats {
		t := &Ticket{ID: "t-" + uuid.NewString(), Player: x.player, Mode: pm.mode, Category: pm.category, Lang: pm.lang, At: now, Bot: x.bot, node: x.node}
		if !t.Bot {
			t.Sink = x.sink
			m.playing[x.player.ID] = "" // reserved until the room id is known
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
	for _, x := range pm.seats {
		if m.offerOf[x.player.ID] == pm {
			delete(m.offerOf, x.player.ID)
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
	for _, seat := range pm.seats {
		x, s := seat.player, seat.sink
		if seat.bot || s == nil {
			continue
		}
		s.Send(protocol.NewFrame(cancelled))
		if !accepted[x.ID] {
			continue
		}
		if seat.node != "" {
			// Queued by its own node, where its connection is.
			go m.requeueOn(seat.node, PoolTicket{Player: x, Mode: pm.mode, Category: pm.category, Lang: pm.lang})
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
