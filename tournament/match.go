package tournament

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/leitai/leitai/store"
)

// Match states, in the order a match moves through them.
const (
	StateWaiting     = "waiting"      // fired; waiting for its players to check in
	StatePlaying     = "playing"      // its room was asked for (Room set once started)
	StateTiebreak    = "tiebreak"     // tied at the cut: a sudden-death question is needed
	StateSuddenDeath = "sudden_death" // the sudden death was asked of the room layer
	StateDecided     = "decided"
)

// How a match was decided.
const (
	ByBye         = "bye"          // too few seats filled to need a room
	ByWalkover    = "walkover"     // too few players showed up
	ByScore       = "score"        // the score separated the cut
	ByTime        = "time"         // equal scores, the lower total time went through
	BySuddenDeath = "sudden_death" // equal score and time, a sudden-death question decided
)

// SeatResult is one player's result of a match's room.
type SeatResult struct {
	Player string        `json:"player"`
	Score  int64         `json:"score"`
	Total  time.Duration `json:"total"`
}

// Outcome is what the package records of a match.
type Outcome struct {
	Present  []string     `json:"present,omitempty"`  // who played (checked in)
	Forfeits []string     `json:"forfeits,omitempty"` // seated but absent after the grace
	Results  []SeatResult `json:"results,omitempty"`  // as the room reported
	Tied     []string     `json:"tied,omitempty"`     // the players a sudden death is (was) between
	Order    []string     `json:"order,omitempty"`    // the players who played, best first
	Advance  []string     `json:"advance,omitempty"`  // who goes on (the champion in the final)
	By       string       `json:"by,omitempty"`
}

// Match is a match as the room layer sees it.
type Match struct {
	Tournament string
	Round      int
	Slot       int
	Final      bool     // the final, to be played as a stage event
	Players    []string // who plays, by seat
	Config     Config
}

// Key names the match uniquely; a RoundStarter uses it as the idempotency
// key of the room it creates, since after a crash a match whose room was
// asked for but not recorded is asked for again.
func (m Match) Key() string { return fmt.Sprintf("%s/r%d/m%d", m.Tournament, m.Round, m.Slot) }

// RoundStarter is what the room layer does for the scheduler.
type RoundStarter interface {
	// StartMatch creates the match's room (a stage event for the final)
	// and returns its id. It must be idempotent by m.Key().
	StartMatch(ctx context.Context, m Match) (room string, err error)
	// SuddenDeath asks the match's room for a sudden-death question
	// between tied; the room layer answers with Service.ResolveTie.
	SuddenDeath(ctx context.Context, m Match, tied []string) error
}

func outcomeOf(m store.TournamentMatch) (Outcome, error) {
	var o Outcome
	if len(m.Outcome) == 0 {
		return o, nil
	}
	err := json.Unmarshal(m.Outcome, &o)
	return o, err
}

func withOutcome(m store.TournamentMatch, o Outcome, state string) store.TournamentMatch {
	raw, _ := json.Marshal(o) // plain data; cannot fail
	m.Outcome, m.State = raw, state
	return m
}

// cut is how many of a room go through: 1 in the final (the champion).
func cut(c Config, round int) int {
	if round == len(c.Rounds) {
		return 1
	}
	return advancing(c.Format)
}

func (s *Service) match(ctx context.Context, id string, round, slot int) (store.TournamentMatch, Outcome, error) {
	ms, err := s.st.Matches(ctx, id, round)
	if err != nil {
		return store.TournamentMatch{}, Outcome{}, err
	}
	for _, m := range ms {
		if m.Slot == slot {
			o, err := outcomeOf(m)
			return m, o, err
		}
	}
	return store.TournamentMatch{}, Outcome{}, bad("no match %d in round %d of %s", slot, round, id)
}

// Report records a room's results: every player who played, once. The
// players are ordered by score, then by lower total time; if the cut falls
// between players equal on both, the match needs a sudden death (see
// RoundStarter.SuddenDeath and ResolveTie). Below the cut, equal players
// are ordered by seed.
func (s *Service) Report(ctx context.Context, id string, round, slot int, results []SeatResult) error {
	c, err := s.Config(ctx, id)
	if err != nil {
		return err
	}
	m, o, err := s.match(ctx, id, round, slot)
	if err != nil {
		return err
	}
	if m.State != StatePlaying {
		return bad("match %d of round %d is %s, not playing", slot, round, m.State)
	}
	got := make([]string, len(results))
	for i, r := range results {
		if r.Score < 0 || r.Total < 0 {
			return bad("negative score or time for %s", r.Player)
		}
		got[i] = r.Player
	}
	want := slices.Clone(o.Present)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return bad("results are for %v, the match was played by %v", got, want)
	}
	rs := slices.Clone(results)
	for i := range rs {
		rs[i].Total = ms(rs[i].Total)
	}
	es, err := s.st.Entrants(ctx, id)
	if err != nil {
		return err
	}
	seed := map[string]int{}
	for _, e := range es {
		seed[e.Player] = e.Seed
	}
	// Equal on score and time below the cut (where no sudden death is
	// played) the better seed is placed first.
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Score != rs[j].Score {
			return rs[i].Score > rs[j].Score
		}
		if rs[i].Total != rs[j].Total {
			return rs[i].Total < rs[j].Total
		}
		return seed[rs[i].Player] < seed[rs[j].Player]
	})
	o.Results, o.Order = rs, nil
	for _, r := range rs {
		o.Order = append(o.Order, r.Player)
	}
	k := cut(c, round)
	state := StateDecided
	switch {
	case len(rs) <= k:
		o.By = ByWalkover
	case rs[k-1].Score != rs[k].Score:
		o.By = ByScore
	case rs[k-1].Total != rs[k].Total:
		o.By = ByTime
	default:
		state = StateTiebreak
		for _, r := range rs {
			if r.Score == rs[k].Score && r.Total == rs[k].Total {
				o.Tied = append(o.Tied, r.Player)
			}
		}
	}
	if state == StateDecided {
		o.Advance = o.Order[:min(k, len(o.Order))]
	}
	ok, err := s.st.UpdateMatch(ctx, withOutcome(m, o, state), StatePlaying)
	if err != nil {
		return err
	}
	if !ok {
		return bad("match %d of round %d was reported already", slot, round)
	}
	return nil
}

// ResolveTie records the sudden death's result: the tied players, best
// first. Their block in the match's order is replaced by it.
func (s *Service) ResolveTie(ctx context.Context, id string, round, slot int, order []string) error {
	c, err := s.Config(ctx, id)
	if err != nil {
		return err
	}
	m, o, err := s.match(ctx, id, round, slot)
	if err != nil {
		return err
	}
	if m.State != StateSuddenDeath && m.State != StateTiebreak {
		return bad("match %d of round %d has no sudden death pending (%s)", slot, round, m.State)
	}
	a, b := slices.Clone(order), slices.Clone(o.Tied)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return bad("sudden death order %v is not of the tied %v", order, o.Tied)
	}
	first := slices.Index(o.Order, o.Tied[0])
	for _, p := range o.Tied {
		first = min(first, slices.Index(o.Order, p))
	}
	copy(o.Order[first:], order)
	o.By = BySuddenDeath
	o.Advance = o.Order[:min(cut(c, round), len(o.Order))]
	ok, err := s.st.UpdateMatch(ctx, withOutcome(m, o, StateDecided), m.State)
	if err != nil {
		return err
	}
	if !ok {
		return bad("match %d of round %d changed meanwhile", slot, round)
	}
	return nil
}

// Standing is a player's final place. Players knocked out in the same
// round share a place; Round is the round they went out in (0 for the
// players ranked by the final itself).
type Standing struct {
	Place  int
	Player string
	Seed   int
	Round  int
}

// Standings are the final places once the final is decided: the final's
// order first (its forfeits after it), then each earlier round's losers,
// later rounds first, sharing a place and listed by seed.
func (s *Service) Standings(ctx context.Context, id string) ([]Standing, error) {
	c, err := s.Config(ctx, id)
	if err != nil {
		return nil, err
	}
	es, err := s.st.Entrants(ctx, id)
	if err != nil {
		return nil, err
	}
	seed := map[string]int{}
	for _, e := range es {
		seed[e.Player] = e.Seed
	}
	all, err := s.st.Matches(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	final := len(c.Rounds)
	byRound := map[int][]Outcome{}
	for _, m := range all {
		if m.State != StateDecided {
			return nil, bad("tournament %s is not finished", id)
		}
		o, err := outcomeOf(m)
		if err != nil {
			return nil, err
		}
		byRound[m.Round] = append(byRound[m.Round], o)
	}
	if len(byRound[final]) != 1 {
		return nil, bad("tournament %s is not finished", id)
	}
	var out []Standing
	placed := map[string]bool{}
	fo := byRound[final][0]
	order := slices.Clone(fo.Order)
	if len(order) == 0 { // a walkover or bye into the final
		order = slices.Clone(fo.Advance)
	}
	for _, p := range order {
		out = append(out, Standing{Place: len(out) + 1, Player: p, Seed: seed[p]})
		placed[p] = true
	}
	for r := final; r >= 1; r-- {
		var group []string
		for _, o := range byRound[r] {
			for _, p := range append(slices.Clone(o.Present), o.Forfeits...) {
				if !placed[p] && !slices.Contains(o.Advance, p) {
					group = append(group, p)
				}
			}
		}
		sort.Slice(group, func(i, j int) bool { return seed[group[i]] < seed[group[j]] })
		place := len(out) + 1
		for _, p := range group {
			out = append(out, Standing{Place: place, Player: p, Seed: seed[p], Round: r})
			placed[p] = true
		}
	}
	return out, nil
}
