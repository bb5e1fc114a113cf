package room

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/store"
)

// heldJournal keeps entries in memory but settles nothing until release:
// a store busy with other writes, which holds up everything a room says.
type heldJournal struct {
	mu      sync.Mutex
	entries []store.JournalEntry
	held    []func(error)
	holding bool
}

func (j *heldJournal) Submit(e store.JournalEntry, done func(error)) {
	j.mu.Lock()
	j.entries = append(j.entries, e)
	if j.holding {
		if done != nil {
			j.held = append(j.held, done)
		}
		j.mu.Unlock()
		return
	}
	j.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (j *heldJournal) Then(done func(error)) { j.Submit(store.JournalEntry{}, done) }

func (j *heldJournal) hold() {
	j.mu.Lock()
	j.holding = true
	j.mu.Unlock()
}

// release settles what was held, in order, and settles at once from then on.
func (j *heldJournal) release() {
	j.mu.Lock()
	held := j.held
	j.held, j.holding = nil, false
	j.mu.Unlock()
	for _, done := range held {
		done(nil)
	}
}

func (j *heldJournal) all() []store.JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []store.JournalEntry
	for _, e := range j.entries {
		if e.Kind != "" { // not a Then marker
			out = append(out, e)
		}
	}
	return out
}

// heldMatch starts a four-player quick match whose journal holds up the
// first question, and returns it with the question asked but not sent.
func heldMatch(t *testing.T) (*rig, *heldJournal) {
	t.Helper()
	j := &heldJournal{}
	g := newRig(t, Config{ID: "held", Kind: KindFour, TimeLimit: 5 * time.Second, Countdown: time.Second, RevealFor: time.Second, AutoStart: true})
	g.r.opts.Journal = j
	var players []protocol.PlayerInfo
	var peers []Peer
	for _, id := range []string{"a", "b", "c", "d"} {
		p := &peer{}
		g.peers[id] = p
		players = append(players, protocol.PlayerInfo{ID: id, Name: id})
		peers = append(peers, p)
	}
	g.r.Seat(players, peers)
	g.run()
	waitPhase(t, g, PhaseCountdown)
	j.hold()
	g.clk.Advance(time.Second)
	waitPhase(t, g, PhaseQuestion)
	if n := g.peers["a"].count("question"); n != 0 {
		t.Fatalf("the question went out before it was durable (%d)", n)
	}
	return g, j
}

func (g *rig) timedAnswer(id string, measured time.Duration) error {
	return g.r.Answer(context.Background(), AnswerIn{Player: id, Index: 0, Choice: []string{"B"}, Peer: g.peers[id], Elapsed: measured, Timed: true})
}

func isTooLate(err error) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == protocol.CodeTooLate
}

// TestQuestionTimeRunsFromWhenItWentOut: a question held up by the journal
// for longer than its time limit and grace must not close before its
// players have seen it. Its time runs from when it went out: an answer
// within the limit of that is taken, one past the limit (and half the
// grace) is still too late, and the question closes at the limit plus
// grace from then, not later. The fold reaches the same deadline.
func TestQuestionTimeRunsFromWhenItWentOut(t *testing.T) {
	g, j := heldMatch(t)
	asked := g.clk.Now()
	// The journal is held past the question's deadline and grace (6 s).
	g.clk.Advance(8 * time.Second)
	j.release()
	sent := g.clk.Now()
	if n := g.peers["a"].count("question"); n != 1 {
		t.Fatalf("a got %d questions once the journal went on", n)
	}
	if n := g.peers["a"].count("reveal"); n != 0 {
		t.Fatal("the question was revealed before anyone could answer it")
	}
	// Players count down to the deadline the question carries.
	if dl := g.peers["a"].questionDeadline(0); dl != sent.Add(5*time.Second).UnixMilli() {
		t.Fatalf("the question says deadline %d, want %d: 5 s from when it went out", dl, sent.Add(5*time.Second).UnixMilli())
	}

	g.clk.Advance(1500 * time.Millisecond)
	if err := g.timedAnswer("a", 1400*time.Millisecond); err != nil {
		t.Fatalf("an answer 1.4 s after the question went out: %v", err)
	}
	g.clk.Advance(3900 * time.Millisecond) // 5.4 s after it went out
	if err := g.timedAnswer("b", 5400*time.Millisecond); err != nil {
		t.Fatalf("an answer within half the grace of the limit: %v", err)
	}
	g.clk.Advance(300 * time.Millisecond)
	if err := g.timedAnswer("c", 5600*time.Millisecond); !isTooLate(err) {
		t.Fatalf("an answer measured 5.6 s against a 5 s limit: %v, want too_late", err)
	}
	if s := g.snap(); s.Phase != PhaseQuestion {
		t.Fatalf("phase %s 5.7 s after the question went out", s.Phase)
	}
	g.clk.Set(sent.Add(6 * time.Second)) // the limit and grace, from when it went out
	waitPhase(t, g, PhaseReveal)
	if err := g.timedAnswer("d", time.Second); !isTooLate(err) {
		t.Fatalf("an answer after the reveal: %v, want too_late", err)
	}

	var sentEntries int
	for _, e := range j.all() {
		if e.Kind == kindSent {
			sentEntries++
			if !e.At.Equal(sent) {
				t.Fatalf("sent entry at %v, want %v (asked at %v)", e.At, sent, asked)
			}
		}
	}
	if sentEntries != 1 {
		t.Fatalf("%d sent entries, want 1", sentEntries)
	}
	g.stop()
	r2, err := Restore(g.r.Config(), Options{Clock: g.clk, Journal: &memJournal{}}, j.all())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.r.st.players {
		p.peer = nil
		for _, a := range p.answers {
			a.ack.room = nil
		}
	}
	if !reflect.DeepEqual(r2.st, g.r.st) {
		t.Fatalf("replayed state differs from the live one:\nlive   %+v\nreplay %+v", g.r.st, r2.st)
	}
}

// TestQuestionSentLateKeepsItsTimerMoving: a question that goes out late,
// but before its deadline, gets its time from then: the timer armed when
// it was asked does not close it, and an answer after that first deadline
// is taken.
func TestQuestionSentLateKeepsItsTimerMoving(t *testing.T) {
	g, j := heldMatch(t)
	g.clk.Advance(4 * time.Second)
	j.release()
	g.clk.Advance(2500 * time.Millisecond) // 6.5 s after it was asked
	if err := g.timedAnswer("a", 2500*time.Millisecond); err != nil {
		t.Fatalf("an answer 2.5 s after the question went out: %v", err)
	}
	g.clk.Advance(3500 * time.Millisecond) // its limit and grace, from when it went out
	waitPhase(t, g, PhaseReveal)
}

// TestQuestionSentOnTimeRecordsNothing: a question that goes out within
// the slack the grace covers keeps its deadline, and no entry is added.
func TestQuestionSentOnTimeRecordsNothing(t *testing.T) {
	g, j := heldMatch(t)
	asked := g.clk.Now()
	g.clk.Advance(50 * time.Millisecond)
	j.release()
	if dl := g.peers["a"].questionDeadline(0); dl != asked.Add(5*time.Second).UnixMilli() {
		t.Fatalf("the question says deadline %d, want %d", dl, asked.Add(5*time.Second).UnixMilli())
	}
	if err := g.timedAnswer("a", time.Second); err != nil {
		t.Fatal(err)
	}
	g.clk.Advance(5950 * time.Millisecond) // the limit and grace, from when it was asked
	waitPhase(t, g, PhaseReveal)
	for _, e := range j.all() {
		if e.Kind == kindSent {
			t.Fatalf("a sent entry for a question out 50 ms after it was asked: %+v", e)
		}
	}
}

// questionDeadline is the deadline of question index as p was told it, 0
// if it was not.
func (p *peer) questionDeadline(index int) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		d, _ := m["data"].(map[string]any)
		if m["type"] == "question" && d["index"] == float64(index) {
			dl, _ := d["deadline"].(float64)
			return int64(dl)
		}
	}
	return 0
}
