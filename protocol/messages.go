package protocol

// Client → server message data.

// Hello opens a session as a guest (Name), with a token, or resuming.
type Hello struct {
	Name   string `json:"name,omitempty"`
	Token  string `json:"token,omitempty"`
	Resume string `json:"resume,omitempty"`
}

// Ping asks for the server's time.
type Ping struct {
	T int64 `json:"t"`
}

// MatchFind enters a quick-match queue.
type MatchFind struct {
	Mode     string `json:"mode"`
	Category string `json:"category,omitempty"`
	// Lang is the language of the questions: "zh" (the default) or "en".
	// Players are matched only with players of the same language.
	Lang string `json:"lang,omitempty"`
}

// MatchRematch asks the players of a finished quick match for a rematch,
// or accepts one offered (match.rematch); match.rematch_decline turns an
// offer down.
type MatchRematch struct {
	Room string `json:"room"`
}

// MatchCancel leaves a queue.
type MatchCancel struct {
	Ticket string `json:"ticket"`
}

// EventJoin joins a stage event by PIN.
type EventJoin struct {
	PIN  string `json:"pin"`
	Name string `json:"name,omitempty"`
	Team string `json:"team,omitempty"`
}

// HostControl is a host's command to its event room.
type HostControl struct {
	Room   string `json:"room"`
	Action string `json:"action"`
	Player string `json:"player,omitempty"`
}

// Watch subscribes a screen to a room's public messages.
type Watch struct {
	Room string `json:"room"`
}

// Answer answers the question at Index of Room.
type Answer struct {
	Room   string   `json:"room"`
	Index  int      `json:"index"`
	Choice []string `json:"choice,omitempty"`
	Text   *string  `json:"text,omitempty"`
}

// RoomLeave leaves a room.
type RoomLeave struct {
	Room string `json:"room"`
}

// Server → client message data.

// PlayerInfo names a player.
type PlayerInfo struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Team   string  `json:"team,omitempty"`
	Rating float64 `json:"rating,omitempty"`
}

// EventInfo tells a host or screen which event it serves.
type EventInfo struct {
	ID    string `json:"id"`
	Room  string `json:"room"`
	PIN   string `json:"pin"`
	Title string `json:"title"`
	// JoinURL is the contestants' link when the server has a public URL
	// (--public-url); without one, clients use their own address.
	JoinURL string `json:"join_url,omitempty"`
}

// Welcome answers hello.
type Welcome struct {
	Player     PlayerInfo `json:"player"`
	Role       string     `json:"role"`
	Resume     string     `json:"resume,omitempty"`
	Resumed    bool       `json:"resumed"`
	ServerTime int64      `json:"server_time"`
	Event      *EventInfo `json:"event,omitempty"`
}

// Pong answers ping.
type Pong struct {
	T          int64 `json:"t"`
	ServerTime int64 `json:"server_time"`
}

// MatchQueued confirms a queue entry.
type MatchQueued struct {
	Ticket string `json:"ticket"`
	Mode   string `json:"mode"`
}

// MatchFound tells a queued player its room.
type MatchFound struct {
	Ticket  string       `json:"ticket"`
	Room    string       `json:"room"`
	Mode    string       `json:"mode"`
	Players []PlayerInfo `json:"players"`
}

// RematchOffer tells a player of a finished quick match that another wants a
// rematch; it stands until ExpiresAt.
type RematchOffer struct {
	Room      string     `json:"room"`
	Mode      string     `json:"mode"`
	From      PlayerInfo `json:"from"`
	ExpiresAt int64      `json:"expires_at"`
}

// RematchCancelled tells that a rematch will not happen and why: declined,
// timeout or left.
type RematchCancelled struct {
	Room   string `json:"room"`
	Reason string `json:"reason"`
}

// TicketOnly carries a ticket (match.cancelled, match.timeout).
type TicketOnly struct {
	Ticket string `json:"ticket"`
}

// Option is a choice as shown to players.
type Option struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// PublicQuestion is a question as players see it: never the answer.
type PublicQuestion struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	Text    string   `json:"text"`
	Options []Option `json:"options,omitempty"`
}

// Question pushes a question.
type Question struct {
	Room      string         `json:"room"`
	Index     int            `json:"index"`
	Total     int            `json:"total"`
	Question  PublicQuestion `json:"question"`
	TimeLimit int64          `json:"time_limit_ms"`
	Deadline  int64          `json:"deadline"`
}

// Ack acknowledges a durable answer.
type Ack struct {
	Index     int   `json:"index"`
	Accepted  bool  `json:"accepted"`
	Elapsed   int64 `json:"elapsed"`
	Duplicate bool  `json:"duplicate,omitempty"`
}

// Progress counts answers to the current question.
type Progress struct {
	Room     string `json:"room"`
	Index    int    `json:"index"`
	Answered int    `json:"answered"`
	Of       int    `json:"of"`
}

// Countdown announces the first question.
type Countdown struct {
	Room     string `json:"room"`
	Index    int    `json:"index"`
	StartsAt int64  `json:"starts_at"`
}

// RevealYou is a player's own part of a reveal.
type RevealYou struct {
	Correct bool  `json:"correct"`
	Points  int64 `json:"points"`
	Score   int64 `json:"score"`
	Rank    int   `json:"rank"`
	Streak  int   `json:"streak"`
}

// Reveal is the shared part of a reveal; You is spliced in per player.
type Reveal struct {
	Room        string         `json:"room"`
	Index       int            `json:"index"`
	Correct     []string       `json:"correct"`
	Explanation string         `json:"explanation,omitempty"`
	Stats       map[string]int `json:"stats"`
	Skipped     bool           `json:"skipped,omitempty"`
}

// Standing is one line of a ranking.
type Standing struct {
	Rank     int    `json:"rank"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Team     string `json:"team,omitempty"`
	Score    int64  `json:"score"`
	Delta    int64  `json:"delta"`
	PrevRank int    `json:"prev_rank,omitempty"`
	TimeMS   int64  `json:"time_ms"`
	// Streak is the player's run of correct answers up to now.
	Streak int `json:"streak,omitempty"`
}

// TeamStanding is one team's line.
type TeamStanding struct {
	Rank    int    `json:"rank"`
	Team    string `json:"team"`
	Score   int64  `json:"score"`
	Members int    `json:"members"`
}

// Scoreboard is the top of the ranking after a question.
type Scoreboard struct {
	Room    string         `json:"room"`
	Index   int            `json:"index"`
	Players int            `json:"players"`
	Top     []Standing     `json:"top"`
	Teams   []TeamStanding `json:"teams,omitempty"`
}

// Paused tells that the room's clock stopped.
type Paused struct {
	Room        string `json:"room"`
	RemainingMS int64  `json:"remaining_ms"`
}

// Resumed tells the new deadline after a pause.
type Resumed struct {
	Room     string `json:"room"`
	Deadline int64  `json:"deadline"`
}

// FinishedYou is a player's own part of room.finished.
type FinishedYou struct {
	Rank          int   `json:"rank"`
	Score         int64 `json:"score"`
	PointsAwarded int64 `json:"points_awarded"`
}

// Finished is the shared part of room.finished.
type Finished struct {
	Room      string         `json:"room"`
	Standings []Standing     `json:"standings"`
	Teams     []TeamStanding `json:"teams,omitempty"`
	Players   int            `json:"players"`
}

// Joined tells watchers (and small rooms) who joined.
type Joined struct {
	Room   string     `json:"room"`
	Player PlayerInfo `json:"player"`
	Count  int        `json:"count"`
}

// Kicked tells a player it was removed.
type Kicked struct {
	Room   string `json:"room"`
	Reason string `json:"reason"` // English, for clients that do not know Code
	// Code names the reason for pages that say it in their own language:
	// removed_by_host.
	Code string `json:"code,omitempty"`
}

// AnswerRecord is one of a player's answers, in room.state.
type AnswerRecord struct {
	Index   int      `json:"index"`
	Choice  []string `json:"choice,omitempty"`
	Text    string   `json:"text,omitempty"`
	Correct *bool    `json:"correct,omitempty"` // only once revealed
	Points  int64    `json:"points"`
}

// StateYou is a player's own part of room.state.
type StateYou struct {
	Name     string         `json:"name,omitempty"` // as the room knows it (a duplicate gets a suffix)
	Team     string         `json:"team,omitempty"`
	Score    int64          `json:"score"`
	Rank     int            `json:"rank"`
	Answered bool           `json:"answered"`
	Streak   int            `json:"streak"`
	Answers  []AnswerRecord `json:"answers"`
}

// Member is a room member in room.state.
type Member struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Team  string `json:"team,omitempty"`
	Score int64  `json:"score"`
}

// State is a full snapshot of a room for one viewer.
type State struct {
	Room        string          `json:"room"`
	Kind        string          `json:"kind"`
	Title       string          `json:"title,omitempty"`
	Phase       string          `json:"phase"`
	Index       int             `json:"index"`
	Total       int             `json:"total"`
	Deadline    int64           `json:"deadline,omitempty"`
	TimeLimit   int64           `json:"time_limit_ms"`
	RemainingMS int64           `json:"remaining_ms,omitempty"`
	Question    *PublicQuestion `json:"question"`
	Players     int             `json:"players"`
	Answered    int             `json:"answered"`
	PIN         string          `json:"pin,omitempty"`
	TeamMode    string          `json:"team_mode,omitempty"`
	Teams       []string        `json:"teams,omitempty"`
	Members     []Member        `json:"members,omitempty"`
	Scoreboard  *Scoreboard     `json:"scoreboard,omitempty"`
	You         *StateYou       `json:"you,omitempty"`
}

// PartyJoin asks to join a party by its invite code.
type PartyJoin struct {
	Code string `json:"code"`
}

// PartyState is a party as its members see it: pushed to every member
// whenever someone joins or leaves. Leader is the member who may queue.
type PartyState struct {
	Party   string       `json:"party"`
	Code    string       `json:"code"`
	Leader  string       `json:"leader"`
	Members []PlayerInfo `json:"members"`
}

// PartyLeft tells a player it is no longer in a party.
type PartyLeft struct {
	Party string `json:"party"`
}
