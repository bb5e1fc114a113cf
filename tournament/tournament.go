// Package tournament owns tournaments: a timed-paper qualifier whose best
// attempts rank the field, a knockout bracket of duels or fours seeded from
// that ranking (byes to the top seeds), check-in and no-show forfeits, the
// tie rule, advancement to a final on stage, and the scheduler that fires
// each round exactly once at its time. Rooms are not its business: it asks
// a RoundStarter to start a match's room and hears back through Report.
package tournament

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/leitai/leitai/store"
)

// Config is what an organizer sets for a tournament. It is stored as the
// tournament's JSON config.
type Config struct {
	Format    string    `json:"format"` // FormatDuel or FormatFour
	Field     int       `json:"field"`  // how many qualifiers enter the bracket (2..8192)
	Pool      Pool      `json:"pool"`
	Qualifier Qualifier `json:"qualifier"`
	// Rounds are the knockout rounds' start times, in order; the last is
	// the final, played on stage. There must be Rounds(Format, Field).
	Rounds []time.Time `json:"rounds"`
	// CheckInSeconds is how long before a round's start players may check
	// in; GraceSeconds how long after it a player who has not checked in
	// has before forfeiting.
	CheckInSeconds int `json:"check_in_seconds"`
	GraceSeconds   int `json:"grace_seconds"`
	// MatchQuestions is how many questions a knockout room asks (default
	// 5); MatchSeconds how long each question is open (default 20).
	MatchQuestions int `json:"match_questions,omitempty"`
	MatchSeconds   int `json:"match_seconds,omitempty"`
	// Teams, when set, makes this a team tournament: the entrants are
	// units, each fielding a team its admin picks (see Team).
	Teams *TeamRules `json:"teams,omitempty"`
}

// TeamRules are a team tournament's: the size of a team and how a team's
// score is made of its members' (as stage events score teams).
type TeamRules struct {
	Min  int    `json:"min"`  // 2..5
	Max  int    `json:"max"`  // Min..5
	Mode string `json:"mode"` // "mean" or "sum"
}

// Questions is how many questions a knockout room asks.
func (c Config) Questions() int {
	if c.MatchQuestions <= 0 {
		return 5
	}
	return c.MatchQuestions
}

// QuestionTime is how long each question of a knockout room is open.
func (c Config) QuestionTime() time.Duration {
	if c.MatchSeconds <= 0 {
		return 20 * time.Second
	}
	return time.Duration(c.MatchSeconds) * time.Second
}

// PerQuestion is how long each question of a qualifier attempt is open:
// the paper's minutes shared equally among its questions.
func (q Qualifier) PerQuestion() time.Duration {
	return time.Duration(q.Minutes) * time.Minute / time.Duration(max(q.Questions, 1))
}

// Length is the longest an attempt can take.
func (q Qualifier) Length() time.Duration { return time.Duration(q.Minutes) * time.Minute }

// Pool is where the questions are drawn from.
type Pool struct {
	Sets       []string `json:"sets"`
	Categories []string `json:"categories,omitempty"`
}

// Qualifier is the timed-paper window: N questions in M minutes, up to K
// attempts per member, best counts.
type Qualifier struct {
	Opens     time.Time `json:"opens"`
	Closes    time.Time `json:"closes"`
	Questions int       `json:"questions"`
	Minutes   int       `json:"minutes"`
	Attempts  int       `json:"attempts"`
	// Units, when set, opens the qualifier to members of these units (and
	// the units under them) only.
	Units []string `json:"units,omitempty"`
}

// Validate says what is wrong with the config, if anything.
func (c Config) Validate() error {
	switch {
	case c.Format != FormatDuel && c.Format != FormatFour:
		return fmt.Errorf("format %q: want %q or %q", c.Format, FormatDuel, FormatFour)
	case c.Field < 2 || c.Field > 8192:
		return fmt.Errorf("field %d: want 2..8192", c.Field)
	case len(c.Pool.Sets) == 0:
		return errors.New("pool: no question sets")
	case c.Qualifier.Opens.IsZero() || !c.Qualifier.Closes.After(c.Qualifier.Opens):
		return errors.New("qualifier: closes must be after opens")
	case c.Qualifier.Questions < 1 || c.Qualifier.Questions > 500:
		return fmt.Errorf("qualifier: %d questions, want 1..500", c.Qualifier.Questions)
	case c.Qualifier.Minutes < 1 || c.Qualifier.Minutes > 24*60:
		return fmt.Errorf("qualifier: %d minutes, want 1..1440", c.Qualifier.Minutes)
	case c.Qualifier.Attempts < 1 || c.Qualifier.Attempts > 100:
		return fmt.Errorf("qualifier: %d attempts, want 1..100", c.Qualifier.Attempts)
	case c.CheckInSeconds < 0 || c.GraceSeconds < 0 || c.GraceSeconds > 3600:
		return errors.New("check-in and grace: want 0.. seconds, grace at most 3600")
	case c.MatchQuestions < 0 || c.MatchQuestions > 50:
		return fmt.Errorf("match_questions %d: want 1..50 (0 for 5)", c.MatchQuestions)
	case c.MatchSeconds < 0 || (c.MatchSeconds > 0 && c.MatchSeconds < 3) || c.MatchSeconds > 600:
		return fmt.Errorf("match_seconds %d: want 3..600 (0 for 20)", c.MatchSeconds)
	case len(c.Qualifier.Units) > 1000:
		return errors.New("qualifier: at most 1000 units")
	}
	if t := c.Teams; t != nil {
		if t.Min < 2 || t.Max < t.Min || t.Max > 5 {
			return fmt.Errorf("teams: size %d..%d, want 2 <= min <= max <= 5", t.Min, t.Max)
		}
		if t.Mode != "mean" && t.Mode != "sum" {
			return fmt.Errorf("teams: mode %q, want mean or sum", t.Mode)
		}
	}
	if want := Rounds(c.Format, c.Field); len(c.Rounds) != want {
		return fmt.Errorf("rounds: a field of %d in %ss needs %d round times, got %d", c.Field, c.Format, want, len(c.Rounds))
	}
	prev := c.Qualifier.Closes
	for i, at := range c.Rounds {
		if at.Before(prev) || (i > 0 && !at.After(prev)) {
			return fmt.Errorf("round %d at %s: rounds start after the qualifier closes, each after the one before", i+1, at.Format(time.RFC3339))
		}
		prev = at
	}
	return nil
}

func (c Config) grace() time.Duration   { return time.Duration(c.GraceSeconds) * time.Second }
func (c Config) checkIn() time.Duration { return time.Duration(c.CheckInSeconds) * time.Second }

// Store is the records the package needs.
type Store = store.Tournaments

// Service is the tournament API the web and room layers call.
type Service struct {
	st Store

	// rankMu guards ranks: each tournament's ranking as last computed,
	// by wall time. An attempt recorded through this service drops its
	// tournament's; others (recorded on another node) show within
	// rankFresh.
	rankMu sync.Mutex
	ranks  map[string]rankedAt
}

type rankedAt struct {
	ranked []Ranked
	at     time.Time
}

// rankFresh is how long a computed ranking is read before it is computed
// again.
const rankFresh = 250 * time.Millisecond

// NewService returns a service over st.
func NewService(st Store) *Service { return &Service{st: st} }

// ErrBadInput wraps every refusal of the caller's input.
var ErrBadInput = errors.New("tournament: bad input")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadInput, fmt.Sprintf(format, args...))
}

// Create stores a new tournament and schedules its rounds.
func (s *Service) Create(ctx context.Context, id, title string, c Config, now time.Time) error {
	if id == "" || title == "" || len(title) > 200 {
		return bad("a tournament needs an id and a title of at most 200 bytes")
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
	return s.st.CreateTournament(ctx, store.Tournament{ID: id, Title: title, Config: raw, CreatedAt: now}, rounds)
}

// Config reads a tournament's config.
func (s *Service) Config(ctx context.Context, id string) (Config, error) {
	t, err := s.st.Tournament(ctx, id)
	if err != nil {
		return Config{}, err
	}
	var c Config
	if err := json.Unmarshal(t.Config, &c); err != nil {
		return Config{}, fmt.Errorf("tournament %s: config: %w", id, err)
	}
	return c, nil
}

// RecordAttempt stores a finished qualifier attempt: score, time taken and
// when it finished, which must be inside the window, the time within the
// paper's minutes. It returns the attempt's number.
func (s *Service) RecordAttempt(ctx context.Context, id, player string, score int64, total time.Duration, finished time.Time) (int, error) {
	return s.recordAttempt(ctx, id, player, score, total, finished, nil)
}

// FinishAttempt is RecordAttempt that also stores the end of the
// attempt's room, in the same transaction (see store.Tournaments). An
// attempt refused before the store is asked (outside the window, out of
// range) leaves the room as it was; one over the limit is refused with
// the room's end stored.
func (s *Service) FinishAttempt(ctx context.Context, id, player string, score int64, total time.Duration, finished time.Time, room store.Result) (int, error) {
	return s.recordAttempt(ctx, id, player, score, total, finished, &room)
}

func (s *Service) recordAttempt(ctx context.Context, id, player string, score int64, total time.Duration, finished time.Time, room *store.Result) (int, error) {
	c, err := s.Config(ctx, id)
	if err != nil {
		return 0, err
	}
	q := c.Qualifier
	switch {
	case player == "":
		return 0, bad("no player")
	case finished.Before(q.Opens) || finished.After(q.Closes):
		return 0, bad("attempt finished at %s, outside the qualifier window", finished.Format(time.RFC3339))
	case score < 0 || score > int64(q.Questions)*10000:
		return 0, bad("score %d out of range", score)
	case total < 0 || total > time.Duration(q.Minutes)*time.Minute:
		return 0, bad("time %s outside 0..%d minutes", total, q.Minutes)
	}
	a := store.Attempt{Tournament: id, Player: player, Score: score, Total: ms(total), FinishedAt: finished}
	var n int
	if room != nil {
		n, err = s.st.FinishAttempt(ctx, a, q.Attempts, *room)
	} else {
		n, err = s.st.RecordAttempt(ctx, a, q.Attempts)
	}
	s.dropRanking(id)
	if errors.Is(err, store.ErrInvalid) {
		// Over the limit: the store's ErrInvalid is kept, so a caller
		// can tell the room's end was stored.
		return 0, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return n, err
}

// Ranking is the qualifier's ranking so far.
// It is computed from every attempt at most every rankFresh (one caller
// computes, the others wait for it), and again after an attempt recorded
// here; callers must not change it.
func (s *Service) Ranking(ctx context.Context, id string) ([]Ranked, error) {
	s.rankMu.Lock()
	defer s.rankMu.Unlock()
	if r, ok := s.ranks[id]; ok && time.Since(r.at) < rankFresh {
		return r.ranked, nil
	}
	as, err := s.st.Attempts(ctx, id)
	if err != nil {
		return nil, err
	}
	ranked := Rank(as)
	if s.ranks == nil {
		s.ranks = map[string]rankedAt{}
	}
	s.ranks[id] = rankedAt{ranked: ranked, at: time.Now()}
	return ranked, nil
}

// dropRanking forgets a tournament's computed ranking.
func (s *Service) dropRanking(id string) {
	s.rankMu.Lock()
	delete(s.ranks, id)
	s.rankMu.Unlock()
}

// Seed enters the top Field of the qualifier into the bracket, seeded by
// rank, once the qualifier has closed. It is done once; later calls return
// the field stored.
func (s *Service) Seed(ctx context.Context, id string, now time.Time) ([]store.Entrant, error) {
	es, err := s.st.Entrants(ctx, id)
	if err != nil || len(es) > 0 {
		return es, err
	}
	c, err := s.Config(ctx, id)
	if err != nil {
		return nil, err
	}
	if now.Before(c.Qualifier.Closes) {
		return nil, bad("the qualifier is open until %s", c.Qualifier.Closes.Format(time.RFC3339))
	}
	var field []string
	if c.Teams != nil {
		if field, err = s.teamRanking(ctx, id, c); err != nil {
			return nil, err
		}
	} else {
		// Read afresh, not from the live ranking's cache: the field is
		// drawn once, from every attempt.
		as, err := s.st.Attempts(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, r := range Rank(as) {
			field = append(field, r.Player)
		}
	}
	if len(field) < 2 {
		return nil, fmt.Errorf("tournament %s: %d qualified, a bracket needs 2", id, len(field))
	}
	field = field[:min(len(field), c.Field)]
	es = make([]store.Entrant, len(field))
	for i, p := range field {
		es[i] = store.Entrant{Tournament: id, Player: p, Seed: i + 1}
	}
	if err := s.st.SetEntrants(ctx, id, es); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, err
	}
	return s.st.Entrants(ctx, id)
}

// CheckIn records that player is present for a round, from CheckInSeconds
// before its start until the grace ends. Only entrants may check in.
func (s *Service) CheckIn(ctx context.Context, id string, round int, player string, now time.Time) error {
	c, err := s.Config(ctx, id)
	if err != nil {
		return err
	}
	if round < 1 || round > len(c.Rounds) {
		return bad("no round %d", round)
	}
	at := c.Rounds[round-1]
	if now.Before(at.Add(-c.checkIn())) || now.After(at.Add(c.grace())) {
		return bad("check-in for round %d is open from %s to %s", round,
			at.Add(-c.checkIn()).Format(time.RFC3339), at.Add(c.grace()).Format(time.RFC3339))
	}
	es, err := s.Seed(ctx, id, now)
	if err != nil {
		return err
	}
	if player, err = s.entrantOf(ctx, c, id, player); err != nil {
		return err
	}
	for _, e := range es {
		if e.Player == player {
			return s.st.CheckIn(ctx, store.CheckIn{Tournament: id, Round: round, Player: player, At: now})
		}
	}
	return bad("%s is not in the bracket", player)
}

// Title reads a tournament's title.
func (s *Service) Title(ctx context.Context, id string) (string, error) {
	t, err := s.st.Tournament(ctx, id)
	return t.Title, err
}

// AttemptsOf is how many qualifier attempts player has finished.
func (s *Service) AttemptsOf(ctx context.Context, id, player string) (int, error) {
	if _, err := s.st.Tournament(ctx, id); err != nil {
		return 0, err
	}
	as, err := s.st.PlayerAttempts(ctx, id, player)
	return len(as), err
}

// Playing returns who plays a match (its players who checked in) and,
// once tied at the cut, who is in its sudden death.
func (s *Service) Playing(ctx context.Context, id string, round, slot int) (present, tied []string, err error) {
	_, o, err := s.match(ctx, id, round, slot)
	return o.Present, o.Tied, err
}

func jsonOf(c Config) ([]byte, error) { return json.Marshal(c) }

// entrantOf is who enters the bracket for player: the player, or in a
// team tournament their unit (any member of a team checks it in). A
// player in no team is returned as is.
func (s *Service) entrantOf(ctx context.Context, c Config, id, player string) (string, error) {
	if c.Teams == nil {
		return player, nil
	}
	ts, err := s.st.Teams(ctx, id)
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		if slices.Contains(t.Players, player) {
			return t.Unit, nil
		}
	}
	return player, nil
}
