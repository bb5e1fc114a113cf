package tournament

import (
	"context"
	"slices"
	"time"

	"github.com/leitai/leitai/store"
)

// SetTeam stores a unit's team for a team tournament: Min to Max distinct
// players, picked by the unit's admin (the caller checks who asks and
// that the players are the unit's members), until round 1 fires.
func (s *Service) SetTeam(ctx context.Context, id, unit string, players []string, now time.Time) error {
	c, err := s.Config(ctx, id)
	if err != nil {
		return err
	}
	if c.Teams == nil {
		return bad("tournament %s is not a team tournament", id)
	}
	if unit == "" {
		return bad("no unit")
	}
	ps := slices.Clone(players)
	slices.Sort(ps)
	if len(slices.Compact(ps)) != len(players) || slices.Contains(players, "") {
		return bad("a team's players must be distinct and named")
	}
	if n := len(players); n < c.Teams.Min || n > c.Teams.Max {
		return bad("a team of %d: want %d to %d players", n, c.Teams.Min, c.Teams.Max)
	}
	rs, err := s.st.TournamentRounds(ctx, id)
	if err != nil {
		return err
	}
	if len(rs) > 0 && rs[0].State != store.RoundScheduled {
		return bad("the bracket is drawn; teams are fixed")
	}
	ts, err := s.st.Teams(ctx, id)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Unit == unit {
			continue
		}
		for _, p := range players {
			if slices.Contains(t.Players, p) {
				return bad("%s plays for %s already", p, t.Unit)
			}
		}
	}
	return s.st.SetTeam(ctx, store.TournamentTeam{Tournament: id, Unit: unit, Players: slices.Clone(players), SetAt: now})
}

// Team returns a unit's team.
func (s *Service) Team(ctx context.Context, id, unit string) ([]string, error) {
	ts, err := s.st.Teams(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.Unit == unit {
			return t.Players, nil
		}
	}
	return nil, bad("unit %s has no team in %s", unit, id)
}

// Teams lists the teams.
func (s *Service) Teams(ctx context.Context, id string) ([]store.TournamentTeam, error) {
	return s.st.Teams(ctx, id)
}

// teamRanking ranks a team tournament's teams for the seeding: by their
// members' best qualifier scores summed (or averaged, as the tournament
// scores teams), then their total time, then the unit's code. A team
// whose members made no attempt ranks with nothing.
func (s *Service) teamRanking(ctx context.Context, id string, c Config) ([]string, error) {
	ts, err := s.st.Teams(ctx, id)
	if err != nil {
		return nil, err
	}
	as, err := s.st.Attempts(ctx, id)
	if err != nil {
		return nil, err
	}
	best := map[string]store.Attempt{}
	for _, r := range Rank(as) {
		best[r.Player] = r.Best
	}
	type line struct {
		unit  string
		score int64
		total time.Duration
	}
	lines := make([]line, 0, len(ts))
	for _, t := range ts {
		l := line{unit: t.Unit}
		for _, p := range t.Players {
			l.score += best[p].Score
			l.total += best[p].Total
		}
		if c.Teams.Mode == "mean" && len(t.Players) > 0 {
			// Scaled to a common size so means compare exactly.
			l.score = l.score * 60 / int64(len(t.Players))
			l.total = l.total * 60 / time.Duration(len(t.Players))
		}
		lines = append(lines, l)
	}
	slices.SortFunc(lines, func(a, b line) int {
		switch {
		case a.score != b.score:
			return int(b.score - a.score)
		case a.total != b.total:
			return int(a.total - b.total)
		case a.unit < b.unit:
			return -1
		}
		return 1
	})
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.unit
	}
	return out, nil
}

// Update replaces a tournament's title and config until its first round
// fires.
func (s *Service) Update(ctx context.Context, id, title string, c Config) error {
	if title == "" || len(title) > 200 {
		return bad("a tournament needs a title of at most 200 bytes")
	}
	if err := c.Validate(); err != nil {
		return bad("%v", err)
	}
	raw, err := jsonOf(c)
	if err != nil {
		return err
	}
	rounds := make([]store.TournamentRound, len(c.Rounds))
	for i, at := range c.Rounds {
		rounds[i] = store.TournamentRound{Num: i + 1, StartsAt: at}
	}
	ok, err := s.st.UpdateTournament(ctx, store.Tournament{ID: id, Title: title, Config: raw}, rounds)
	if err != nil {
		return err
	}
	if !ok {
		return bad("tournament %s has begun its rounds; it can no longer be edited", id)
	}
	return nil
}
