package tournament

import (
	"context"
	"time"
)

// BracketView is a tournament's bracket as it stands: its rounds, each
// with its matches once fired, and the seeded field once seeded.
type BracketView struct {
	ID       string      `json:"id"`
	Title    string      `json:"title"`
	Format   string      `json:"format"`
	Field    int         `json:"field"`
	Entrants []SeedView  `json:"entrants"`
	Rounds   []RoundView `json:"rounds"`
	Config   Config      `json:"config"`
}

// SeedView is one seeded entrant.
type SeedView struct {
	Seed   int    `json:"seed"`
	Player string `json:"player"`
}

// RoundView is one round: when it was due, when it fired and how late.
type RoundView struct {
	Num        int         `json:"num"`
	Final      bool        `json:"final,omitempty"`
	StartsAt   time.Time   `json:"starts_at"`
	State      string      `json:"state"`
	FiredAt    *time.Time  `json:"fired_at,omitempty"`
	DelayMS    int64       `json:"delay_ms,omitempty"`
	FinishedAt *time.Time  `json:"finished_at,omitempty"`
	Matches    []MatchView `json:"matches"`
}

// MatchView is one match of a fired round.
type MatchView struct {
	Slot     int          `json:"slot"`
	Seats    []string     `json:"seats"`
	State    string       `json:"state"`
	Room     string       `json:"room,omitempty"`
	Results  []ResultView `json:"results,omitempty"`
	Advance  []string     `json:"advance,omitempty"`
	Forfeits []string     `json:"forfeits,omitempty"`
	By       string       `json:"by,omitempty"`
}

// ResultView is one player's result in a match, the time in milliseconds.
type ResultView struct {
	Player  string `json:"player"`
	Score   int64  `json:"score"`
	TotalMS int64  `json:"total_ms"`
}

// Bracket reads a tournament's bracket.
func (s *Service) Bracket(ctx context.Context, id string) (BracketView, error) {
	t, err := s.st.Tournament(ctx, id)
	if err != nil {
		return BracketView{}, err
	}
	c, err := s.Config(ctx, id)
	if err != nil {
		return BracketView{}, err
	}
	v := BracketView{ID: id, Title: t.Title, Format: c.Format, Field: c.Field, Config: c, Entrants: []SeedView{}, Rounds: []RoundView{}}
	es, err := s.st.Entrants(ctx, id)
	if err != nil {
		return BracketView{}, err
	}
	for _, e := range es {
		v.Entrants = append(v.Entrants, SeedView{Seed: e.Seed, Player: e.Player})
	}
	rs, err := s.st.TournamentRounds(ctx, id)
	if err != nil {
		return BracketView{}, err
	}
	ms, err := s.st.Matches(ctx, id, 0)
	if err != nil {
		return BracketView{}, err
	}
	for _, r := range rs {
		rv := RoundView{Num: r.Num, Final: r.Num == len(rs), StartsAt: r.StartsAt, State: r.State, Matches: []MatchView{}}
		if !r.FiredAt.IsZero() {
			at := r.FiredAt
			rv.FiredAt, rv.DelayMS = &at, max(0, r.FiredAt.Sub(r.StartsAt).Milliseconds())
		}
		if !r.FinishedAt.IsZero() {
			at := r.FinishedAt
			rv.FinishedAt = &at
		}
		for _, m := range ms {
			if m.Round != r.Num {
				continue
			}
			o, err := outcomeOf(m)
			if err != nil {
				return BracketView{}, err
			}
			mv := MatchView{Slot: m.Slot, Seats: m.Seats, State: m.State, Room: m.Room,
				Advance: o.Advance, Forfeits: o.Forfeits, By: o.By}
			for _, r := range o.Results {
				mv.Results = append(mv.Results, ResultView{Player: r.Player, Score: r.Score, TotalMS: r.Total.Milliseconds()})
			}
			rv.Matches = append(rv.Matches, mv)
		}
		v.Rounds = append(v.Rounds, rv)
	}
	return v, nil
}
