package roomhost

import (
	"context"
	"strings"
	"time"

	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// day is the ledger day of t in the configured time zone.
func (s *Host) day(t time.Time) string { return t.In(s.cfg.TimeZone).Format(time.DateOnly) }

// EventPoints are the points an event is worth by final rank: the first
// three 10, 8 and 6, everyone else who answered 3.
var EventPoints = []int64{10, 8, 6, 3}

// eventAwardTime bounds the paying of an event's points.
const eventAwardTime = 30 * time.Second

// awardEvent pays each human player of a finished event through the
// ledger, once per event and player (ref "event:<room>:<player>").
func (s *Host) awardEvent(ctx context.Context, res *room.Result) {
	// Its own time, not what is left of the room's settling: a hall of
	// thousands is tens of transactions.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventAwardTime)
	defer cancel()
	var awards []store.Award
	for _, st := range res.Standings {
		if st.Rank < 1 {
			continue
		}
		p := EventPoints[min(st.Rank, len(EventPoints))-1]
		awards = append(awards, store.Award{Ref: "event:" + res.Room + ":" + st.ID, Player: st.ID, Source: store.SourceEvent,
			Points: p, Day: s.day(res.At), At: res.At})
	}
	// In batches, so a hall of thousands is a few transactions; a batch
	// that fails (a player unknown to the store) is retried one by one so
	// the others are still paid.
	for len(awards) > 0 {
		n := min(len(awards), 500)
		if _, err := s.store.Award(ctx, s.cfg.PointCaps, awards[:n]); err != nil {
			for _, a := range awards[:n] {
				if _, err := s.store.Award(ctx, s.cfg.PointCaps, []store.Award{a}); err != nil {
					s.log.Error().Err(err).Str("room", res.Room).Str("player", a.Player).Msg("award event points")
				}
			}
		}
		awards = awards[n:]
	}
}

// soloFinished stores a solo room's result and pays its points through the
// ledger, exactly once by the room id: daily practice one point per right
// answer (source "daily"), a challenge one point per question of the run
// (source "challenge"), whose length is also kept as the player's best.
func (s *Host) soloFinished(ctx context.Context, res *room.Result, result store.Result) map[string]int64 {
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
