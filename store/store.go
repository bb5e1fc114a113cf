// Package store owns Leitai's durable records: players, tokens, question
// sets, rooms and their journals, results, events and profile points. One SQL
// implementation serves SQLite (the single-node default, pure Go) and, later,
// PostgreSQL; both must pass the contract suite in package storetest.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
)

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
)

// Token is a bearer credential, stored by the SHA-256 hex of its secret only.
type Token struct {
	Hash      string
	Kind      string // one of the Token* kinds
	Subject   string // the player id, or the event id of a host or screen token
	ExpiresAt time.Time
	CreatedAt time.Time
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
}

// JournalEntry is one fact in a room's history. Seq is assigned by the room
// and is unique per room.
type JournalEntry struct {
	Room string
	Seq  int64
	Kind string
	At   time.Time
	Data json.RawMessage
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
	// ReplaceTokens revokes every token of t's kind and subject and stores
	// t in their place, in one transaction.
	ReplaceTokens(ctx context.Context, t Token) error

	SaveQuestionSet(ctx context.Context, s QuestionSet) error
	QuestionSets(ctx context.Context) ([]QuestionSet, error)
	QuestionSet(ctx context.Context, id string) (QuestionSet, error)

	CreateRoom(ctx context.Context, r Room) error
	// Room returns a room's header; ErrNotFound if there is none.
	Room(ctx context.Context, id string) (Room, error)
	// AppendJournal writes the entries in one transaction, durably.
	AppendJournal(ctx context.Context, entries []JournalEntry) error
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

	// FinishMatch stores a finished match in one transaction: FinishRoom,
	// each player's new rating, and AwardPoints for each player. It returns
	// the points awarded by player.
	FinishMatch(ctx context.Context, r Result, day string, dailyCap int, players []PlayerResult) (map[string]int64, error)

	// AwardPoints records one finished game for the player on day
	// ("2006-01-02") and adds points to the player's total if fewer than
	// dailyCap games (0 means no cap) were counted that day already. It
	// returns the points actually awarded.
	AwardPoints(ctx context.Context, player, day string, points int64, dailyCap int) (int64, error)

	Close() error
}
