package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/web"
)

type reveal struct {
	Index   int
	Correct []string
	You     struct {
		Correct bool
		Points  int64
		Score   int64
		Rank    int
		Streak  int
	}
}

type finished struct {
	Standings []struct {
		Rank  int
		ID    string
		Name  string
		Score int64
	}
	You struct {
		Rank          int
		Score         int64
		PointsAwarded int64 `json:"points_awarded"`
	}
}

type ack struct {
	Index     int
	Accepted  bool
	Elapsed   int64
	Duplicate bool
}

// queueAndMatch queues every client in mode and advances the clock until
// each has match.found; it returns the room id.
func (h *harness) queueAndMatch(mode string, cs ...*client) string {
	h.t.Helper()
	for _, c := range cs {
		id := c.send("match.find", map[string]any{"mode": mode})
		if m := c.reply(id); m.Type != "match.queued" {
			h.t.Fatalf("match.find: %s", m.raw)
		}
	}
	h.srv.Matchmaker().Process(context.Background())
	var roomID string
	for _, c := range cs {
		var f struct {
			Room    string
			Players []struct{ ID string }
		}
		c.expect("match.found").decode(h.t, &f)
		if roomID != "" && f.Room != roomID {
			h.t.Fatalf("players matched into different rooms %s and %s", roomID, f.Room)
		}
		if len(f.Players) != len(cs) {
			h.t.Fatalf("match.found lists %d players, want %d", len(f.Players), len(cs))
		}
		roomID = f.Room
	}
	return roomID
}

// duelToFirstQuestion matches a and b into a duel, runs its countdown out
// and returns the room and the first question.
func (h *harness) duelToFirstQuestion(a, b *client) (string, question) {
	h.t.Helper()
	roomID := h.queueAndMatch("duel", a, b)
	a.expect("room.state")
	b.expect("room.state")
	h.advance(3 * time.Second)
	return roomID, h.nextQuestion(a, b)
}

// nextQuestion waits for each client's next question, checks it leaks
// nothing, and returns the first client's copy.
func (h *harness) nextQuestion(cs ...*client) question {
	h.t.Helper()
	var q question
	for i, c := range cs {
		m := c.expect("question")
		h.checkNoLeak(m)
		var qi question
		m.decode(h.t, &qi)
		if i == 0 {
			q = qi
		} else if qi.Question.ID != q.Question.ID || qi.Index != q.Index {
			h.t.Fatalf("clients got different questions")
		}
	}
	return q
}

func TestDuelEndToEnd(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	roomID := h.queueAndMatch("duel", a, b)

	for _, c := range []*client{a, b} {
		var st struct{ Phase, Room string }
		m := c.expect("room.state")
		m.decode(t, &st)
		h.checkNoLeak(m)
		if st.Room != roomID || st.Phase != "countdown" {
			t.Fatalf("room.state = %s", m.raw)
		}
	}
	// A second find while playing is refused.
	a.expectError(a.send("match.find", map[string]any{"mode": "duel"}), "wrong_phase")
	h.advance(3 * time.Second) // countdown

	// Question 1: A right, then B wrong; a repeat from A is a duplicate.
	q := h.nextQuestion(a, b)
	h.advance(2 * time.Second)
	idA := a.send("answer", h.correctAnswer(q))
	var ackA ack
	a.reply(idA).decode(t, &ackA)
	// Elapsed is 2 s on the room's clock less half the connection's
	// measured round trip (a real one, under a millisecond on loopback).
	if !ackA.Accepted || ackA.Elapsed < 1990 || ackA.Elapsed > 2000 || ackA.Duplicate {
		t.Fatalf("ack = %+v, want accepted, elapsed 2000 less half an RTT", ackA)
	}
	var dup ack
	a.reply(a.send("answer", h.wrongAnswer(q))).decode(t, &dup)
	if !dup.Duplicate || dup.Elapsed != ackA.Elapsed || dup.Index != ackA.Index {
		t.Fatalf("repeat ack = %+v, want the first ack marked duplicate", dup)
	}
	h.advance(time.Second)
	b.reply(b.send("answer", h.wrongAnswer(q)))
	// Everyone answered: the question ends early, without the clock.
	var ra, rb reveal
	a.expect("reveal").decode(t, &ra)
	b.expect("reveal").decode(t, &rb)
	if !ra.You.Correct || ra.You.Points != 20 || ra.You.Score != 20 || ra.You.Rank != 1 {
		t.Fatalf("A's reveal = %+v", ra.You)
	}
	if rb.You.Correct || rb.You.Points != 0 || rb.You.Rank != 2 {
		t.Fatalf("B's reveal = %+v", rb.You)
	}
	a.expect("scoreboard")

	// Question 2: only A answers; B's answer after the deadline is too_late.
	h.advance(3 * time.Second) // reveal
	q = h.nextQuestion(a, b)
	a.reply(a.send("answer", h.correctAnswer(q)))
	h.advance(15*time.Second + time.Second) // limit + grace
	a.expect("reveal")
	b.expect("reveal")
	b.expectError(b.send("answer", h.correctAnswer(q)), "too_late")

	// The rest: both answer right, A first, so A wins every race.
	for i := 2; ; i++ {
		h.advance(3 * time.Second)
		m := a.expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			break
		}
		h.checkNoLeak(m)
		m.decode(t, &q)
		b.expect("question")
		a.reply(a.send("answer", h.correctAnswer(q)))
		h.advance(500 * time.Millisecond)
		b.reply(b.send("answer", h.correctAnswer(q)))
		a.expect("reveal")
		b.expect("reveal")
		if i > 10 {
			t.Fatal("the match never finished")
		}
	}
	var fa, fb finished
	b.expect("room.finished").decode(t, &fb)
	for _, m := range a.all() {
		if m.Type == "room.finished" {
			m.decode(t, &fa)
		}
	}
	if len(fa.Standings) != 2 || fa.Standings[0].ID != a.id || fa.You.Rank != 1 || fb.You.Rank != 2 {
		t.Fatalf("standings = %+v; a %+v b %+v", fa.Standings, fa.You, fb.You)
	}
	if fa.You.Score != 20+20+20+20+20 || fb.You.Score != 10+10+10 {
		t.Fatalf("scores a=%d b=%d", fa.You.Score, fb.You.Score)
	}
	if fa.You.PointsAwarded != 5 || fb.You.PointsAwarded != 2 {
		t.Fatalf("points awarded a=%d b=%d", fa.You.PointsAwarded, fb.You.PointsAwarded)
	}
	// The result and the profile points are stored.
	res, err := h.st.Result(context.Background(), roomID)
	if err != nil || len(res.Standings) == 0 {
		t.Fatalf("stored result: %v", err)
	}
	pa, err := h.st.Player(context.Background(), a.id)
	if err != nil || pa.Points != 5 || pa.Rating <= 1500 {
		t.Fatalf("player a = %+v, %v", pa, err)
	}
	// Every ack written was timed, and every answer went through the
	// journal's batches.
	acks := 0
	for _, c := range []*client{a, b} {
		for _, m := range c.all() {
			if m.Type == "answer.ack" {
				acks++
			}
		}
	}
	if got := h.metric("leitai_answer_ack_seconds_count"); got != float64(acks) {
		t.Fatalf("leitai_answer_ack_seconds_count = %v, want the %d acks the players read", got, acks)
	}
	if batches, entries := h.metric("leitai_journal_batches_total"), h.metric("leitai_journal_entries_total"); batches < 1 || entries < float64(acks) || batches > entries {
		t.Fatalf("journal batches %v, entries %v: want at least one batch and every answer's entry", batches, entries)
	}
	// Free again: a new find is queued.
	waitFor(t, "players released", func() bool { _, busy := h.srv.Matchmaker().Playing(a.id); return !busy })
	if m := a.reply(a.send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
		t.Fatalf("find after the match: %s", m.raw)
	}
}

// waitFor polls cond until it holds; a safety net, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFourEndToEnd(t *testing.T) {
	h := newHarness(t, nil)
	cs := []*client{h.dial(), h.dial(), h.dial(), h.dial()}
	for i, c := range cs {
		c.hello("玩家" + itoa(i+1))
	}
	h.queueAndMatch("four", cs...)
	for _, c := range cs {
		c.expect("room.state")
	}
	h.advance(3 * time.Second)
	var scores [4]int64
	for qi := 0; qi < 5; qi++ {
		q := h.nextQuestion(cs...)
		// Player i answers right on questions where i <= qi%4, in order.
		for i, c := range cs {
			h.advance(200 * time.Millisecond)
			if i <= qi%4 {
				c.reply(c.send("answer", h.correctAnswer(q)))
			} else {
				c.reply(c.send("answer", h.wrongAnswer(q)))
			}
		}
		for i, c := range cs {
			var r reveal
			c.expect("reveal").decode(t, &r)
			want := int64(0)
			if i <= qi%4 {
				want = 10
				if i == 0 {
					want = 20
				}
			}
			if r.You.Points != want {
				t.Fatalf("q%d player %d points %d, want %d", qi, i, r.You.Points, want)
			}
			scores[i] += want
			if r.You.Score != scores[i] {
				t.Fatalf("q%d player %d score %d, want %d", qi, i, r.You.Score, scores[i])
			}
		}
		h.advance(3 * time.Second)
	}
	for i, c := range cs {
		var f finished
		c.expect("room.finished").decode(t, &f)
		if len(f.Standings) != 4 || f.You.Score != scores[i] || f.You.Rank != i+1 {
			t.Fatalf("player %d finished %+v, standings %+v", i, f.You, f.Standings)
		}
	}
}

func TestMatchTimeoutAndCancel(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Match.MaxWait = 10 * time.Second })
	a, b := h.dial(), h.dial()
	a.hello("等人")
	b.hello("取消")
	a.reply(a.send("match.find", map[string]any{"mode": "duel"}))
	var q struct{ Ticket string }
	b.reply(b.send("match.find", map[string]any{"mode": "four"})).decode(t, &q)
	if m := b.reply(b.send("match.cancel", map[string]any{"ticket": q.Ticket})); m.Type != "match.cancelled" {
		t.Fatalf("cancel: %s", m.raw)
	}
	b.expectError(b.send("match.cancel", map[string]any{"ticket": q.Ticket}), "not_found")
	h.advance(11 * time.Second)
	h.srv.Matchmaker().Process(context.Background())
	a.expect("match.timeout")
	if _, ok := h.srv.Matchmaker().Queued(a.id); ok {
		t.Fatal("timed-out player still queued")
	}
}

func TestMatchBotFill(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Match.MaxWait = 5 * time.Second; c.Match.BotFill = true })
	a := h.dial()
	a.hello("单人")
	a.reply(a.send("match.find", map[string]any{"mode": "duel"}))
	h.advance(6 * time.Second)
	h.srv.Matchmaker().Process(context.Background())
	var f struct {
		Room    string
		Players []struct{ ID string }
	}
	a.expect("match.found").decode(t, &f)
	if len(f.Players) != 2 {
		t.Fatalf("players = %+v", f.Players)
	}
	bot := f.Players[0].ID
	if bot == a.id {
		bot = f.Players[1].ID
	}
	a.expect("room.state")

	// The bot answers each question 1.5 s to 9 s after it arrives (half the
	// 15 s limit at most). A answers at once, so the question ends early,
	// well before its deadline, only if the bot answered too.
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("the match never finished")
		}
		h.advance(3 * time.Second)
		m := a.expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			var fin finished
			m.decode(t, &fin)
			if i != 5 || len(fin.Standings) != 2 {
				t.Fatalf("finished after %d questions: %+v", i, fin.Standings)
			}
			break
		}
		var q question
		m.decode(t, &q)
		// The bot's timer is the one due 1.5–9 s from now: the room's
		// deadline is at 15 s, the tickers every second or less often than
		// 9 s, and a progress timer armed by the last answer within 250 ms.
		// (Counting every timer was not enough: a progress timer firing
		// during the advance could hide the bot's.)
		waitFor(t, "the bot's answer timer", func() bool { return h.clk.TimersDue(time.Second, 9*time.Second) > 0 })
		a.reply(a.send("answer", h.wrongAnswer(q)))
		h.advance(9*time.Second + time.Millisecond)
		var r struct {
			Index int
			Stats map[string]int
		}
		a.expect("reveal").decode(t, &r)
		n := 0
		for _, c := range r.Stats {
			n += c
		}
		if r.Index != q.Index || n != 2 {
			t.Fatalf("question %d revealed with %d answers (%v), want A's and the bot's", q.Index, n, r.Stats)
		}
	}
	// The bot is a player of the stored result.
	res, err := h.st.Result(context.Background(), f.Room)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Standings), `"`+bot+`"`) {
		t.Fatalf("bot %s missing from the stored result %+v", bot, res.Standings)
	}
}

func TestDisconnectLeavesQueueAfterGrace(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Grace = 5 * time.Second })
	a := h.dial()
	a.hello("掉线")
	a.reply(a.send("match.find", map[string]any{"mode": "duel"}))
	a.ws.Close()
	waitFor(t, "session detached", func() bool { return h.srv.Sessions() == 1 && !h.srv.Connected(a.id) })
	h.advance(6 * time.Second)
	waitFor(t, "queue left", func() bool { _, ok := h.srv.Matchmaker().Queued(a.id); return !ok })
}
