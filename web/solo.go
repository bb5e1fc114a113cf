package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
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

func (s *Server) soloStart(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
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
		day = s.day(now)
		id := dailyRoomID(sess.id, day)
		if r, ok := s.rooms.Get(id); ok {
			if done, err := s.soloRejoin(ctx, c, sess, in.ID, r, day); done {
				return err
			}
		}
		qs, err := s.drawFor([]string{sess.id}, "", "", d.Lang, 0, DailyQuestions)
		if err != nil {
			return soloDrawErr(err)
		}
		cfg = room.Config{ID: id, Kind: room.KindDaily, Questions: qs, Scoring: room.Accuracy}
	case room.KindChallenge:
		// One run at a time: asking again while one runs rejoins it.
		for _, id := range sess.roomIDs() {
			if r, ok := s.rooms.Get(id); ok && strings.HasPrefix(id, "challenge-") {
				if done, err := s.soloRejoin(ctx, c, sess, in.ID, r, ""); done {
					return err
				}
			}
		}
		var qs []questionbank.Question
		var err error
		for n := ChallengeQuestions; n > 0; n-- {
			qs, err = s.drawFor([]string{sess.id}, "", "", d.Lang, 0, n)
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
	_, err := s.openRoom(s.runCtx, cfg, func(r *room.Room) {
		r.Seat(players, []room.Peer{sess})
		sess.addRoom(cfg.ID)
		s.send(c, "solo.started", in.ID, SoloStarted{Room: cfg.ID, Kind: cfg.Kind, Day: day})
	})
	if errors.Is(err, store.ErrExists) {
		if r, ok := s.rooms.Get(cfg.ID); ok { // started a moment ago from another device
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
	s.expiry.markPlayed(sess.id)
	return nil
}

// soloRejoin takes a player back to a solo room still running: today's
// daily practice or the challenge run under way.
// It reports false when the room has just finished (it may still be
// listed for a moment): the caller goes on as if it were not there.
func (s *Server) soloRejoin(ctx context.Context, c *conn, sess *session, re string, r *room.Room, day string) (bool, error) {
	if err := r.Attach(ctx, sess.id, sess); err != nil {
		if errors.Is(err, room.ErrClosed) {
			return false, nil
		}
		return true, err
	}
	sess.addRoom(r.ID())
	s.send(c, "solo.started", re, SoloStarted{Room: r.ID(), Kind: r.Config().Kind, Day: day, Resumed: true})
	return true, nil
}

func soloDrawErr(err error) error {
	if errors.Is(err, questionbank.ErrNotEnough) {
		return protocol.Errorf(protocol.CodeUnavailable, "not enough questions in that language").Because("not_enough_questions", nil)
	}
	return err
}

// soloFinished stores a solo room's result and pays its points through the
// ledger, exactly once by the room id: daily practice one point per right
// answer (source "daily"), a challenge one point per question of the run
// (source "challenge"), whose length is also kept as the player's best.
func (s *Server) soloFinished(ctx context.Context, res *room.Result, result store.Result) map[string]int64 {
	if len(res.Standings) == 0 {
		if err := s.store.FinishRoom(ctx, result); err != nil {
			s.log.Error().Err(err).Str("room", res.Room).Msg("store result")
		}
		return nil
	}
	st := res.Standings[0]
	source := store.SourceDaily
	if res.Kind == room.KindChallenge {
		source = store.SourceChallenge
		if _, err := s.store.RecordChallenge(ctx, store.ChallengeBest{Player: st.ID, Best: int(st.Score), Room: res.Room, At: res.At}); err != nil {
			s.log.Error().Err(err).Str("room", res.Room).Msg("record challenge run")
			return nil // the room stays open in the store; a restart tries again
		}
	}
	day := s.day(res.At)
	if res.Kind == room.KindDaily {
		// The day the practice was started on, which its id names: one
		// finished just after midnight still counts for its own day.
		if rest := strings.TrimPrefix(res.Room, "daily-"); len(rest) > len(time.DateOnly) {
			day = rest[:len(time.DateOnly)]
		}
	}
	paid, err := s.store.Award(ctx, s.cfg.PointCaps, []store.Award{{Ref: source + ":" + res.Room, Player: st.ID,
		Source: source, Points: st.Score, Day: day, At: res.At}})
	if err != nil {
		s.log.Error().Err(err).Str("room", res.Room).Msg("award solo points")
		return nil
	}
	if err := s.store.FinishRoom(ctx, result); err != nil {
		s.log.Error().Err(err).Str("room", res.Room).Msg("store result")
	}
	if len(paid) == 1 {
		return map[string]int64{st.ID: paid[0].Points}
	}
	return nil
}

// ChallengeEntry is a row of the challenge leaderboard.
type ChallengeEntry struct {
	Rank   int    `json:"rank"`
	Player string `json:"player"`
	Name   string `json:"name"`
	Best   int    `json:"best"`
	At     int64  `json:"at"` // unix ms
}

// handleChallengeLeaderboard serves GET /api/v1/challenge/leaderboard
// (?limit=, 1–1000, default 100; ?player= adds that player's best).
func (s *Server) handleChallengeLeaderboard(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "limit must be 1 to 1000"))
			return
		}
		limit = n
	}
	rows, err := s.store.ChallengeLeaderboard(r.Context(), limit)
	if err != nil {
		httpError(w, storeUnavailable(err))
		return
	}
	out := struct {
		Entries []ChallengeEntry `json:"entries"`
		Me      *ChallengeEntry  `json:"me,omitempty"`
	}{Entries: []ChallengeEntry{}}
	for i, b := range rows {
		rank := i + 1
		if i > 0 && b.Best == rows[i-1].Best {
			rank = out.Entries[i-1].Rank
		}
		out.Entries = append(out.Entries, ChallengeEntry{Rank: rank, Player: b.Player, Name: b.Name, Best: b.Best, At: b.At.UnixMilli()})
	}
	if p := r.URL.Query().Get("player"); p != "" {
		if b, err := s.store.ChallengeBestOf(r.Context(), p); err == nil {
			out.Me = &ChallengeEntry{Player: b.Player, Name: b.Name, Best: b.Best, At: b.At.UnixMilli()}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
