package room

import (
	"encoding/json"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
)

// Journal entry kinds. The state of a room is the fold of its entries.
const (
	kindJoin     = "join"
	kindLeave    = "leave"
	kindKick     = "kick"
	kindAllow    = "allow" // the host lets a kicked player back in
	kindStart    = "start"
	kindQuestion = "question"
	kindAnswer   = "answer"
	kindReveal   = "reveal"
	kindSkip     = "skip"
	kindPause    = "pause"
	kindResume   = "resume"
	kindFinish   = "finish"
	// kindRewind follows a gap a failed write left: the entries between
	// the gap and it are void, and the fold goes on from entry After.
	kindRewind = "rewind"
	// kindSent notes that the current question went out to its players
	// late, at the entry's time: its time runs from then (Room.takeOut).
	kindSent = "sent"
)

type rewindData struct {
	After int64 `json:"after"`
}

type joinData struct {
	Player string `json:"player"`
	Name   string `json:"name"`
	Team   string `json:"team,omitempty"`
	Addr   string `json:"addr,omitempty"` // the client's address, barred if the player is kicked
}

type playerData struct {
	Player string `json:"player"`
}

type questionData struct {
	Index int `json:"index"`
}

type indexData struct {
	Index int `json:"index"`
}

type answerData struct {
	Player  string   `json:"player"`
	Index   int      `json:"index"`
	Choice  []string `json:"choice,omitempty"`
	Text    string   `json:"text,omitempty"`
	Elapsed int64    `json:"elapsed"` // ms
}

type pauseData struct {
	From      string `json:"from"`
	Remaining int64  `json:"remaining"` // ms
}

// bar keeps a kicked player out of an event: no new player may join with
// its name (folded, as answers are: case, width and spaces do not matter) or
// from its address.
type bar struct {
	player, name, addr string
}

// barred returns the bar that keeps out a new player with name from addr.
func (s *state) barred(name, addr string) (bar, bool) {
	folded := questionbank.Fold(name)
	for _, b := range s.bars {
		if (b.name != "" && b.name == folded) || (b.addr != "" && b.addr == addr) {
			return b, true
		}
	}
	return bar{}, false
}

// permutations is how many option orders a question is shown in. Each is
// encoded once per question, so a shuffle costs a few encodings, not one per
// player.
const permutations = 4

// player is a member of a room. Fields are owned by the room goroutine.
type player struct {
	id, name, team string
	addr           string // the address it joined from
	seq            int    // join order
	perm           int    // which option order this player sees
	peer           Peer
	left, kicked   bool

	score    int64
	streak   int
	timeMS   int64 // total elapsed of correct answers
	answers  map[int]*answer
	prevRank int
	rank     int
	delta    int64
}

func (p *player) rankKey() (int64, int64, int) { return p.score, p.timeMS, p.seq }

// answer is one player's answer to one question.
type answer struct {
	choice  []string
	text    string
	elapsed time.Duration
	correct bool
	points  int64
	// ack is the answer's durability, which its acks wait for: one
	// rebuilt from the journal is durable already.
	ack pendingAck
}

// pendingAck lets a repeated answer wait for the first one's durability, so
// that every ack, the first or a duplicate, means durable. A rebuilt
// answer's is durable from the start.
type pendingAck struct {
	room    *Room // told when the entry fails; nil when rebuilt
	mu      sync.Mutex
	durable bool
	err     error
	waiting *ackSend // the acks waiting, the latest first
}

func (a *pendingAck) settle(err error) {
	if r := a.room; r != nil {
		if err == nil && r.failed.Load() {
			err = errEarlierFailed // durable, but past the gap: void
		}
		if err != nil {
			r.fail(err)
		}
	}
	a.mu.Lock()
	a.durable, a.err = true, err
	w := a.waiting
	a.waiting = nil
	a.mu.Unlock()
	// Sent in the order they came.
	var first *ackSend
	for w != nil {
		next := w.next
		w.next, first = first, w
		w = next
	}
	for w := first; w != nil; {
		next := w.next
		w.send(err)
		w = next
	}
}

// then sends s once the answer is durable (now, if it already is).
func (a *pendingAck) then(s *ackSend) {
	a.mu.Lock()
	if !a.durable {
		s.next, a.waiting = a.waiting, s
		a.mu.Unlock()
		return
	}
	err := a.err
	a.mu.Unlock()
	s.send(err)
}

// ackSend is one ack on its way: whom it goes to and what it says, and
// the frame and bytes it is written from, so that an ack costs one
// allocation. The frame goes to the peer's writer once and is never
// reused.
type ackSend struct {
	peer     Peer
	re       string
	received time.Time // when the gateway read the answer
	ack      protocol.Ack
	next     *ackSend // in a pendingAck's list
	frame    protocol.Frame
	part     [1][]byte
	buf      [112]byte // the ack's bytes, unless its request id is long
}

// send sends the ack, or if the answer could not be stored, an error.
func (s *ackSend) send(err error) {
	if err != nil {
		s.peer.Send(protocol.NewFrame(protocol.ErrorMessage(s.re, &protocol.Error{Code: protocol.CodeUnavailable, Message: "could not store the answer"})))
		return
	}
	s.part[0] = protocol.AppendAck(s.buf[:0], s.re, s.ack)
	s.frame.Parts = s.part[:]
	s.frame.Received = s.received
	s.peer.Send(&s.frame)
}

// state is everything a room knows; apply is the only way it changes.
type state struct {
	cfg *Config
	seq int64 // last journal sequence number

	phase    string
	phaseAt  time.Time // when the current phase began
	index    int       // current question, -1 before the first
	qStart   time.Time // when the current question was asked (or went out, if late)
	deadline time.Time // the current question's deadline (moves on resume, or when it went out late)
	paused   time.Duration
	skipped  map[int]bool

	pausedFrom string
	remaining  time.Duration

	players  map[string]*player
	order    []*player       // join order
	names    map[string]bool // every name taken in this room
	bars     []bar           // what kicks keep out, until the host allows the player back
	nPresent int             // players who have not left
	answered int             // answers to the current question
}

func newState(cfg *Config) *state {
	return &state{cfg: cfg, phase: PhaseLobby, index: -1, players: map[string]*player{}, names: map[string]bool{}, skipped: map[int]bool{}}
}

// entry makes the next journal entry.
func (s *state) entry(kind string, at time.Time, data any) store.JournalEntry {
	return store.JournalEntry{Room: s.cfg.ID, Seq: s.seq + 1, Kind: kind, At: at, Data: entryData(data)}
}

// entryData encodes an entry's data as encoding/json does. The entries
// every question writes, {"index":N}, are written directly: on a room's
// goroutine encoding/json's reflection is what grows its stack.
func entryData(data any) json.RawMessage {
	switch d := data.(type) {
	case nil:
		return nil
	case questionData:
		return appendIndex(d.Index)
	case indexData:
		return appendIndex(d.Index)
	}
	raw, _ := json.Marshal(data)
	return raw
}

func appendIndex(i int) json.RawMessage {
	b := make([]byte, 0, len(`{"index":}`)+20)
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, '}')
}

// apply folds one stored entry into the state: how a room is rebuilt
// from its journal.
func (s *state) apply(e store.JournalEntry) { s.fold(e, decodeData(e)) }

// replay folds a stored journal (in seq order). A failed write leaves a
// gap, and after it entries that were written but never counted as stored
// (their room had stopped counting after the failure): those are skipped
// up to the rewind entry that names the last entry folded before the gap.
// It reports whether a gap is still open at the end, and the highest seq
// seen.
func (s *state) replay(entries []store.JournalEntry) (gap bool, maxSeq int64) {
	for _, e := range entries {
		maxSeq = max(maxSeq, e.Seq)
		if gap {
			if e.Kind == kindRewind && decodeAs[rewindData](e.Data).(rewindData).After == s.seq {
				gap = false
				s.seq = e.Seq
			}
			continue
		}
		if e.Seq != s.seq+1 {
			gap = true
			continue
		}
		s.apply(e)
	}
	return gap, maxSeq
}

// decodeData decodes an entry's data into the type its kind records, the
// same value record passed in; nil for kinds without data.
func decodeData(e store.JournalEntry) any {
	switch e.Kind {
	case kindJoin:
		return decodeAs[joinData](e.Data)
	case kindLeave, kindKick, kindAllow:
		return decodeAs[playerData](e.Data)
	case kindQuestion:
		return decodeAs[questionData](e.Data)
	case kindAnswer:
		return decodeAs[answerData](e.Data)
	case kindSent:
		return decodeAs[indexData](e.Data)
	case kindPause:
		return decodeAs[pauseData](e.Data)
	}
	return nil
}

// decodeAs decodes b into a T. The journal only holds what the room wrote,
// so a decoding error leaves the zero value, as it always did.
func decodeAs[T any](b []byte) any {
	var v T
	_ = json.Unmarshal(b, &v)
	return v
}

// fold applies entry e, whose data decoded is data: live, the value the
// room recorded; rebuilt, what decodeData read back. Every data type is
// strings and integers, which come back from JSON unchanged, so both ways
// reach the same state. It must be deterministic.
func (s *state) fold(e store.JournalEntry, data any) {
	s.seq = e.Seq
	switch e.Kind {
	case kindJoin:
		d, _ := data.(joinData)
		if p, ok := s.players[d.Player]; ok {
			if p.left && !p.kicked {
				p.left = false
				s.nPresent++
			}
			return
		}
		p := &player{id: d.Player, name: d.Name, team: d.Team, addr: d.Addr, seq: len(s.order), answers: map[int]*answer{}}
		p.perm = permOf(d.Player)
		s.players[p.id] = p
		s.order = append(s.order, p)
		s.names[d.Name] = true
		s.nPresent++
	case kindLeave, kindKick:
		d, _ := data.(playerData)
		if p, ok := s.players[d.Player]; ok {
			if !p.left {
				s.nPresent--
			}
			if e.Kind == kindKick && !p.kicked {
				// A kick before bars were journalled folds to the same bar:
				// it is made from the player, not from the entry.
				s.bars = append(s.bars, bar{player: p.id, name: questionbank.Fold(p.name), addr: p.addr})
			}
			p.left = true
			p.kicked = p.kicked || e.Kind == kindKick
		}
	case kindAllow:
		d, _ := data.(playerData)
		if p, ok := s.players[d.Player]; ok {
			p.kicked = false
		}
		s.bars = slices.DeleteFunc(s.bars, func(b bar) bool { return b.player == d.Player })
	case kindStart:
		s.setPhase(PhaseCountdown, e.At)
	case kindQuestion:
		d, _ := data.(questionData)
		s.index = d.Index
		s.qStart = e.At
		s.deadline = e.At.Add(s.cfg.TimeLimit)
		s.paused = 0
		s.answered = 0
		for _, p := range s.order {
			if _, ok := p.answers[d.Index]; ok {
				s.answered++ // a question replayed after a restart keeps its answers
			}
		}
		s.setPhase(PhaseQuestion, e.At)
	case kindSent:
		d, _ := data.(indexData)
		if s.phase == PhaseQuestion && s.index == d.Index {
			s.qStart = e.At
			s.deadline = e.At.Add(s.cfg.TimeLimit)
		}
	case kindAnswer:
		d, _ := data.(answerData)
		s.foldAnswer(&d)
	case kindReveal:
		s.score(s.index)
		s.setPhase(PhaseReveal, e.At)
	case kindSkip:
		s.skipped[s.index] = true
		s.rankAll() // deltas are zero for a voided question
		for _, p := range s.order {
			p.delta = 0
		}
		s.setPhase(PhaseReveal, e.At)
	case kindPause:
		d, _ := data.(pauseData)
		s.pausedFrom = d.From
		s.remaining = time.Duration(d.Remaining) * time.Millisecond
		s.setPhase(PhasePaused, e.At)
	case kindResume:
		from := s.pausedFrom
		pausedFor := e.At.Sub(s.phaseAt)
		switch from {
		case PhaseQuestion:
			s.deadline = e.At.Add(s.remaining)
			s.paused += pausedFor
			s.setPhase(PhaseQuestion, e.At)
		case PhaseCountdown:
			// Restart the countdown with what was left of it.
			s.setPhase(PhaseCountdown, e.At.Add(s.remaining-s.cfg.Countdown))
		case PhaseReveal:
			s.setPhase(PhaseReveal, e.At.Add(s.remaining-s.cfg.RevealFor))
		default:
			s.setPhase(from, e.At)
		}
		s.pausedFrom = ""
	case kindFinish:
		s.setPhase(PhaseFinished, e.At)
	}
}

// foldAnswer folds an answer entry's data (fold's kindAnswer) and returns
// the answer it adds, nil if it adds none.
func (s *state) foldAnswer(d *answerData) *answer {
	p, ok := s.players[d.Player]
	if !ok || d.Index < 0 || d.Index >= len(s.cfg.Questions) {
		return nil
	}
	if _, dup := p.answers[d.Index]; dup {
		return nil
	}
	q := &s.cfg.Questions[d.Index]
	a := &answer{
		choice:  d.Choice,
		text:    d.Text,
		elapsed: time.Duration(d.Elapsed) * time.Millisecond,
		correct: q.Check(d.Choice, d.Text),
		ack:     pendingAck{durable: true},
	}
	p.answers[d.Index] = a
	if d.Index == s.index {
		s.answered++
	}
	return a
}

// appendAnswerData appends d's JSON, as encoding/json writes it.
func appendAnswerData(b []byte, d *answerData) []byte {
	b = append(b, `{"player":`...)
	b = protocol.AppendString(b, d.Player)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(d.Index), 10)
	if len(d.Choice) > 0 {
		b = append(b, `,"choice":[`...)
		for i, c := range d.Choice {
			if i > 0 {
				b = append(b, ',')
			}
			b = protocol.AppendString(b, c)
		}
		b = append(b, ']')
	}
	if d.Text != "" {
		b = append(b, `,"text":`...)
		b = protocol.AppendString(b, d.Text)
	}
	b = append(b, `,"elapsed":`...)
	b = strconv.AppendInt(b, d.Elapsed, 10)
	return append(b, '}')
}

func (s *state) setPhase(p string, at time.Time) {
	s.phase = p
	s.phaseAt = at
}

// score awards the points of question i and re-ranks everyone.
func (s *state) score(i int) {
	q := &s.cfg.Questions[i]
	fastest := time.Duration(-1)
	for _, p := range s.order {
		if a := p.answers[i]; a != nil && a.correct && (fastest < 0 || a.elapsed < fastest) {
			fastest = a.elapsed
		}
	}
	for _, p := range s.order {
		a := p.answers[i]
		p.delta = 0
		if a == nil || !a.correct {
			p.streak = 0
			continue
		}
		p.streak++
		a.points = points(s.cfg.Scoring, s.cfg.TimeLimit, scored{correct: true, elapsed: a.elapsed, weight: q.W(), streak: p.streak}, fastest, s.cfg.StreakBonus)
		p.score += a.points
		p.timeMS += a.elapsed.Milliseconds()
		p.delta = a.points
	}
	s.rankAll()
}

// ranks reports whether a player appears in rankings: kicked players do
// not, nor do those who left before answering anything.
func (p *player) ranks() bool { return !p.kicked && !(p.left && len(p.answers) == 0) }

// rankable returns the players that appear in rankings, in join order.
func (s *state) rankable() []*player {
	ps := make([]*player, 0, len(s.order))
	for _, p := range s.order {
		if p.ranks() {
			ps = append(ps, p)
		}
	}
	return ps
}

// rankAll recomputes every player's rank, keeping the previous one.
func (s *state) rankAll() {
	ps := s.rankable()
	ranks := rankPlayers(ps)
	for i, p := range ps {
		p.prevRank = p.rank
		p.rank = ranks[i]
	}
}

// ranked returns the players best first, with their ranks as of the last
// scoring.
func (s *state) ranked() []*player {
	ps := s.rankable()
	rankPlayers(ps)
	return ps
}

// raceWon reports whether a race has reached its target.
func (s *state) raceWon() bool {
	if s.cfg.Scoring != Race {
		return false
	}
	for _, p := range s.order {
		if p.score >= s.cfg.RaceTarget {
			return true
		}
	}
	return false
}

// missed reports whether, in a room that ends on a miss, a player still
// in it answered the current question wrong or not at all.
func (s *state) missed() bool {
	if !s.cfg.EndOnMiss {
		return false
	}
	for _, p := range s.order {
		if p.left {
			continue
		}
		if a, ok := p.answers[s.index]; !ok || !a.correct {
			return true
		}
	}
	return false
}

// active counts the players who can still answer: present and connected.
func (s *state) active() int {
	n := 0
	for _, p := range s.order {
		if !p.left && p.peer != nil && p.peer.Connected() {
			n++
		}
	}
	return n
}

// everyoneAnswered reports whether every connected player has answered the
// current question.
func (s *state) everyoneAnswered() bool {
	for _, p := range s.order {
		if p.left || p.peer == nil || !p.peer.Connected() {
			continue
		}
		if _, ok := p.answers[s.index]; !ok {
			return false
		}
	}
	return true
}

// present counts players who have not left.
func (s *state) present() int { return s.nPresent }

func permOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % permutations)
}

// questionFor returns question i with its options in permutation k.
func questionFor(q *questionbank.Question, k int, roomID string, i int) []questionbank.Option {
	opts := append([]questionbank.Option(nil), q.Options...)
	if k == 0 || q.Type == questionbank.TrueFalse || len(opts) < 3 {
		return opts
	}
	// A deterministic shuffle seeded by room, question and permutation.
	h := fnv.New64a()
	h.Write([]byte(roomID))
	x := h.Sum64() ^ uint64(i)*0x9e3779b97f4a7c15 ^ uint64(k)*0xbf58476d1ce4e5b9
	for j := len(opts) - 1; j > 0; j-- {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		r := int(x % uint64(j+1))
		opts[j], opts[r] = opts[r], opts[j]
	}
	return opts
}
