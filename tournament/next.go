package tournament

import (
	"context"
	"slices"
	"time"

	"github.com/leitai/leitai/store"
)

// Where a player stands, as "my next match" says it.
const (
	NextQualifier  = "qualifier"   // the qualifier is open (or not yet)
	NextSeeding    = "seeding"     // the qualifier closed; the bracket is drawn when round 1 fires
	NextNotEntered = "not_entered" // the bracket is drawn without the player
	NextWaiting    = "waiting"     // in the bracket; the next round is not fired yet
	NextCheckIn    = "check_in"    // the round fired; the player's match waits for check-in
	NextPlaying    = "playing"     // the player's room is open
	NextEliminated = "eliminated"
	NextChampion   = "champion"
)

// NextView is a player's "my next match": where they stand, the round
// ahead with its times and a countdown, their room once open, and their
// qualifier attempts and rank.
type NextView struct {
	Tournament string         `json:"tournament"`
	Player     string         `json:"player"`
	State      string         `json:"state"`
	Round      int            `json:"round,omitempty"`
	Final      bool           `json:"final,omitempty"`
	Slot       int            `json:"slot,omitempty"`
	StartsAt   *time.Time     `json:"starts_at,omitempty"`
	CheckInAt  *time.Time     `json:"check_in_at,omitempty"` // check-in opens
	GraceUntil *time.Time     `json:"grace_until,omitempty"` // a no-show forfeits after
	SecondsTo  int64          `json:"seconds_to,omitempty"`  // until StartsAt (or the qualifier's close), for the countdown
	CheckedIn  bool           `json:"checked_in,omitempty"`
	Room       string         `json:"room,omitempty"`
	Opponents  []string       `json:"opponents,omitempty"`
	Attempts   []AttemptView  `json:"attempts"`
	Rank       int            `json:"rank,omitempty"` // qualifier rank by the best attempt
	Seed       int            `json:"seed,omitempty"`
	Qualifier  *QualifierView `json:"qualifier,omitempty"`
}

// AttemptView is one finished qualifier attempt.
type AttemptView struct {
	Num      int       `json:"num"`
	Score    int64     `json:"score"`
	TotalMS  int64     `json:"total_ms"`
	Finished time.Time `json:"finished_at"`
}

// QualifierView is the qualifier's window and paper.
type QualifierView struct {
	Opens     time.Time `json:"opens"`
	Closes    time.Time `json:"closes"`
	Questions int       `json:"questions"`
	Minutes   int       `json:"minutes"`
	Attempts  int       `json:"attempts"`
}

// Next says where player stands in tournament id at now.
func (s *Service) Next(ctx context.Context, id, player string, now time.Time) (NextView, error) {
	c, err := s.Config(ctx, id)
	if err != nil {
		return NextView{}, err
	}
	q := c.Qualifier
	v := NextView{Tournament: id, Player: player, Attempts: []AttemptView{},
		Qualifier: &QualifierView{Opens: q.Opens, Closes: q.Closes, Questions: q.Questions, Minutes: q.Minutes, Attempts: q.Attempts}}
	as, err := s.st.PlayerAttempts(ctx, id, player)
	if err != nil {
		return NextView{}, err
	}
	for _, a := range as {
		v.Attempts = append(v.Attempts, AttemptView{Num: a.Num, Score: a.Score, TotalMS: a.Total.Milliseconds(), Finished: a.FinishedAt})
	}
	if len(as) > 0 {
		ranked, err := s.Ranking(ctx, id)
		if err != nil {
			return NextView{}, err
		}
		for _, r := range ranked {
			if r.Player == player {
				v.Rank = r.Rank
				break
			}
		}
	}
	es, err := s.st.Entrants(ctx, id)
	if err != nil {
		return NextView{}, err
	}
	if player, err = s.entrantOf(ctx, c, id, player); err != nil {
		return NextView{}, err
	}
	rs, err := s.st.TournamentRounds(ctx, id)
	if err != nil {
		return NextView{}, err
	}
	at := func(r int) {
		v.Round, v.Final = r, r == len(rs)
		start := rs[r-1].StartsAt
		ci, gr := start.Add(-c.checkIn()), start.Add(c.grace())
		v.StartsAt, v.CheckInAt, v.GraceUntil = &start, &ci, &gr
		v.SecondsTo = max(0, int64(start.Sub(now).Seconds()))
	}
	if len(es) == 0 {
		v.State = NextQualifier
		if !now.Before(q.Closes) {
			v.State = NextSeeding
			if len(rs) > 0 {
				at(1)
			}
			return v, nil
		}
		v.SecondsTo = max(0, int64(q.Closes.Sub(now).Seconds()))
		return v, nil
	}
	for _, e := range es {
		if e.Player == player {
			v.Seed = e.Seed
		}
	}
	if v.Seed == 0 {
		v.State = NextNotEntered
		return v, nil
	}
	all, err := s.st.Matches(ctx, id, 0)
	if err != nil {
		return NextView{}, err
	}
	var mine *store.TournamentMatch
	for i := range all {
		if slices.Contains(all[i].Seats, player) && (mine == nil || all[i].Round > mine.Round) {
			mine = &all[i]
		}
	}
	if mine == nil {
		v.State = NextWaiting
		at(1)
		return v, nil
	}
	o, err := outcomeOf(*mine)
	if err != nil {
		return NextView{}, err
	}
	at(mine.Round)
	v.Slot, v.Room = mine.Slot, mine.Room
	for _, p := range occupied(mine.Seats) {
		if p != player {
			v.Opponents = append(v.Opponents, p)
		}
	}
	switch mine.State {
	case StateDecided:
		switch {
		case !slices.Contains(o.Advance, player):
			v.State = NextEliminated
		case mine.Round == len(rs):
			v.State = NextChampion
		default:
			v.State, v.Room, v.Opponents, v.Slot = NextWaiting, "", nil, 0
			at(mine.Round + 1)
		}
	case StateWaiting:
		v.State = NextCheckIn
		checks, err := s.st.CheckIns(ctx, id, mine.Round)
		if err != nil {
			return NextView{}, err
		}
		for _, ch := range checks {
			v.CheckedIn = v.CheckedIn || ch.Player == player
		}
	default:
		v.State = NextPlaying
	}
	return v, nil
}
