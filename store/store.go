// Package store owns Leitai's durable records: players, tokens, question
// sets, rooms and their journals, results, events and profile points. One SQL
// implementation serves SQLite (the single-node default, pure Go) and
// PostgreSQL (cluster mode, through pgx); both must pass the contract suite
// in package storetest.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrStaleEpoch refuses a journal append or a fence from an owner
	// whose epoch is lower than one the room has already seen: another
	// node has taken the room over since.
	ErrStaleEpoch = errors.New("store: stale epoch")
	// ErrInvalid is a value the database cannot store as given.
	ErrInvalid = errors.New("store: invalid value")
)

// RoomFault reports whether err is the fault of one room's records (its
// row is missing, a seq is taken, its epoch is stale, a value is invalid)
// rather than of the database: the same write without that room's records
// would succeed.
func RoomFault(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) ||
		errors.Is(err, ErrStaleEpoch) || errors.Is(err, ErrInvalid)
}

// Player is a registered or guest contestant.
type Player struct {
	ID        string
	Name      string
	Org       string
	Rating    float64 // matchmaking rating; 0 means not yet rated (1500)
	Points    int64   // all-time profile points
	CreatedAt time.Time
}

// Token kinds.
const (
	TokenPlayer    = "player"
	TokenResume    = "resume"
	TokenHost      = "host"
	TokenScreen    = "screen"
	TokenOrganizer = "organizer"
	// TokenOrgAdmin is an organization admin's: Subject is the code of
	// the node whose subtree it may see, rank, export and edit.
	TokenOrgAdmin = "orgadmin"
	// TokenOrgBoard is a leaderboard screen's: read-only, the leaderboards
	// of the subtree under the node whose code is Subject.
	TokenOrgBoard = "orgboard"
)

// Token is a bearer credential, stored by the SHA-256 hex of its secret only.
type Token struct {
	Hash      string
	Kind      string // one of the Token* kinds
	Subject   string // the player id, or the event id of a host or screen token
	ExpiresAt time.Time
	CreatedAt time.Time
	UsedAt    time.Time // when it was last presented (MarkTokensUsed); zero if never
}

// QuestionSet is an imported bank. Questions is the JSON array of
// questionbank.Question; it is empty in listings.
type QuestionSet struct {
	ID        string
	Name      string
	Count     int
	CreatedAt time.Time
	Questions json.RawMessage
}

// Room is the durable header of a room. Config is the room's own JSON.
type Room struct {
	ID         string
	Kind       string
	Config     json.RawMessage
	CreatedAt  time.Time
	FinishedAt time.Time // zero while the room is live
	// Epoch is the highest owner epoch that has written to the room or
	// fenced it (see FenceRoom); 0 on a single node.
	Epoch int64
}

// JournalEntry is one fact in a room's history. Seq is assigned by the room
// and is unique per room. Epoch is the fencing number of the room's owner
// that wrote it: in cluster mode the epoch of the owner's lease, on a
// single node 0. The store refuses an entry whose epoch is lower than one
// the room has seen (ErrStaleEpoch). Epoch is not stored with the entry
// and reads back as 0.
type JournalEntry struct {
	Room  string
	Seq   int64
	Kind  string
	At    time.Time
	Data  json.RawMessage
	Epoch int64
}

// RefusedError is AppendJournal's error when it wrote some of a batch and
// refused the rest: the entries of each (room, epoch) listed, because the
// room's epoch is higher (ErrStaleEpoch) or there is no such room
// (ErrNotFound). errors.Is sees every refusal's error.
type RefusedError struct {
	Refused []Refusal
}

// Refusal is one (room, epoch) whose entries were not written, and why.
type Refusal struct {
	Room  string
	Epoch int64
	Err   error
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("store: journal entries refused:")
	for i, r := range e.Refused {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(e.Refused)-i)
			break
		}
		fmt.Fprintf(&b, " room %s epoch %d: %v;", r.Room, r.Epoch, r.Err)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns each refusal's error, for errors.Is and errors.As.
func (e *RefusedError) Unwrap() []error {
	errs := make([]error, len(e.Refused))
	for i, r := range e.Refused {
		errs[i] = r.Err
	}
	return errs
}

// Of returns why the entry was refused, or nil if it was written.
func (e *RefusedError) Of(en *JournalEntry) error {
	for _, r := range e.Refused {
		if r.Room == en.Room && r.Epoch == en.Epoch {
			return r.Err
		}
	}
	return nil
}

// Result is a finished room's standings, as JSON.
type Result struct {
	Room       string
	Kind       string
	FinishedAt time.Time
	Standings  json.RawMessage
}

// Event is a stage event: its room, PIN and settings.
type Event struct {
	ID        string
	Room      string
	PIN       string
	Title     string
	Config    json.RawMessage
	CreatedAt time.Time
	EndedAt   time.Time // zero while live
	AwardedAt time.Time // zero until its points are paid (MarkEventAwarded)
}

// PlayerResult is one player's outcome of a finished match.
type PlayerResult struct {
	Player string
	Rating float64 // the new rating
	Points int64   // the points the finish is worth, before the daily cap
}

// Store is every durable record the server keeps.
type Store interface {
	// CreatePlayer stores a new player and its tokens in one transaction.
	CreatePlayer(ctx context.Context, p Player, tokens ...Token) error
	Player(ctx context.Context, id string) (Player, error)
	UpdateRating(ctx context.Context, id string, rating float64) error

	PutToken(ctx context.Context, t Token) error
	Token(ctx context.Context, hash string) (Token, error)
	DeleteToken(ctx context.Context, hash string) error
	// ReplaceTokens makes t the only token of its kind, in one transaction:
	// every other token of t.Kind is deleted and t is stored unless it is
	// already. It returns how many tokens it deleted. This is how a changed
	// organizer token revokes the one before it.
	ReplaceTokens(ctx context.Context, t Token) (revoked int, err error)
	// ReplaceSubjectTokens revokes every token of t's kind and subject
	// (an event's host or screen links) and stores t in their place, in one
	// transaction.
	ReplaceSubjectTokens(ctx context.Context, t Token) error

	// MarkPlayed notes that the players joined a room at at (the first
	// time counts); MarkTokensUsed that the tokens were presented at at.
	// Expire removes guests who never played and tokens no longer used,
	// as the rules say.
	MarkPlayed(ctx context.Context, at time.Time, players []string) error
	MarkTokensUsed(ctx context.Context, at time.Time, hashes []string) error
	Expire(ctx context.Context, r ExpireRules) (Expired, error)

	SaveQuestionSet(ctx context.Context, s QuestionSet) error
	QuestionSets(ctx context.Context) ([]QuestionSet, error)
	QuestionSet(ctx context.Context, id string) (QuestionSet, error)

	CreateRoom(ctx context.Context, r Room) error
	// Room returns a room's header; ErrNotFound if there is none.
	Room(ctx context.Context, id string) (Room, error)
	// AppendJournal writes the entries in one transaction, durably. Each
	// room's epoch is checked first: the entries of a (room, epoch) that
	// is stale or has no room are refused and the rest are written; the
	// error is then a *RefusedError. Any other failure writes nothing.
	AppendJournal(ctx context.Context, entries []JournalEntry) error
	// FenceRoom raises the room's epoch to epoch, so that appends from any
	// lower epoch are refused from then on. A new owner fences a room
	// before replaying its journal. ErrStaleEpoch if the room has seen a
	// higher epoch; ErrNotFound if there is no such room.
	FenceRoom(ctx context.Context, room string, epoch int64) error
	Journal(ctx context.Context, room string) ([]JournalEntry, error)
	// OpenRooms lists rooms that have not finished, oldest first.
	OpenRooms(ctx context.Context) ([]Room, error)
	// FinishRoom marks the room finished and stores its result.
	FinishRoom(ctx context.Context, r Result) error
	Result(ctx context.Context, room string) (Result, error)

	CreateEvent(ctx context.Context, e Event) error
	Event(ctx context.Context, id string) (Event, error)
	Events(ctx context.Context) ([]Event, error)
	EndEvent(ctx context.Context, id string, at time.Time) error
	// UnawardedEvents lists the events whose room's result is stored,
	// finished at or before finishedBy, but whose points are not noted
	// paid; MarkEventAwarded notes them paid, by the event's room. Together
	// they let a sweep pay event points that failed at the event's end.
	UnawardedEvents(ctx context.Context, finishedBy time.Time, limit int) ([]Event, error)
	MarkEventAwarded(ctx context.Context, room string, at time.Time) error

	// FinishMatch stores a finished match in one transaction: FinishRoom,
	// each player's new rating, and each player's award through the
	// ledger (see Award), ref "<kind>:<room>:<player>", source the room's
	// kind, on day (YYYY-MM-DD) under caps. It returns the points paid by
	// player; finishing the same room again pays nothing more.
	FinishMatch(ctx context.Context, r Result, day string, caps Caps, players []PlayerResult) (map[string]int64, error)

	// Award records awards in the points ledger, each exactly once by its
	// Ref, under the daily caps per source, with the rollups that the
	// leaderboards read, in one transaction.
	Award(ctx context.Context, caps Caps, awards []Award) ([]Award, error)
	// Ledger returns a player's awards, newest first.
	Ledger(ctx context.Context, player string, limit int) ([]Award, error)

	// Challenge runs (solo format): a player's best, and the leaderboard.
	RecordChallenge(ctx context.Context, run ChallengeBest) (int, error)
	ChallengeBestOf(ctx context.Context, player string) (ChallengeBest, error)
	ChallengeLeaderboard(ctx context.Context, limit int) ([]ChallengeBest, error)

	// The organization tree (see Org).
	AddOrgs(ctx context.Context, orgs []Org) error
	Org(ctx context.Context, code string) (Org, error)
	OrgByJoinCode(ctx context.Context, joinCode string) (Org, error)
	Orgs(ctx context.Context, root string) ([]Org, error)
	UpdateOrg(ctx context.Context, o Org) error
	MoveOrg(ctx context.Context, code, parent string) error

	// Members of units (see Member).
	AddMembers(ctx context.Context, ms []Member) error
	Member(ctx context.Context, id string) (Member, error)
	MemberByPlayer(ctx context.Context, player string) (Member, error)
	MemberByInvite(ctx context.Context, hash string) (Member, error)
	Members(ctx context.Context, unit string) ([]Member, error)
	RegisterMember(ctx context.Context, inviteHash string, p Player, tokens ...Token) (Member, error)
	JoinMember(ctx context.Context, m Member, p Player, tokens ...Token) error
	MoveMember(ctx context.Context, id, unit string) error

	// Leaderboards, read from the rollups; period is a PeriodKey.
	TopPlayers(ctx context.Context, period, root string, offset, limit int) ([]Standing, error)
	Rank(ctx context.Context, period, player string) (MemberRank, error)
	UnitPoints(ctx context.Context, period string) ([]UnitPoints, error)
	TopMembers(ctx context.Context, period string, units []string, n int) (map[string][]Standing, error)

	Close() error
}
