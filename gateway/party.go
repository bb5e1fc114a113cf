package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// party serves party.create, party.join and party.leave. Every member is
// pushed party.state after a change; the one who asked gets it as the
// reply. In a cluster a party may live on another node (see partyNet).
func (s *Gateway) party(c *conn, sess *session, in protocol.Inbound) error {
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players can form parties")
	}
	ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
	defer cancel()
	me := protocol.PlayerInfo{ID: sess.id, Name: sess.name, Rating: sess.getRating()}
	var pt *match.Party
	var st *protocol.PartyState // the state of a party elsewhere
	var err error
	switch in.Type {
	case "party.create":
		if err = s.notAway(ctx, me.ID); err == nil {
			pt, err = s.createParty(ctx, me, sess)
		}
	case "party.join":
		var d protocol.PartyJoin
		if err := decode(in, &d); err != nil {
			return err
		}
		code := strings.ToUpper(strings.TrimSpace(d.Code))
		if code == "" {
			return protocol.Errorf(protocol.CodeBadRequest, "code is required").Because("party_code_required", nil)
		}
		if err = s.notAway(ctx, me.ID); err != nil {
			break
		}
		pt, err = s.parties.Join(code, me, sess)
		if s.pnet != nil && err == nil {
			s.pnet.joined(me.ID, code)
		}
		if s.pnet != nil && errors.Is(err, match.ErrNoParty) {
			st, err = s.pnet.join(ctx, code, me) // a party of another node
		}
	case "party.leave":
		old, ok := s.parties.Of(sess.id)
		if !ok {
			if s.pnet == nil {
				return protocol.Errorf(protocol.CodeNotFound, "not in a party").Because("party_none", nil)
			}
			id, err := s.pnet.leave(ctx, sess.id)
			if errors.Is(err, match.ErrNoParty) {
				return protocol.Errorf(protocol.CodeNotFound, "not in a party").Because("party_none", nil)
			}
			if err != nil {
				return err
			}
			s.send(c, "party.left", in.ID, protocol.PartyLeft{Party: id})
			return nil
		}
		s.leaveParty(sess.id)
		s.send(c, "party.left", in.ID, protocol.PartyLeft{Party: old.ID})
		return nil
	}
	if err := partyError(err); err != nil {
		return err
	}
	if st != nil {
		s.send(c, "party.state", in.ID, *st)
		return nil
	}
	s.pushParty(pt, sess.id)
	s.send(c, "party.state", in.ID, pt.State())
	return nil
}

// partyError maps a party error to the one a client sees.
func partyError(err error) error {
	switch {
	case errors.Is(err, match.ErrInParty):
		return protocol.Errorf(protocol.CodeWrongPhase, "already in a party; leave it first").Because("party_already", nil)
	case errors.Is(err, match.ErrNoParty):
		return protocol.Errorf(protocol.CodeNotFound, "no party has that invite code").Because("party_code_unknown", nil)
	case errors.Is(err, match.ErrPartyFull):
		return protocol.Errorf(protocol.CodeWrongPhase, "the party is full (%d players)", match.PartyMax).Because("party_full", map[string]any{"max": match.PartyMax})
	case errors.Is(err, match.ErrPartyLocked):
		return protocol.Errorf(protocol.CodeWrongPhase, "the party is queued or playing; join when it is back").Because("party_busy", nil)
	}
	return err
}

// notAway fails with ErrInParty if player is in a party of another node.
func (s *Gateway) notAway(ctx context.Context, player string) error {
	if s.pnet == nil {
		return nil
	}
	home, err := s.pnet.elsewhere(ctx, player)
	if err != nil {
		return err
	}
	if home != "" {
		return match.ErrInParty
	}
	return nil
}

// createParty makes a party here led by me; in a cluster its invite code
// is first reserved across the nodes.
func (s *Gateway) createParty(ctx context.Context, me protocol.PlayerInfo, sess *session) (*match.Party, error) {
	if s.pnet == nil {
		return s.parties.Create(me, sess)
	}
	for {
		code, err := s.pnet.reserve(ctx)
		if err != nil {
			return nil, err
		}
		pt, err := s.parties.CreateCode(me, sess, code)
		switch {
		case err == nil:
			s.pnet.joined(me.ID, code)
			return pt, nil
		case !errors.Is(err, match.ErrCodeTaken):
			s.pnet.release(code)
			return nil, err
		}
	}
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

// partyGone takes a player out of its party (its connection here is gone
// for good), here or on the party's node. In a cluster a member whose
// connection came back on another node stays.
func (s *Gateway) partyGone(player string) {
	if s.pnet == nil {
		s.leaveParty(player)
		return
	}
	if node, ok := s.parties.Where(player); ok {
		if node == "" {
			s.leaveParty(player)
		}
		return
	}
	go s.pnet.gone(player) // until the party's home answers
}

// leaveParty takes a player out of its party on this node, and reports
// whether it was in one: a queued party leaves the queue, its other
// members told match.cancelled, and they are pushed the party's new state.
func (s *Gateway) leaveParty(player string) bool {
	var code string
	if s.pnet != nil {
		if old, ok := s.parties.Of(player); ok {
			code = old.Code
		}
	}
	pt, ok := s.parties.Leave(player)
	if ok && code != "" {
		s.pnet.left(player, code)
	}
	switch {
	case ok && pt != nil:
		s.pushParty(pt, "")
	case ok && code != "":
		s.pnet.release(code) // dissolved
	}
	return ok
}

// localRating is the rating of a player connected here.
func (s *Gateway) localRating(id string) (float64, bool) {
	if m, ok := s.hub.get(id); ok {
		return m.getRating(), true
	}
	return 0, false
}

// queueParty queues player's party of this node for a team match and
// pushes match.queued to its members but player.
func (s *Gateway) queueParty(player, category, lang string, rating func(string) (float64, bool)) (*match.Ticket, error) {
	if err := s.membersIdle(player); err != nil {
		return nil, err
	}
	t, pt, err := s.parties.Queue(player, category, lang, rating)
	if err != nil {
		return nil, err
	}
	q := protocol.MatchQueued{Ticket: t.ID, Mode: match.ModeTeam}
	for _, m := range pt.Members {
		if m.Player.ID != player && m.Sink != nil {
			m.Sink.Send(protocol.NewFrame(protocol.Encode("match.queued", "", q)))
		}
	}
	return t, nil
}

// membersIdle fails with ErrBusy if a member of player's party here (when
// player leads it) is queued or playing on the other node holding its
// connection: as on a single node, a party does not queue while a member
// is queued alone. Members here are checked as the party is queued. A
// member's node that does not answer in dirTimeout (a dead node's member
// may resume elsewhere) counts as idle: the claims taken when a match
// starts still keep a player out of two rooms.
func (s *Gateway) membersIdle(player string) error {
	if s.pnet == nil {
		return nil
	}
	pt, ok := s.parties.Of(player)
	if !ok || pt.Members[0].Player.ID != player {
		return nil // Queue refuses it
	}
	ctx, cancel := context.WithTimeout(s.runCtx, dirTimeout)
	defer cancel()
	busy := make(chan bool, len(pt.Members))
	asked := 0
	for _, m := range pt.Members {
		if m.Node == "" || m.Node == s.pnet.node {
			continue
		}
		asked++
		go func() {
			err := s.pnet.idle(ctx, m.Node, m.Player.ID)
			if err != nil && !errors.Is(err, match.ErrBusy) {
				s.log.Warn().Err(err).Str("player", m.Player.ID).Str("node", m.Node).Msg("ask a party member's node whether it is queued; counted as not")
			}
			busy <- errors.Is(err, match.ErrBusy)
		}()
	}
	refused := false
	for ; asked > 0; asked-- {
		refused = <-busy || refused
	}
	if refused {
		return match.ErrBusy
	}
	return nil
}

// memberBusy reports whether player, a member of a party here, is queued
// (alone or with its party) or playing, on any node.
func (s *Gateway) memberBusy(player string) bool {
	if _, ok := s.matcher.Queued(player); ok {
		return true
	}
	if _, ok := s.matcher.Playing(player); ok {
		return true
	}
	return s.pnet != nil && s.pnet.playing(player)
}

// partyIdle fails with ErrBusy if player's party is queued or playing, or
// player is playing, wherever the party lives: a member does not queue
// alone meanwhile. On a single node, and for a party here, the matchmaker
// sees it itself, except a match another node started.
func (s *Gateway) partyIdle(ctx context.Context, player string) error {
	if s.pnet == nil {
		return nil
	}
	if _, ok := s.parties.Of(player); ok {
		if s.pnet.playing(player) {
			return match.ErrBusy
		}
		return nil
	}
	// A Bus or a home that cannot say (a home of a version without this
	// question does not answer it) counts as idle: the claims taken when a
	// match starts still keep a player out of two rooms.
	home, err := s.pnet.elsewhere(ctx, player)
	if err != nil || home == "" {
		return nil
	}
	err = s.pnet.busy(ctx, player, home)
	if err != nil && !errors.Is(err, match.ErrBusy) {
		s.log.Warn().Err(err).Str("player", player).Str("node", home).Msg("ask a party's node whether it is busy; counted as not")
		return nil
	}
	return err
}

// teamFind queues the asker's whole party for a team match. Only the
// leader may; the other members are pushed match.queued.
func (s *Gateway) teamFind(c *conn, sess *session, in protocol.Inbound, d protocol.MatchFind) error {
	var id string
	t, err := s.queueParty(sess.id, d.Category, d.Lang, s.localRating)
	if err == nil {
		id = t.ID
	} else if s.pnet != nil && errors.Is(err, match.ErrNoParty) {
		ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
		defer cancel()
		me := protocol.PlayerInfo{ID: sess.id, Name: sess.name, Rating: sess.getRating()}
		id, err = s.pnet.queue(ctx, me, d.Category, d.Lang)
	}
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
	s.send(c, "match.queued", in.ID, protocol.MatchQueued{Ticket: id, Mode: match.ModeTeam})
	return nil
}

// cancelTeam cancels the team ticket of a player of this node whose party
// is on another node.
func (s *Gateway) cancelTeam(player, ticket string) error {
	if s.pnet == nil {
		return match.ErrNoTicket
	}
	ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
	defer cancel()
	return s.pnet.cancel(ctx, player, ticket)
}
