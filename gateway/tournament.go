package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

// TournamentCheckIn asks to check in for a round (tournament.checkin).
type TournamentCheckIn struct {
	Tournament string `json:"tournament"`
	Round      int    `json:"round"`
}

// TournamentAttempt asks for a qualifier attempt (tournament.attempt).
type TournamentAttempt struct {
	Tournament string `json:"tournament"`
	Lang       string `json:"lang,omitempty"`
}

// AttemptStarted answers tournament.attempt; the room's state follows.
type AttemptStarted struct {
	Tournament string    `json:"tournament"`
	Room       string    `json:"room"`
	Attempt    int       `json:"attempt"`
	Of         int       `json:"of"`
	EndsBy     time.Time `json:"ends_by"` // the latest the paper can end
	Resumed    bool      `json:"resumed,omitempty"`
}

// TournamentNext asks for "my next match" (tournament.next).
type TournamentNext struct {
	Tournament string `json:"tournament"`
}

// tournamentMessage serves tournament.checkin, tournament.attempt and
// tournament.next.
func (s *Gateway) tournamentMessage(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	svc := s.host.Tournaments()
	if svc == nil {
		return protocol.Errorf(protocol.CodeUnavailable, "this server's store does not keep tournaments")
	}
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players take part in tournaments")
	}
	now := s.clock.Now()
	switch in.Type {
	case "tournament.checkin":
		var d TournamentCheckIn
		if err := decode(in, &d); err != nil {
			return err
		}
		if err := roomhost.TournamentError(svc.CheckIn(ctx, d.Tournament, d.Round, sess.id, now)); err != nil {
			return err
		}
		s.send(c, "tournament.checked_in", in.ID, d)
		s.host.PokeTournaments()
		return nil
	case "tournament.next":
		var d TournamentNext
		if err := decode(in, &d); err != nil {
			return err
		}
		v, err := svc.Next(ctx, d.Tournament, sess.id, now)
		if err != nil {
			return roomhost.TournamentError(err)
		}
		s.send(c, "tournament.next", in.ID, v)
		return nil
	case "tournament.attempt":
		var d TournamentAttempt
		if err := decode(in, &d); err != nil {
			return err
		}
		return s.startAttempt(ctx, c, sess, in.ID, d)
	}
	return protocol.Errorf(protocol.CodeBadRequest, "unknown message type %q", trimType(in.Type))
}

// startAttempt opens the member's next qualifier attempt, or takes them
// back to the one under way: one at a time, up to the paper's limit,
// inside the window (an attempt must be able to finish before it closes),
// for the chosen units only if the qualifier names some.
func (s *Gateway) startAttempt(ctx context.Context, c *conn, sess *session, re string, d TournamentAttempt) error {
	svc := s.host.Tournaments()
	cfg, err := svc.Config(ctx, d.Tournament)
	if err != nil {
		return roomhost.TournamentError(err)
	}
	q, now := cfg.Qualifier, s.clock.Now()
	done, err := svc.AttemptsOf(ctx, d.Tournament, sess.id)
	if err != nil {
		return roomhost.TournamentError(err)
	}
	id := roomhost.AttemptRoomID(d.Tournament, done+1, sess.id)
	started := func(resumed bool, ends time.Time) {
		s.send(c, "tournament.attempt_started", re, AttemptStarted{Tournament: d.Tournament, Room: id, Attempt: done + 1, Of: q.Attempts, EndsBy: ends, Resumed: resumed})
	}
	recording := protocol.Errorf(protocol.CodeUnavailable, "your last attempt is being recorded; ask again in a moment").Because("attempt_recording", nil)
	if r, ok := s.host.Rooms().Get(id); ok {
		if err := r.Attach(ctx, sess.id, sess); err == nil {
			sess.addRoom(id)
			started(true, now.Add(q.Length()))
			return nil
		} else if !errors.Is(err, room.ErrClosed) {
			return err
		}
		return recording
	}
	switch {
	case done >= q.Attempts:
		return protocol.Errorf(protocol.CodeWrongPhase, "you have made all %d attempts", q.Attempts).Because("attempts_used", nil)
	case now.Before(q.Opens):
		return protocol.Errorf(protocol.CodeWrongPhase, "the qualifier opens at %s", q.Opens.Format(time.RFC3339)).Because("qualifier_not_open", nil)
	case now.Add(q.Length()).After(q.Closes):
		return protocol.Errorf(protocol.CodeWrongPhase, "the qualifier closes at %s: too late to start a %d-minute paper", q.Closes.Format(time.RFC3339), q.Minutes).Because("qualifier_closed", nil)
	}
	if len(q.Units) > 0 {
		if err := s.inUnits(ctx, sess.id, q.Units); err != nil {
			return err
		}
	}
	switch d.Lang {
	case "", "zh", "en":
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "lang must be zh or en").Because("bad_lang", nil)
	}
	qs, err := s.host.DrawPool(cfg.Pool, []string{sess.id}, d.Lang, q.Questions)
	if err != nil {
		return err
	}
	rcfg := room.Config{
		ID: id, Kind: roomhost.KindQualifier, Title: "qualifier", Questions: qs, TimeLimit: q.PerQuestion(), Scoring: room.Accuracy,
		AutoStart: true, AutoAdvance: true, RevealFor: s.cfg.RevealFor, Countdown: s.cfg.MatchCountdown,
	}
	players := []protocol.PlayerInfo{{ID: sess.id, Name: sess.name}}
	// The reply goes first, so the client knows the room before its state.
	_, err = s.host.OpenRoom(s.runCtx, rcfg, func(r *room.Room) {
		r.Seat(players, []room.Peer{sess})
		sess.addRoom(id)
		started(false, now.Add(q.Length()))
	})
	if errors.Is(err, store.ErrExists) {
		return recording
	}
	if err != nil {
		return err
	}
	sess.probe()
	s.marks.MarkPlayed(sess.id)
	return nil
}

// inUnits refuses a player who is not a member of one of units or of a
// unit under one of them.
func (s *Gateway) inUnits(ctx context.Context, player string, units []string) error {
	refused := protocol.Errorf(protocol.CodeForbidden, "this qualifier is open to members of %s only", strings.Join(units, ", ")).Because("qualifier_units", nil)
	m, err := s.store.MemberByPlayer(ctx, player)
	if errors.Is(err, store.ErrNotFound) {
		return refused
	}
	if err != nil {
		return StoreUnavailable(err)
	}
	o, err := s.store.Org(ctx, m.Unit)
	if err != nil {
		return StoreUnavailable(err)
	}
	for _, u := range units {
		if m.Unit == u || strings.Contains("/"+o.Path, "/"+u+"/") {
			return nil
		}
	}
	return refused
}
