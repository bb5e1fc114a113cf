// Package room runs contests. A room is one goroutine that owns a contest's
// state — players, phase, questions, answers, scores — and changes it only by
// recording journal entries and folding them in, so the same fold rebuilds a
// room after a restart. Everything else talks to the room through its inbox.
package room

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
)

// Sentinel errors.
var (
	ErrClosed = errors.New("room: closed")
)

// Kinds of room.
const (
	KindDuel  = "duel"
	KindFour  = "four"
	KindTeam  = "team"
	KindEvent = "event"
	// Solo formats: one player, no opponent.
	KindDaily     = "daily"
	KindChallenge = "challenge"
)

// Phases.
const (
	PhaseLobby     = "lobby"
	PhaseCountdown = "countdown"
	PhaseQuestion  = "question"
	PhaseReveal    = "reveal"
	PhasePaused    = "paused"
	PhaseFinished  = "finished"
)

// Config is what a room is made of. It is stored with the room, so a room
// rebuilt after a restart plays the same questions by the same rules.
type Config struct {
	ID        string                  `json:"id"`
	Kind      string                  `json:"kind"`
	Title     string                  `json:"title,omitempty"`
	PIN       string                  `json:"pin,omitempty"`
	Questions []questionbank.Question `json:"questions"`
	// TimeLimit per question; 0 means 20 s.
	TimeLimit time.Duration `json:"time_limit"`
	// Scoring is Speed, Race or Accuracy; "" means Speed for events and Race
	// for quick matches.
	Scoring     string `json:"scoring"`
	StreakBonus bool   `json:"streak_bonus"`
	// RaceTarget ends a Race match when a player reaches it; 0 means 100.
	RaceTarget int64 `json:"race_target,omitempty"`
	// Countdown before the first question; 0 means 3 s.
	Countdown time.Duration `json:"countdown"`
	// RevealFor is how long a reveal shows before the next question when the
	// room advances by itself; 0 means 4 s.
	RevealFor time.Duration `json:"reveal_for"`
	// AutoAdvance moves on without a host. Quick matches always do.
	AutoAdvance bool `json:"auto_advance"`
	// AutoStart starts the countdown as soon as the room runs (quick matches).
	AutoStart bool `json:"auto_start"`
	LateJoin  bool `json:"late_join"`
	// TeamMode is "" (no teams), "mean" or "sum".
	TeamMode string   `json:"team_mode,omitempty"`
	Teams    []string `json:"teams,omitempty"`
	// Grace is how long after the deadline an answer can still arrive from a
	// player whose question was written late; 0 means 1 s.
	Grace time.Duration `json:"grace"`
	// TopN is the length of the scoreboard; 0 means 10.
	TopN int `json:"top_n,omitempty"`
	// EndOnMiss finishes the room after the first question that a player
	// answered wrong or not at all (the challenge format).
	EndOnMiss bool `json:"end_on_miss,omitempty"`
}

func (c *Config) defaults() {
	if c.TimeLimit <= 0 {
		c.TimeLimit = 20 * time.Second
	}
	if c.Scoring == "" {
		c.Scoring = Race
		if c.Kind == KindEvent {
			c.Scoring = Speed
		}
	}
	if c.RaceTarget <= 0 {
		c.RaceTarget = 100
	}
	if c.Countdown <= 0 {
		c.Countdown = 3 * time.Second
	}
	if c.RevealFor <= 0 {
		c.RevealFor = 4 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = time.Second
	}
	if c.TopN <= 0 {
		c.TopN = 10
	}
	if c.Kind != KindEvent {
		c.AutoAdvance = true
	}
}

// Peer is a player's (or watcher's) way to receive messages. The gateway
// implements it over the player's current connection; it outlives
// reconnects, so a room keeps one Peer per player. A room only sends to a
// peer: what it needs to know of a connection (how long an answer took)
// comes with the command, see AnswerIn.
type Peer interface {
	// Send queues a frame without blocking; false if it was dropped.
	Send(f *protocol.Frame) bool
	// Connected reports whether a connection is attached now.
	Connected() bool
	// Kick closes the player's connection with CloseKicked.
	Kick(reason string)
}

// Relayed is a peer on another node: what the room says to it goes by
// that node's Relay, together with what it says to the other peers there,
// so that a broadcast to N players on K nodes is K messages, not N.
type Relayed interface {
	Peer
	// Relayed returns the peer's relay and its id at the relay's node.
	Relayed() (Relay, string)
}

// Relay carries frames to the peers of one node. The room hands it, in
// one call, everything it says at once to that node's peers, in order.
type Relay interface {
	// Relay sends each item's frames and kicks. It must not block.
	Relay(items []RelayItem)
}

// RelayItem is one thing the room says to some peers of one node.
type RelayItem struct {
	// Room is the room that says it; empty on a frame a peer is sent
	// outside a broadcast (an ack).
	Room string
	IDs  []string
	// Frame goes to every peer in IDs; when it is nil, Frames[i] goes to
	// IDs[i].
	Frame  *protocol.Frame
	Frames []*protocol.Frame
	// Kick, if not empty, closes the peers' connections with CloseKicked
	// after sending.
	Kick string
}

// Journal makes entries durable, calling done once each is (or failed).
// Callbacks come in submission order.
type Journal interface {
	Submit(e store.JournalEntry, done func(error))
	// Then calls done once everything submitted before it is durable.
	Then(done func(error))
}

// Result is what a finished room hands to its Finisher.
type Result struct {
	Room      string
	Kind      string
	Config    *Config
	Standings []protocol.Standing
	Teams     []protocol.TeamStanding
	At        time.Time
}

// Finisher stores a finished room's result and awards profile points. The
// room hands it the result and goes on: Finish must not block, and does
// its store work elsewhere than on the room's goroutine. It calls done
// once, from any goroutine, with the points awarded per player id; the
// room then tells its players the result, points included.
type Finisher interface {
	Finish(r *Result, done func(awarded map[string]int64))
}

// Options are a room's collaborators. Zero values are not allowed for
// Journal; the others have defaults.
type Options struct {
	Clock    clock.Clock
	Journal  Journal
	Finisher Finisher
	Log      zerolog.Logger
	// ProgressEvery throttles progress messages; 0 means 250 ms.
	ProgressEvery time.Duration
	// OnClose is called once when the room's goroutine ends.
	OnClose func(id string)
	// Epoch is the fencing number of this node's ownership of the room
	// (its lease's epoch), carried by every entry it journals; 0 on a
	// single node. An entry the store refuses as stale means another node
	// owns the room now: the room stops at once (see Stale).
	Epoch int64
	// OnJournalFailure is called, on the room's goroutine as it ends, when
	// the room stopped because a journal entry failed. The room is done;
	// the callee restores it from its durable journal (Restore, Adopt)
	// once every entry it submitted is settled.
	OnJournalFailure func(r *Room)
}

// Room is one contest. Its exported methods may be called from any goroutine.
type Room struct {
	cfg  Config  // Static after construction.
	opts Options // Static after construction.

	inbox chan command
	done  chan struct{}

	st       *state     // Owned by run.
	watchers []Peer     // Owned by run: screens and hosts.
	outbox   []delivery // Owned by run: said but not yet sent, see flush.
	fan      fanout     // Sends what flush hands to it.
	timer    clock.Timer
	timerC   <-chan time.Time
	// progress throttling; owned by run.
	progressTimer clock.Timer
	progressC     <-chan time.Time
	lastProgress  int
	restored      bool // Static after construction: rebuilt from a journal.
	// rewindAfter, for a room rebuilt from a journal with a gap, is the
	// last entry folded; Run records a rewind entry naming it first. -1
	// when there is no gap to bridge. Set by Restore.
	rewindAfter int64
	// adopted is set when the room took over the peers of the room it was
	// restored for (see Adopt): Run sends each of them the state.
	adopted bool
	// settling is the result handed to the Finisher, until its points come
	// back on settled; owned by run. The room ends once it is told them.
	settling *Result
	settled  chan map[string]int64

	// A question's time runs from when it goes out to its players, once
	// the journal has made it durable, not from when the room asked it:
	// a journal held up for seconds (the store busy with other writes)
	// would otherwise spend the question's time before anyone saw it.
	// asks counts the questions asked; unflushed is the question the
	// next flush sends, and waiting the ask not yet gone out (0: none).
	// Owned by run. out is the last ask that went out, set on the
	// journal's goroutine, which then signals outC (see wentOut, takeOut).
	asks, waiting int64
	unflushed     *askedQuestion
	out           atomic.Pointer[questionOut]
	outC          chan struct{}

	// onEntry is the callback of entries recorded without one of their own.
	onEntry func(error) // Static after construction.
	// failed is set, and broken closed, by the first journal entry that
	// fails: memory is then ahead of disk, so from then on no entry counts
	// as durable, nothing more is sent, and Run stops so the room can be
	// restored from what is durable (Options.OnJournalFailure).
	failed    atomic.Bool
	broken    chan struct{}
	breakOnce sync.Once
	// stale is set when the store refused an entry as written by a stale
	// owner: the room was taken over elsewhere and must not run here.
	stale atomic.Bool
}

// errRestoring answers requests to a room that stopped on a journal
// failure, while it is restored from its durable journal.
var errRestoring = protocol.Errorf(protocol.CodeUnavailable, "the room could not store its last change and is being restored; try again")

// errEarlierFailed is given to an entry written after one of its room's
// entries failed: it is on disk, but past a gap that a restore skips.
var errEarlierFailed = errors.New("room: an earlier journal entry failed")

// fail notes that a journal entry failed. It runs on the journal's
// goroutine and only sets a flag and closes a channel.
func (r *Room) fail(err error) {
	if errors.Is(err, store.ErrStaleEpoch) {
		r.stale.Store(true)
	}
	r.failed.Store(true)
	r.breakOnce.Do(func() {
		// The room's logger is made here, not kept: a room of two would
		// otherwise hold a logger's buffer for its whole life for this one line.
		r.opts.Log.Error().Str("room", r.cfg.ID).Err(err).Msg("journal write failed; the room stops to be restored from its journal")
		close(r.broken)
	})
}

// Stale reports whether the room stopped because the store refused one of
// its entries as written by a stale owner: another node owns it now.
func (r *Room) Stale() bool { return r.stale.Load() }

// Finished reports whether the room reached its end; meaningful once Done
// is closed.
func (r *Room) Finished() bool {
	select {
	case <-r.done:
		return r.st.phase == PhaseFinished
	default:
		return false
	}
}

// Epoch is the ownership epoch the room journals under.
func (r *Room) Epoch() int64 { return r.opts.Epoch }

// closedErr is what a request meets once the room's goroutine has ended.
func (r *Room) closedErr() error {
	if r.failed.Load() {
		return errRestoring
	}
	return ErrClosed
}

// command is work for the room's goroutine: fn with its caller waiting on
// reply (see do), or an answer whose caller does not wait (see Submit).
type command struct {
	fn      func() error
	reply   chan error
	answer  *answerTask
	answers []answerTask // SubmitAll's
}

// answerTask is an answer handed to the room by Submit. Its outcome is
// reported exactly once, by whoever claims it first: the room taking it,
// the room emptying its inbox as it ends, or Submit finding the room ended
// after the hand-over.
type answerTask struct {
	in      AnswerIn
	done    func(error) // or, if nil, to
	to      Outcome
	claimed atomic.Bool
}

func (t *answerTask) claim() bool { return t.claimed.CompareAndSwap(false, true) }

// report tells the submitter the answer's outcome.
func (t *answerTask) report(err error) {
	if t.done != nil {
		t.done(err)
		return
	}
	t.to.Answered(t.in.Re, err)
}

// Outcome is told how an answer handed over by SubmitTo went: err is nil
// when the room took it (its ack follows once it is durable). re is the
// answer's request id. Answered runs on the room's goroutine, or the
// submitter's, and must not block.
type Outcome interface {
	Answered(re string, err error)
}

// New makes a room. Call Run to start it.
func New(cfg Config, opts Options) (*Room, error) {
	cfg.defaults()
	if len(cfg.Questions) == 0 {
		return nil, fmt.Errorf("room %s: no questions", cfg.ID)
	}
	if !ValidScoring(cfg.Scoring) {
		return nil, fmt.Errorf("room %s: unknown scoring %q", cfg.ID, cfg.Scoring)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 250 * time.Millisecond
	}
	r := &Room{
		cfg:     cfg,
		opts:    opts,
		inbox:   make(chan command, inboxSize(cfg.Kind)),
		done:    make(chan struct{}),
		fan:     fanout{wg: new(sync.WaitGroup), room: cfg.ID},
		settled: make(chan map[string]int64, 1),
		outC:    make(chan struct{}, 1),
	}
	r.broken, r.rewindAfter = make(chan struct{}), -1
	r.onEntry = func(err error) {
		if err != nil {
			r.fail(err)
		}
	}
	r.st = newState(&r.cfg)
	return r, nil
}

// ID returns the room id.
func (r *Room) ID() string { return r.cfg.ID }

// Config returns the room's configuration.
func (r *Room) Config() Config { return r.cfg }

// Done is closed when the room has finished and its goroutine ended.
func (r *Room) Done() <-chan struct{} { return r.done }

// Run owns the room until it finishes or ctx ends. Runs in its own goroutine.
func (r *Room) Run(ctx context.Context) error {
	defer func() {
		if r.timer != nil {
			r.timer.Stop()
		}
		if r.progressTimer != nil {
			r.progressTimer.Stop()
		}
		close(r.done)
		r.refuseLeftovers()
		if r.opts.OnClose != nil {
			r.opts.OnClose(r.cfg.ID)
		}
		if r.failed.Load() && r.st.phase != PhaseFinished && r.opts.OnJournalFailure != nil {
			r.opts.OnJournalFailure(r)
		}
	}()
	if r.restored {
		r.resumeAfterRestore()
	} else if r.st.phase == PhaseLobby && r.cfg.AutoStart {
		r.record(kindStart, nil, nil)
		for _, p := range r.recipients() {
			r.sendState(p.peer, p, "")
		}
	}
	r.arm()
	for {
		r.flush()
		if r.st.phase == PhaseFinished && r.settling == nil {
			return nil
		}
		if r.failed.Load() {
			return errRestoring
		}
		select {
		case <-ctx.Done():
			if r.settling != nil {
				// The result is being stored: wait for it, so that its
				// players are told it before the room ends.
				r.sayFinished(r.settling, <-r.settled)
				r.flush()
			}
			return ctx.Err()
		case awarded := <-r.settled:
			r.sayFinished(r.settling, awarded)
		case <-r.outC:
			r.takeOut()
		case <-r.broken:
			return errRestoring
		case c := <-r.inbox:
			if t := c.answer; t != nil {
				if t.claim() {
					t.report(r.answer(t.in))
				}
				continue
			}
			if c.answers != nil {
				for i := range c.answers {
					if t := &c.answers[i]; t.claim() {
						t.report(r.answer(t.in))
					}
				}
				continue
			}
			err := c.fn()
			if c.reply != nil {
				c.reply <- err
			}
		case <-r.timerC:
			r.timerC = nil
			r.onTimer()
		case <-r.progressC:
			r.progressC = nil
			r.sendProgress()
		}
	}
}

// inboxSize is a room's command buffer: a stage event takes bursts of
// thousands of answers; a match of a few players needs little, and there
// are thousands of matches.
func inboxSize(kind string) int {
	if kind == KindEvent {
		return 1024
	}
	return 16
}

// Restore rebuilds a room by folding its journal. Run then carries on: a
// question that was open is asked again with a fresh deadline (the answers
// already acknowledged for it stand), a countdown starts again, a reveal or
// pause carries on as it was.
//
// A journal that a failed write left with a gap is folded up to the gap;
// what follows the gap (entries written after the failed one, which no
// client was told were stored) is skipped up to a rewind entry that names
// the last entry folded, after which folding goes on. If no rewind entry
// bridges the gap yet, Run records one first, after the highest seq in
// the journal, so no seq is ever reused.
func Restore(cfg Config, opts Options, entries []store.JournalEntry) (*Room, error) {
	r, err := New(cfg, opts)
	if err != nil {
		return nil, err
	}
	if gap, maxSeq := r.st.replay(entries); gap {
		r.rewindAfter = r.st.seq
		r.st.seq = maxSeq
	}
	r.restored = true
	return r, nil
}

// Adopt takes over the peers of old, the room this one was restored for
// in place (old has ended): its members' peers and its watchers, each of
// which Run then sends the state. Call it before Run.
func (r *Room) Adopt(old *Room) {
	<-old.done
	for _, p := range r.st.order {
		if op, ok := old.st.players[p.id]; ok {
			p.peer = op.peer
		}
	}
	r.watchers = append(r.watchers, old.watchers...)
	r.adopted = true
}

// SetPeer gives member id a new peer, such as a bot started anew for a
// room restored in place. Call it before Run.
func (r *Room) SetPeer(id string, p Peer) {
	if m, ok := r.st.players[id]; ok {
		m.peer = p
	}
}

// FinishedResult returns the result of a room whose journal ends in its
// finish entry, as the room would have handed it to its Finisher, and
// false for a room not finished. A restart uses it for a room whose result
// did not reach the store (a crash or a store error after the finish
// entry). Call it before Run, on a room just restored.
func (r *Room) FinishedResult() (*Result, bool) {
	if r.st.phase != PhaseFinished {
		return nil, false
	}
	r.st.rankAll()
	return &Result{Room: r.cfg.ID, Kind: r.cfg.Kind, Config: &r.cfg, Standings: r.standings(0), Teams: r.teams(), At: r.st.phaseAt}, true
}

// Members lists the ids of the players who have not left. Call it before
// Run (for example on a room just restored).
func (r *Room) Members() []string {
	var out []string
	for _, p := range r.st.order {
		if !p.left {
			out = append(out, p.id)
		}
	}
	return out
}

func (r *Room) resumeAfterRestore() {
	if r.rewindAfter >= 0 {
		r.record(kindRewind, rewindData{After: r.rewindAfter}, nil)
		r.rewindAfter = -1
	}
	if r.adopted {
		for _, w := range r.watchers {
			r.sendState(w, nil, "")
		}
		for _, p := range r.recipients() {
			r.sendState(p.peer, p, "")
		}
	}
	switch r.st.phase {
	case PhaseQuestion:
		r.askQuestion(r.st.index)
	case PhaseCountdown:
		r.record(kindStart, nil, nil)
	case PhaseLobby:
		if r.cfg.AutoStart {
			r.record(kindStart, nil, nil)
		}
	case PhaseReveal:
		// Give the reveal its full time again from now.
		r.st.phaseAt = r.now()
	}
}

// do runs fn on the room goroutine and waits for its result.
func (r *Room) do(ctx context.Context, fn func() error) error {
	c := command{fn: fn, reply: make(chan error, 1)}
	select {
	case r.inbox <- c:
	case <-r.done:
		return r.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-r.done:
		return r.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refuseLeftovers tells the senders of answers still in the inbox, which
// the room will never take, that it has ended. Callers of do see done
// closed on their own.
func (r *Room) refuseLeftovers() {
	for {
		select {
		case c := <-r.inbox:
			if t := c.answer; t != nil && t.claim() {
				t.report(r.closedErr())
			}
			for i := range c.answers {
				if t := &c.answers[i]; t.claim() {
					t.report(r.closedErr())
				}
			}
		default:
			return
		}
	}
}

// arm sets the room's timer for its current phase.
func (r *Room) arm() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer, r.timerC = nil, nil
	}
	var at time.Time
	switch r.st.phase {
	case PhaseCountdown:
		at = r.st.phaseAt.Add(r.cfg.Countdown)
	case PhaseQuestion:
		at = r.st.deadline.Add(r.cfg.Grace)
	case PhaseReveal:
		if !r.cfg.AutoAdvance {
			return
		}
		at = r.st.phaseAt.Add(r.cfg.RevealFor)
	default:
		return
	}
	r.timer = r.opts.Clock.NewTimer(at.Sub(r.opts.Clock.Now()))
	r.timerC = r.timer.C()
}

// onTimer moves the room on when its phase's time is up.
func (r *Room) onTimer() {
	switch r.st.phase {
	case PhaseCountdown:
		r.askQuestion(0)
	case PhaseQuestion:
		r.takeOut()
		if r.waiting != 0 {
			return // not out yet: its time has not begun (takeOut arms the timer once it has)
		}
		if r.now().Before(r.st.deadline.Add(r.cfg.Grace)) {
			r.arm() // it went out late, and its time runs from then
			return
		}
		r.closeQuestion()
	case PhaseReveal:
		r.advance()
	}
}

// advance goes from a reveal to the next question or the end.
func (r *Room) advance() {
	if r.st.raceWon() || r.st.missed() || r.st.index+1 >= len(r.cfg.Questions) {
		r.finish()
		return
	}
	r.askQuestion(r.st.index + 1)
}

func (r *Room) askQuestion(i int) {
	r.record(kindQuestion, questionData{Index: i}, nil)
	r.asks++
	r.waiting = r.asks
	r.unflushed = r.broadcastQuestion()
	r.unflushed.ask = r.asks
	// To the journal at once, not after the command that asked it has
	// been answered: the question may go out as soon as it is durable.
	r.flush()
	r.arm()
}

// questionOut is when a question went out: ask is its number among the
// questions the room asked.
type questionOut struct {
	ask int64
	at  time.Time
}

// A question that goes out late by at most the grace divided by outSlack
// keeps its deadline: the grace covers that much (an answer measured at
// the edge may exceed the limit by half the grace, and its round trip is
// credited up to 350 ms by default), and no entry is recorded for it.
const outSlack = 10

// lateOut reports whether a question asked at asked and going out at at
// went out too late to keep its deadline.
func (r *Room) lateOut(asked, at time.Time) bool {
	return at.Sub(asked) > r.cfg.Grace/outSlack
}

// wentOut is called as q goes out, before its frames are sent: if it is
// late, they say its deadline from now; and the room is told. It runs on
// the journal's goroutine, touches only q's frames, and stores a pointer
// and signals the room.
func (r *Room) wentOut(q *askedQuestion) {
	at := r.opts.Clock.Now()
	if r.lateOut(q.asked, at) {
		q.redate(at.Add(r.cfg.TimeLimit))
	}
	r.out.Store(&questionOut{ask: q.ask, at: at})
	select {
	case r.outC <- struct{}{}:
	default:
	}
}

// takeOut, once the question the room waits on has gone out, starts its
// time from then if it went out later than the grace can cover: a sent
// entry moves its deadline, and the timer is armed anew.
func (r *Room) takeOut() {
	if r.waiting == 0 {
		return
	}
	o := r.out.Load()
	if o == nil || o.ask != r.waiting {
		return
	}
	r.waiting = 0
	s := r.st
	if s.phase != PhaseQuestion || s.paused > 0 {
		return // closed or paused meanwhile: the host's pause gave the time back
	}
	if r.lateOut(s.qStart, o.at) {
		r.recordAt(kindSent, o.at, indexData{Index: s.index}, nil)
		r.arm()
	}
}

func (r *Room) closeQuestion() {
	if r.progressC != nil {
		r.progressTimer.Stop()
		r.progressC = nil
	}
	r.record(kindReveal, indexData{Index: r.st.index}, nil)
	r.broadcastReveal()
	r.arm()
}

func (r *Room) finish() {
	r.record(kindFinish, nil, nil)
	r.broadcastFinished()
}

// now is the room's clock.
func (r *Room) now() time.Time { return r.opts.Clock.Now() }

// recordAnswer is record for an answer, the entry most often written: its
// data is encoded by hand rather than by reflection, and not boxed. It
// returns the answer added, whose acks wait until the entry is durable.
func (r *Room) recordAnswer(d *answerData) *answer {
	b := appendAnswerData(make([]byte, 0, 64+len(d.Player)+len(d.Text)), d)
	e := store.JournalEntry{Room: r.st.cfg.ID, Seq: r.st.seq + 1, Kind: kindAnswer, At: r.now(), Data: b, Epoch: r.opts.Epoch}
	r.st.seq = e.Seq
	a := r.st.foldAnswer(d)
	if a == nil { // the caller checked it is new; this does not happen
		r.opts.Journal.Submit(e, r.onEntry)
		return nil
	}
	a.ack.room, a.ack.durable = r, false
	r.opts.Journal.Submit(e, a.ack.settle)
	return a
}

// record journals an entry and folds it into the state. The fold happens
// now; durability follows, and done (if any) runs once the entry is durable.
func (r *Room) record(kind string, data any, done func(error)) {
	r.recordAt(kind, r.now(), data, done)
}

// recordAt is record for an entry that happened at at.
func (r *Room) recordAt(kind string, at time.Time, data any, done func(error)) {
	e := r.st.entry(kind, at, data)
	e.Epoch = r.opts.Epoch
	r.st.fold(e, data)
	if done == nil {
		done = r.onEntry
	}
	r.opts.Journal.Submit(e, done)
}
