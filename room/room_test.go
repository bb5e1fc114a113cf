package room

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
)

// memJournal keeps entries in memory and settles them at once. The real
// journal (SQLite with group commit) is exercised by the web tests.
type memJournal struct {
	mu      sync.Mutex
	entries []store.JournalEntry
}

func (j *memJournal) Submit(e store.JournalEntry, done func(error)) {
	j.mu.Lock()
	j.entries = append(j.entries, e)
	j.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (j *memJournal) Then(done func(error)) { done(nil) }

func (j *memJournal) all() []store.JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]store.JournalEntry(nil), j.entries...)
}

// peer records what a room sends.
type peer struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (p *peer) Send(f *protocol.Frame) bool {
	var m map[string]any
	if err := json.Unmarshal(f.Bytes(), &m); err != nil {
		panic(string(f.Bytes()))
	}
	p.mu.Lock()
	p.msgs = append(p.msgs, m)
	p.mu.Unlock()
	return true
}
func (p *peer) Connected() bool { return true }
func (p *peer) Kick(string)     {}

func (p *peer) count(typ string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		if m["type"] == typ {
			n++
		}
	}
	return n
}

func testQuestions() []questionbank.Question {
	return []questionbank.Question{
		{ID: "q1", Type: questionbank.Single, Text: "1+1?", Options: []questionbank.Option{{Key: "A", Text: "1"}, {Key: "B", Text: "2"}, {Key: "C", Text: "3"}}, Answer: []string{"B"}},
		{ID: "q2", Type: questionbank.Text, Text: "首都?", Answer: []string{"北京"}},
		{ID: "q3", Type: questionbank.Multi, Text: "偶数?", Options: []questionbank.Option{{Key: "A", Text: "2"}, {Key: "B", Text: "3"}, {Key: "C", Text: "4"}}, Answer: []string{"A", "C"}},
		{ID: "q4", Type: questionbank.TrueFalse, Text: "水是湿的", Options: []questionbank.Option{{Key: "T", Text: "对"}, {Key: "F", Text: "错"}}, Answer: []string{"T"}},
	}
}

type rig struct {
	t     *testing.T
	r     *Room
	clk   *clock.Fake
	j     *memJournal
	peers map[string]*peer
	stop  func()
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	j := &memJournal{}
	if cfg.Questions == nil {
		cfg.Questions = testQuestions()
	}
	r, err := New(cfg, Options{Clock: clk, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, r: r, clk: clk, j: j, peers: map[string]*peer{}}
	return g
}

func (g *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.r.Run(ctx); close(done) }()
	g.stop = func() { cancel(); <-done }
	g.t.Cleanup(g.stop)
}

func (g *rig) join(id string) *peer {
	g.t.Helper()
	p := &peer{}
	g.peers[id] = p
	if err := g.r.Join(context.Background(), id, id, "", p, ""); err != nil {
		g.t.Fatal(err)
	}
	return p
}

func (g *rig) answer(id string, index int, choice []string, text *string) error {
	return g.r.Answer(context.Background(), AnswerIn{Player: id, Index: index, Choice: choice, Text: text, Peer: g.peers[id]})
}

func (g *rig) snap() Snapshot {
	g.t.Helper()
	s, err := g.r.Snapshot(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	return s
}

func (g *rig) control(action string) {
	g.t.Helper()
	if err := g.r.Control(context.Background(), action, ""); err != nil {
		g.t.Fatalf("%s: %v", action, err)
	}
}

// toFirstQuestion starts the room and runs its countdown out.
func (g *rig) toFirstQuestion() {
	g.t.Helper()
	g.control(ActStart)
	g.clk.Advance(g.r.cfg.Countdown)
	waitPhase(g.t, g, PhaseQuestion)
}

func str(s string) *string { return &s }

func TestEventFlowAndFoldReplays(t *testing.T) {
	g := newRig(t, Config{ID: "r1", Kind: KindEvent, TimeLimit: 10 * time.Second, StreakBonus: true})
	g.run()
	g.join("a")
	g.join("b")
	g.toFirstQuestion()

	g.clk.Advance(2 * time.Second)
	if err := g.answer("a", 0, []string{"B"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.answer("a", 0, []string{"A"}, nil); err != nil { // a repeat: the first stands
		t.Fatal(err)
	}
	if err := g.answer("b", 0, []string{"X"}, nil); err == nil {
		t.Fatal("an unknown option key was accepted")
	}
	if err := g.answer("b", 0, []string{"A", "B"}, nil); err == nil {
		t.Fatal("two keys for a single-choice question were accepted")
	}
	// b never answers: the question ends at its deadline plus grace.
	g.clk.Advance(8*time.Second + time.Second)
	waitPhase(t, g, PhaseReveal)
	if s := g.snap(); s.Scores["a"] != 900 || s.Scores["b"] != 0 { // 1000×(1−0.2/2)
		t.Fatalf("scores after q1: %v", s.Scores)
	}
	g.control(ActNext)
	g.clk.Advance(time.Second)
	if err := g.answer("a", 1, nil, str("　北京 ")); err != nil { // full-width space folded away
		t.Fatal(err)
	}
	g.control(ActPause)
	g.clk.Advance(time.Hour)
	g.control(ActResume)
	g.clk.Advance(time.Second)
	if err := g.answer("b", 1, nil, str("上海")); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, g, PhaseReveal) // both answered: closed early
	s := g.snap()
	if s.Scores["a"] != 900+950+100 { // speed, plus streak 2
		t.Fatalf("scores after q2: %v", s.Scores)
	}
	g.control(ActNext)
	g.control(ActSkip)
	g.control(ActNext)
	g.clk.Advance(4 * time.Second)
	if err := g.answer("b", 3, []string{"T"}, nil); err != nil {
		t.Fatal(err)
	}
	g.control(ActEnd)
	waitPhase(t, g, PhaseFinished)
	<-g.r.Done()
	final := map[string]int64{"a": 1950, "b": 800}
	// Replay the journal: the fold reaches the same scores.
	r2, err := Restore(g.r.Config(), Options{Clock: g.clk, Journal: &memJournal{}}, g.j.all())
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range final {
		if got := r2.st.players[id].score; got != want {
			t.Fatalf("replayed %s = %d, want %d", id, got, want)
		}
	}
	// The live room folded the values it recorded, the replay what came
	// back from JSON: the two states must not differ in anything but the
	// live connections and acks, which no journal holds.
	for _, p := range g.r.st.players {
		p.peer = nil
		for _, a := range p.answers {
			a.ack.room = nil // durable in both, but only the live one tells a room of failures
		}
	}
	if !reflect.DeepEqual(r2.st, g.r.st) {
		t.Fatalf("replayed state differs from the live one:\nlive   %+v\nreplay %+v", g.r.st, r2.st)
	}
	rep, err := BuildReport(g.r.Config(), g.j.all())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Standings[0].ID != "a" || rep.Standings[0].Score != 1950 || len(rep.Answers) != 4 {
		t.Fatalf("report %+v", rep)
	}
}

func waitPhase(t *testing.T, g *rig, phase string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := g.r.Snapshot(context.Background())
		if err == nil && s.Phase == phase {
			return
		}
		if err == ErrClosed && phase == PhaseFinished {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("phase %q, want %q", s.Phase, phase)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRaceEndsAtTarget(t *testing.T) {
	qs := make([]questionbank.Question, 8)
	for i := range qs {
		qs[i] = testQuestions()[0]
		qs[i].ID = "q" + strconv.Itoa(i)
	}
	g := newRig(t, Config{ID: "r2", Kind: KindDuel, Questions: qs, AutoStart: true, RaceTarget: 60})
	pa, pb := &peer{}, &peer{}
	g.peers["a"], g.peers["b"] = pa, pb
	g.r.Seat([]protocol.PlayerInfo{{ID: "a", Name: "a"}, {ID: "b", Name: "b"}}, []Peer{pa, pb})
	g.run()
	waitPhase(t, g, PhaseCountdown)
	for i := 0; i < 3; i++ {
		g.clk.Advance(4 * time.Second) // countdown, then each reveal
		waitPhase(t, g, PhaseQuestion)
		if err := g.answer("a", i, []string{"B"}, nil); err != nil {
			t.Fatal(err)
		}
		g.clk.Advance(time.Second)
		if err := g.answer("b", i, []string{"B"}, nil); err != nil {
			t.Fatal(err)
		}
		waitPhase(t, g, PhaseReveal)
	}
	g.clk.Advance(4 * time.Second)
	waitPhase(t, g, PhaseFinished)
	if pa.count("question") != 3 || pa.count("room.finished") != 1 {
		t.Fatalf("a saw %d questions, %d finishes", pa.count("question"), pa.count("room.finished"))
	}
}

func TestRestoreReasksQuestionInFlight(t *testing.T) {
	g := newRig(t, Config{ID: "r3", Kind: KindEvent, TimeLimit: 10 * time.Second})
	g.run()
	g.join("a")
	g.join("b")
	g.toFirstQuestion()
	g.clk.Advance(2 * time.Second)
	if err := g.answer("a", 0, []string{"B"}, nil); err != nil {
		t.Fatal(err)
	}
	g.stop() // the node dies mid-question
	g.clk.Advance(time.Minute)
	j2 := &memJournal{}
	r2, err := Restore(g.r.Config(), Options{Clock: g.clk, Journal: j2}, g.j.all())
	if err != nil {
		t.Fatal(err)
	}
	g2 := &rig{t: t, r: r2, clk: g.clk, j: j2, peers: map[string]*peer{"a": {}, "b": {}}}
	g2.run()
	waitPhase(t, g2, PhaseQuestion)
	// a's acked answer stands: a repeat is a duplicate, not a new answer.
	if err := g2.answer("a", 0, []string{"A"}, nil); err != nil {
		t.Fatal(err)
	}
	// b gets a fresh full deadline from the restart.
	g.clk.Advance(9 * time.Second)
	if err := g2.answer("b", 0, []string{"B"}, nil); err != nil {
		t.Fatalf("b within the fresh deadline: %v", err)
	}
	waitPhase(t, g2, PhaseReveal) // everyone connected has answered
	s := g2.snap()
	if s.Scores["a"] != 900 || s.Scores["b"] != 550 {
		t.Fatalf("scores after restore: %v", s.Scores)
	}
}

// TestFairTiming checks how the room turns the time the gateway measured
// into an answer's elapsed time: pauses come off, the room's own measure
// from the question's start bounds it, and it is clamped to the limit.
func TestFairTiming(t *testing.T) {
	cases := []struct {
		name     string
		answerAt time.Duration // after the question was asked, on the room's clock
		measured time.Duration // at the edge
		timed    bool
		pause    time.Duration // paused for this long before answerAt
		want     int64         // elapsed ms
		late     bool
	}{
		{"the edge's measure", 2300 * time.Millisecond, 1900 * time.Millisecond, true, 0, 1900, false},
		{"pauses come off", 5 * time.Second, 4 * time.Second, true, 2 * time.Second, 2000, false},
		{"never more than since the question was asked", 2 * time.Second, 7 * time.Second, true, 0, 2000, false},
		{"untimed: from the question's start", 2500 * time.Millisecond, 0, false, 0, 2500, false},
		{"untimed, less pauses", 6 * time.Second, 0, false, 1 * time.Second, 5000, false},
		{"never below zero", 0, -50 * time.Millisecond, true, 0, 0, false},
		{"clamped to the limit within half the grace", 10800 * time.Millisecond, 10400 * time.Millisecond, true, 0, 10000, false},
		{"too late beyond half the grace", 10800 * time.Millisecond, 10600 * time.Millisecond, true, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newRig(t, Config{ID: "rt", Kind: KindEvent, TimeLimit: 10 * time.Second})
			g.run()
			g.join("a")
			g.join("b")
			g.toFirstQuestion()
			at := c.answerAt
			if c.pause > 0 {
				g.control(ActPause)
				g.clk.Advance(c.pause)
				g.control(ActResume)
				at -= c.pause
			}
			g.clk.Advance(at)
			err := g.r.Answer(context.Background(), AnswerIn{Player: "a", Index: 0, Choice: []string{"B"}, Peer: g.peers["a"], Elapsed: c.measured, Timed: c.timed})
			if c.late {
				var pe *protocol.Error
				if !errors.As(err, &pe) || pe.Code != protocol.CodeTooLate {
					t.Fatalf("err = %v, want too_late", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g.control(ActReveal)
			rep, _ := BuildReport(g.r.Config(), g.j.all())
			if len(rep.Answers) != 1 || rep.Answers[0].ElapsedMS != c.want {
				t.Fatalf("answers %+v, want elapsed %d", rep.Answers, c.want)
			}
		})
	}
}

// TestBigRoomFansOutInOrder plays a question in a room too big to be sent
// to on the journal's goroutine: the room's fan-out goroutine sends it, the
// registry's WaitSent waits for it, and every player still gets question,
// ack, reveal and scoreboard in that order.
func TestBigRoomFansOutInOrder(t *testing.T) {
	const players = 5*sliceSize + 7
	g := newRig(t, Config{ID: "big", Kind: KindEvent, TimeLimit: 10 * time.Second})
	reg := NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	reg.Start(ctx, g.r)
	t.Cleanup(func() { cancel(); reg.Wait() })
	for i := range players {
		g.join("p" + strconv.Itoa(i))
	}
	g.toFirstQuestion()
	reg.WaitSent()
	for id, p := range g.peers {
		if p.count("question") != 1 {
			t.Fatalf("%s has %d questions after WaitSent", id, p.count("question"))
		}
	}
	for id := range g.peers {
		if err := g.answer(id, 0, []string{"B"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitPhase(t, g, PhaseReveal) // everyone answered: closed early
	reg.WaitSent()
	for id, p := range g.peers {
		var order []string
		p.mu.Lock()
		for _, m := range p.msgs {
			switch typ := m["type"].(string); typ {
			case "question", "answer.ack", "reveal", "scoreboard":
				order = append(order, typ)
			}
		}
		p.mu.Unlock()
		if want := []string{"question", "answer.ack", "reveal", "scoreboard"}; !slices.Equal(order, want) {
			t.Fatalf("%s got %v, want %v", id, order, want)
		}
	}
}

// answerOutcome is what a Submit or SubmitAll callback reported for the
// k-th answer handed over.
type answerOutcome struct {
	k   int
	err error
}

// collectOutcomes reads n outcomes by k. It fails the test on an answer
// reported twice, on fewer than n within 5 s, on one more after them, and,
// if inOrder, on an answer reported before one handed over earlier.
func collectOutcomes(t *testing.T, outcomes <-chan answerOutcome, n int, inOrder bool) map[int]error {
	t.Helper()
	got := map[int]error{}
	for range n {
		select {
		case o := <-outcomes:
			if _, twice := got[o.k]; twice {
				t.Fatalf("answer %d reported twice", o.k)
			}
			if inOrder && len(got) != o.k {
				t.Fatalf("answer %d reported after %d others: out of order", o.k, len(got))
			}
			got[o.k] = o.err
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d outcomes reported", len(got), n)
		}
	}
	select {
	case o := <-outcomes:
		t.Fatalf("extra outcome %+v", o)
	default:
	}
	return got
}

// TestSubmitReportsEachAnswerOnce: an answer handed over without waiting
// hears its outcome exactly once — taken, refused, or the room ended —
// whether the room takes it, ends with it in the inbox, or had ended.
func TestSubmitReportsEachAnswerOnce(t *testing.T) {
	outcomes := make(chan answerOutcome, 1000)
	submit := func(g *rig, k, index int) {
		in := AnswerIn{Player: "a", Index: index, Choice: []string{"A"}, Re: "a" + strconv.Itoa(k), Peer: g.peers["a"]}
		g.r.Submit(context.Background(), in, func(err error) { outcomes <- answerOutcome{k, err} })
	}
	collect := func(n int) map[int]error { t.Helper(); return collectOutcomes(t, outcomes, n, false) }

	// A running room takes a good answer (and acks it) and refuses a bad one.
	g := newRig(t, Config{ID: "s1", Kind: KindEvent, TimeLimit: 10 * time.Second})
	g.run()
	a := g.join("a")
	g.toFirstQuestion()
	submit(g, 0, 0)
	submit(g, 1, 5)
	got := collect(2)
	if got[0] != nil {
		t.Fatalf("good answer: %v", got[0])
	}
	var pe *protocol.Error
	if !errors.As(got[1], &pe) || pe.Code != protocol.CodeBadRequest {
		t.Fatalf("answer to question 5: %v, want bad_request", got[1])
	}
	for deadline := time.Now().Add(5 * time.Second); a.count("answer.ack") != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d acks, want 1", a.count("answer.ack"))
		}
	}

	// The room ends: later answers hear ErrClosed, once each.
	g.stop()
	for k := range 200 {
		submit(g, k, 0)
	}
	for k, err := range collect(200) {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("answer %d to an ended room: %v", k, err)
		}
	}

	// Answers still in the inbox when a room ends hear ErrClosed, once.
	g = newRig(t, Config{ID: "s2", Kind: KindEvent, TimeLimit: 10 * time.Second})
	g.peers["a"] = &peer{}
	for k := range 3 {
		submit(g, k, 0) // never run: they wait in the inbox
	}
	close(g.r.done)
	g.r.refuseLeftovers()
	for k, err := range collect(3) {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("leftover answer %d: %v", k, err)
		}
	}
}

// TestSubmitAllReportsEachAnswerOnce: answers handed over together (as
// they come gathered from another node) are taken in order, each outcome
// reported exactly once, and all hear ErrClosed, once each, if the room
// has ended or ends with them in its inbox.
func TestSubmitAllReportsEachAnswerOnce(t *testing.T) {
	outcomes := make(chan answerOutcome, 1000)
	submitAll := func(g *rig, indexes ...int) {
		ins := make([]AnswerIn, len(indexes))
		for k, index := range indexes {
			ins[k] = AnswerIn{Player: "a", Index: index, Choice: []string{"A"}, Re: "a" + strconv.Itoa(k), Peer: g.peers["a"]}
		}
		g.r.SubmitAll(context.Background(), ins, func(k int, err error) { outcomes <- answerOutcome{k, err} })
	}
	collect := func(n int) map[int]error { t.Helper(); return collectOutcomes(t, outcomes, n, true) }

	// A running room takes the first answer, refuses a bad one and acks
	// the third as the first's duplicate.
	g := newRig(t, Config{ID: "s1", Kind: KindEvent, TimeLimit: 10 * time.Second})
	g.run()
	a := g.join("a")
	g.toFirstQuestion()
	submitAll(g, 0, 5, 0)
	got := collect(3)
	var pe *protocol.Error
	if got[0] != nil || !errors.As(got[1], &pe) || pe.Code != protocol.CodeBadRequest || got[2] != nil {
		t.Fatalf("outcomes %v; want nil, bad_request, nil", got)
	}
	for deadline := time.Now().Add(5 * time.Second); a.count("answer.ack") != 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d acks, want 2 (the answer and its duplicate)", a.count("answer.ack"))
		}
	}

	// The room ends: later answers hear ErrClosed, once each.
	g.stop()
	submitAll(g, 0, 0, 0)
	for k, err := range collect(3) {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("answer %d to an ended room: %v", k, err)
		}
	}

	// Answers still in the inbox when a room ends hear ErrClosed, once.
	g = newRig(t, Config{ID: "s2", Kind: KindEvent, TimeLimit: 10 * time.Second})
	g.peers["a"] = &peer{}
	submitAll(g, 0, 1, 2) // never run: it waits in the inbox
	close(g.r.done)
	g.r.refuseLeftovers()
	for k, err := range collect(3) {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("leftover answer %d: %v", k, err)
		}
	}
}
