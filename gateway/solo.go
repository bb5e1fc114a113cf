package gateway

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

// The solo formats (see docs/architecture.md): daily practice, five
// questions once a day per member, and the challenge, questions one after
// another until the first miss. Each runs as a room of one player, like
// every other contest: journaled, resumable and timed at the edge.
const (
	// DailyQuestions is the length of a daily practice.
	DailyQuestions = 5
	// ChallengeQuestions is the most a challenge run can ask.
	ChallengeQuestions = 50
)

// SoloStart asks for a solo room (solo.start).
type SoloStart struct {
	Kind string `json:"kind"` // "daily" or "challenge"
	Lang string `json:"lang,omitempty"`
}

// SoloStarted answers solo.start; the room's state follows as for any room.
type SoloStarted struct {
	Room    string `json:"room"`
	Kind    string `json:"kind"`
	Day     string `json:"day,omitempty"`
	Resumed bool   `json:"resumed,omitempty"`
}

// dailyRoomID names a member's daily practice on day: one room per member
// and day, which is what makes it once a day.
func dailyRoomID(player, day string) string { return "daily-" + day + "-" + player }

// DailyRoomID is dailyRoomID for the HTTP API, which reads whether a
// member's practice of the day is done from the room's row.
func DailyRoomID(player, day string) string { return dailyRoomID(player, day) }

func (s *Gateway) soloStart(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players can play solo formats")
	}
	var d SoloStart
	if err := decode(in, &d); err != nil {
		return err
	}
	switch d.Lang {
	case "":
		d.Lang = "zh"
	case "zh", "en":
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "lang must be zh or en").Because("bad_lang", nil)
	}
	now := s.clock.Now()
	var cfg room.Config
	day := ""
	switch d.Kind {
	case room.KindDaily:
		day = s.host.Day(now)
		id := dailyRoomID(sess.id, day)
		if r, ok := s.host.Rooms().Get(id); ok {
			if done, err := s.soloRejoin(ctx, c, sess, in.ID, r, day); done {
				return err
			}
		}
		qs, err := s.host.Draw([]string{sess.id}, "", "", d.Lang, 0, DailyQuestions)
		if err != nil {
			return soloDrawErr(err)
		}
		cfg = room.Config{ID: id, Kind: room.KindDaily, Questions: qs, Scoring: room.Accuracy}
	case room.KindChallenge:
		// One run at a time: asking again while one runs rejoins it.
		for _, id := range sess.roomIDs() {
			if r, ok := s.host.Rooms().Get(id); ok && strings.HasPrefix(id, "challenge-") {
				if done, err := s.soloRejoin(ctx, c, sess, in.ID, r, ""); done {
					return err
				}
			}
		}
		var qs []questionbank.Question
		var err error
		for n := ChallengeQuestions; n > 0; n-- {
			qs, err = s.host.Draw([]string{sess.id}, "", "", d.Lang, 0, n)
			if !errors.Is(err, questionbank.ErrNotEnough) {
				break
			}
		}
		if err != nil {
			return soloDrawErr(err)
		}
		cfg = room.Config{ID: "challenge-" + uuid.NewString(), Kind: room.KindChallenge, Questions: qs, Scoring: room.Accuracy, EndOnMiss: true}
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "kind must be daily or challenge").Because("solo_kind_unknown", nil)
	}
	cfg.TimeLimit, cfg.RevealFor, cfg.Countdown = s.cfg.MatchTimeLimit, s.cfg.RevealFor, s.cfg.MatchCountdown
	cfg.AutoStart, cfg.AutoAdvance = true, true
	players := []protocol.PlayerInfo{{ID: sess.id, Name: sess.name, Rating: sess.getRating()}}
	// The reply goes first, so the client knows the room before its state.
	_, err := s.host.OpenRoom(s.runCtx, cfg, func(r *room.Room) {
		r.Seat(players, []room.Peer{sess})
		sess.addRoom(cfg.ID)
		s.send(c, "solo.started", in.ID, SoloStarted{Room: cfg.ID, Kind: cfg.Kind, Day: day})
	})
	if errors.Is(err, store.ErrExists) {
		if r, ok := s.host.Rooms().Get(cfg.ID); ok { // started a moment ago from another device
			if done, err := s.soloRejoin(ctx, c, sess, in.ID, r, day); done {
				return err
			}
		}
		return protocol.Errorf(protocol.CodeWrongPhase, "daily practice is done for today; come back tomorrow").
			Because("daily_done", map[string]any{"day": day})
	}
	if err != nil {
		return err
	}
	sess.probe()
	s.marks.MarkPlayed(sess.id)
	return nil
}

// soloRejoin takes a player back to a solo room still running: today's
// daily practice or the challenge run under way.
// It reports false when the room has just finished (it may still be
// listed for a moment): the caller goes on as if it were not there.
func (s *Gateway) soloRejoin(ctx context.Context, c *conn, sess *session, re string, r *room.Room, day string) (bool, error) {
	rep, err := s.rt.do(ctx, &roomhost.Command{Op: roomhost.OpAttach, Room: r.ID(), Who: sess.id}, sess)
	if err != nil {
		if errors.Is(err, room.ErrClosed) {
			return false, nil
		}
		return true, err
	}
	sess.addRoom(r.ID())
	s.send(c, "solo.started", re, SoloStarted{Room: r.ID(), Kind: rep.Kind, Day: day, Resumed: true})
	return true, nil
}

func soloDrawErr(err error) error {
	if errors.Is(err, questionbank.ErrNotEnough) {
		return protocol.Errorf(protocol.CodeUnavailable, "not enough questions in that language").Because("not_enough_questions", nil)
	}
	return err
}
