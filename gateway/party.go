package gateway

import (
	"errors"
	"strings"

	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// party serves party.create, party.join and party.leave. Every member is
// pushed party.state after a change; the one who asked gets it as the
// reply.
func (s *Gateway) party(c *conn, sess *session, in protocol.Inbound) error {
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players can form parties")
	}
	me := protocol.PlayerInfo{ID: sess.id, Name: sess.name, Rating: sess.getRating()}
	var pt *match.Party
	var err error
	switch in.Type {
	case "party.create":
		pt, err = s.parties.Create(me, sess)
	case "party.join":
		var d protocol.PartyJoin
		if err := decode(in, &d); err != nil {
			return err
		}
		code := strings.ToUpper(strings.TrimSpace(d.Code))
		if code == "" {
			return protocol.Errorf(protocol.CodeBadRequest, "code is required").Because("party_code_required", nil)
		}
		pt, err = s.parties.Join(code, me, sess)
	case "party.leave":
		old, ok := s.parties.Of(sess.id)
		if !ok {
			return protocol.Errorf(protocol.CodeNotFound, "not in a party").Because("party_none", nil)
		}
		s.partyGone(sess.id)
		s.send(c, "party.left", in.ID, protocol.PartyLeft{Party: old.ID})
		return nil
	}
	switch {
	case errors.Is(err, match.ErrInParty):
		return protocol.Errorf(protocol.CodeWrongPhase, "already in a party; leave it first").Because("party_already", nil)
	case errors.Is(err, match.ErrNoParty):
		return protocol.Errorf(protocol.CodeNotFound, "no party has that invite code").Because("party_code_unknown", nil)
	case errors.Is(err, match.ErrPartyFull):
		return protocol.Errorf(protocol.CodeWrongPhase, "the party is full (%d players)", match.PartyMax).Because("party_full", map[string]any{"max": match.PartyMax})
	case errors.Is(err, match.ErrPartyLocked):
		return protocol.Errorf(protocol.CodeWrongPhase, "the party is queued or playing; join when it is back").Because("party_busy", nil)
	case err != nil:
		return err
	}
	s.pushParty(pt, sess.id)
	s.send(c, "party.state", in.ID, pt.State())
	return nil
}

// pushParty sends party.state to every member but skip.
func (s *Gateway) pushParty(pt *match.Party, skip string) {
	st := pt.State()
	for _, m := range pt.Members {
		if m.Player.ID != skip && m.Sink != nil {
			m.Sink.Send(protocol.NewFrame(protocol.Encode("party.state", "", st)))
		}
	}
}

// partyGone takes a player out of its party (it left, or its connection
// is gone for good): a queued party leaves the queue, its other members
// told match.cancelled, and they are pushed the party's new state.
func (s *Gateway) partyGone(player string) {
	if pt, ok := s.parties.Leave(player); ok && pt != nil {
		s.pushParty(pt, "")
	}
}

// teamFind queues the asker's whole party for a team match. Only the
// leader may; the other members are pushed match.queued.
func (s *Gateway) teamFind(c *conn, sess *session, in protocol.Inbound, d protocol.MatchFind) error {
	t, pt, err := s.parties.Queue(sess.id, d.Category, d.Lang, func(id string) (float64, bool) {
		if m, ok := s.hub.get(id); ok {
			return m.getRating(), true
		}
		return 0, false
	})
	switch {
	case errors.Is(err, match.ErrNoParty):
		return protocol.Errorf(protocol.CodeBadRequest, "a team match needs a party: create or join one first").Because("party_none", nil)
	case errors.Is(err, match.ErrNotLeader):
		return protocol.Errorf(protocol.CodeForbidden, "only the party's leader can queue the party").Because("party_not_leader", nil)
	case errors.Is(err, match.ErrPartySize):
		return protocol.Errorf(protocol.CodeWrongPhase, "a party needs %d to %d players to queue", match.PartyMin, match.PartyMax).Because("party_size", map[string]any{"min": match.PartyMin, "max": match.PartyMax})
	case errors.Is(err, match.ErrBusy):
		return protocol.Errorf(protocol.CodeWrongPhase, "someone in the party is already queued or playing").Because("already_playing", nil)
	case err != nil:
		return err
	}
	q := protocol.MatchQueued{Ticket: t.ID, Mode: match.ModeTeam}
	for _, m := range pt.Members {
		if m.Player.ID != sess.id && m.Sink != nil {
			m.Sink.Send(protocol.NewFrame(protocol.Encode("match.queued", "", q)))
		}
	}
	s.send(c, "match.queued", in.ID, q)
	return nil
}
