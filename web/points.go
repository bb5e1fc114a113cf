package web

import (
	"context"
	"time"

	"github.com/leitai/leitai/org"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// DefaultTimeZone is where ledger days begin unless configured.
const DefaultTimeZone = "Asia/Shanghai"

// pointDefaults fills the ledger's settings.
func (c *Config) pointDefaults() {
	caps := store.Caps{
		store.SourceDuel: c.PointsDailyCap, store.SourceFour: c.PointsDailyCap, store.SourceTeam: c.PointsDailyCap,
		store.SourceEvent: 3, store.SourceDaily: 1, store.SourceChallenge: 1, store.SourceQualifier: 1,
	}
	for k, v := range c.PointCaps {
		caps[k] = v
	}
	c.PointCaps = caps
	if c.TimeZone == nil {
		loc, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			loc = time.FixedZone("CST", 8*3600) // Shanghai has had no DST since 1991
		}
		c.TimeZone = loc
	}
	if c.ParticipationTarget <= 0 {
		c.ParticipationTarget = org.DefaultTarget
	}
}

// day is the ledger day of t in the configured time zone.
func (s *Server) day(t time.Time) string { return t.In(s.cfg.TimeZone).Format(time.DateOnly) }

// EventPoints are the points an event is worth by final rank: the first
// three 10, 8 and 6, everyone else who answered 3.
var EventPoints = []int64{10, 8, 6, 3}

// awardEvent pays each human player of a finished event through the
// ledger, once per event and player (ref "event:<room>:<player>").
func (s *Server) awardEvent(ctx context.Context, res *room.Result) {
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
