package web

import (
	"context"
	"errors"
	"strings"

	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// teamRoom makes a team quick match's room score its two parties: each
// party is a team, and a team's score is the sum of its members' scores
// (parties are of one size, so the sum ranks as the mean would). Timing and
// scoring are the quick match's own (race).
func teamRoom(cfg *room.Config) {
	if cfg.Kind != room.KindTeam {
		return
	}
	cfg.TeamMode = "sum"
	cfg.Teams = []string{match.TeamA, match.TeamB}
}

// party serves party.create, party.join and party.leave. Every member is
// pushed party.state after a change; the one who asked gets it as the
// reply.
func (s *Server) party(c *conn, sess *session, in protocol.Inbound) error {
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
func (s *Server) pushParty(pt *match.Party, skip string) {
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
func (s *Server) partyGone(player string) {
	if pt, ok := s.parties.Leave(player); ok && pt != nil {
		s.pushParty(pt, "")
	}
}

// teamFind queues the asker's whole party for a team match. Only the
// leader may; the other members are pushed match.queued.
func (s *Server) teamFind(c *conn, sess *session, in protocol.Inbound, d protocol.MatchFind) error {
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

// finishTeamMatch settles a team quick match as a quick match is settled,
// every player ranked as its team: ratings (Elo, teammates level with
// each other) and points by the team's rank, paid under the "team" source.
func (s *Server) finishTeamMatch(ctx context.Context, res *room.Result, result store.Result) map[string]int64 {
	rank := map[string]int{}
	for _, t := range res.Teams {
		rank[t.Team] = t.Rank
	}
	byTeam := *res
	byTeam.Standings = make([]protocol.Standing, len(res.Standings))
	for i, st := range res.Standings {
		if r, ok := rank[st.Team]; ok {
			st.Rank = r
		} else {
			st.Rank = len(res.Teams) + 1 // no team: ranked last
		}
		byTeam.Standings[i] = st
	}
	return s.finishMatch(ctx, &byTeam, result)
}
