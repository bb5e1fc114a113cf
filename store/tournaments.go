package store

import (
	"context"
	"encoding/json"
	"time"
)

// Tournament is an organizer's tournament. Config is the tournament
// package's own JSON (formats, sizes, pool, rules); the store keeps it as
// given.
type Tournament struct {
	ID        string
	Title     string
	Config    json.RawMessage
	CreatedAt time.Time
}

// Round states. A round moves scheduled -> started -> finished, each step
// a conditional UPDATE, so it fires and finishes once.
const (
	RoundScheduled = "scheduled"
	RoundStarted   = "started"
	RoundFinished  = "finished"
)

// TournamentRound is one knockout round, numbered from 1.
type TournamentRound struct {
	Tournament string
	Num        int
	StartsAt   time.Time
	State      string    // one of the Round* states
	FiredAt    time.Time // when it was fired; zero until then
	FinishedAt time.Time
}

// Attempt is one finished qualifier attempt. Num counts a player's
// attempts from 1.
type Attempt struct {
	Tournament string
	Player     string
	Num        int
	Score      int64
	Total      time.Duration // stored to the millisecond
	FinishedAt time.Time
}

// Entrant is a player seeded into a tournament's bracket; seeds count from 1.
type Entrant struct {
	Tournament string
	Player     string
	Seed       int
}

// CheckIn records that a player is present for a round.
type CheckIn struct {
	Tournament string
	Round      int
	Player     string
	At         time.Time
}

// TournamentMatch is one room of a fired round: its seats (player ids, ""
// for an empty seat), its state (the tournament package's words), the room
// that plays it once there is one, and its outcome as JSON.
type TournamentMatch struct {
	Tournament string
	Round      int
	Slot       int
	Seats      []string
	State      string
	Room       string
	Outcome    json.RawMessage
}

// TournamentTeam is a unit's team in a team tournament: the players its
// admin picked.
type TournamentTeam struct {
	Tournament string
	Unit       string
	Players    []string
	SetAt      time.Time
}

// Tournaments is the durable record of tournaments. *SQL implements it on
// both backends; storetest holds its contract.
type Tournaments interface {
	// CreateTournament stores a tournament and its rounds (all scheduled)
	// in one transaction. ErrExists if the id is taken.
	CreateTournament(ctx context.Context, t Tournament, rounds []TournamentRound) error
	Tournament(ctx context.Context, id string) (Tournament, error)
	// ListTournaments lists every tournament, newest first.
	ListTournaments(ctx context.Context) ([]Tournament, error)
	// UpdateTournament replaces a tournament's title, config and round
	// times while none of its rounds has fired; false (and nothing
	// written) once one has. ErrNotFound if there is no such tournament.
	UpdateTournament(ctx context.Context, t Tournament, rounds []TournamentRound) (bool, error)
	// SetTeam stores (or replaces) a unit's team.
	SetTeam(ctx context.Context, t TournamentTeam) error
	// Teams lists a tournament's teams by unit.
	Teams(ctx context.Context, tournament string) ([]TournamentTeam, error)
	// TournamentRounds lists a tournament's rounds by number.
	TournamentRounds(ctx context.Context, tournament string) ([]TournamentRound, error)
	// PendingRounds lists, over every tournament, the rounds that are
	// started or are scheduled at or before now, by start time.
	PendingRounds(ctx context.Context, now time.Time) ([]TournamentRound, error)

	// RecordAttempt stores a finished attempt as the player's next one
	// (a.Num is ignored and assigned) if the player has made fewer than
	// limit attempts; otherwise ErrInvalid and nothing is written. It
	// returns the attempt's number.
	RecordAttempt(ctx context.Context, a Attempt, limit int) (int, error)
	// FinishAttempt is RecordAttempt and FinishRoom(room) in one
	// transaction: the attempt is recorded exactly when its room's end
	// is, so a restart either plays the room to its end again or finds
	// both written. Over the limit the attempt is refused (ErrInvalid)
	// and the room's end is still stored.
	FinishAttempt(ctx context.Context, a Attempt, limit int, room Result) (int, error)
	// Attempts lists a tournament's attempts by player and number.
	Attempts(ctx context.Context, tournament string) ([]Attempt, error)
	// PlayerAttempts lists one player's attempts by number.
	PlayerAttempts(ctx context.Context, tournament, player string) ([]Attempt, error)

	// SetEntrants stores the seeded field in one transaction. ErrExists
	// if the tournament is seeded already (or a seed or player repeats).
	SetEntrants(ctx context.Context, tournament string, es []Entrant) error
	// Entrants lists the field by seed.
	Entrants(ctx context.Context, tournament string) ([]Entrant, error)

	// CheckIn records a check-in; a repeated one keeps the first time.
	CheckIn(ctx context.Context, c CheckIn) error
	CheckIns(ctx context.Context, tournament string, round int) ([]CheckIn, error)

	// FireRound moves the round from scheduled to started at `at` and
	// stores its matches, in one transaction. It returns false and writes
	// nothing if the round was not scheduled (fired already); ErrNotFound
	// if there is no such round.
	FireRound(ctx context.Context, tournament string, round int, at time.Time, matches []TournamentMatch) (bool, error)
	// FinishRound moves the round from started to finished; false if it
	// was not started.
	FinishRound(ctx context.Context, tournament string, round int, at time.Time) (bool, error)
	// Matches lists a round's matches by slot; round 0 lists every round's.
	Matches(ctx context.Context, tournament string, round int) ([]TournamentMatch, error)
	// UpdateMatch writes m's state, room and outcome if the match is in
	// state from; false (and nothing written) if it is not.
	UpdateMatch(ctx context.Context, m TournamentMatch, from string) (bool, error)
	// UpdateMatches is UpdateMatch for many matches in one transaction:
	// each is written if it is in state from; it reports which were.
	UpdateMatches(ctx context.Context, ms []TournamentMatch, from string) ([]bool, error)
}

var _ Tournaments = (*SQL)(nil)
