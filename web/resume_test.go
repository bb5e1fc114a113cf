package web_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/web"
)

// resumedWelcome is the data of a welcome after hello{resume}.
type resumedWelcome struct {
	Player     struct{ ID, Name string }
	Role       string
	Resume     string
	Resumed    bool
	ServerTime int64 `json:"server_time"`
}

// drop closes the client's socket without a close handshake, as a phone
// losing its network does, and waits until the server has noticed.
func (h *harness) drop(c *client) {
	h.t.Helper()
	c.ws.NetConn().Close()
	waitFor(h.t, c.id+" detached", func() bool { return !h.srv.Connected(c.id) })
}

// resume opens a new connection for c's player with its resume token and
// returns it with its welcome.
func (h *harness) resume(c *client) (*client, resumedWelcome) {
	h.t.Helper()
	n := h.dial()
	m := n.reply(n.send("hello", map[string]any{"resume": c.resume}))
	if m.Type != "welcome" {
		h.t.Fatalf("resume hello: %s", m.raw)
	}
	var w resumedWelcome
	m.decode(h.t, &w)
	if !w.Resumed || w.Player.ID != c.id || w.Role != "player" {
		h.t.Fatalf("resume welcome %s, want resumed:true for %s", m.raw, c.id)
	}
	n.id, n.resume = w.Player.ID, w.Resume
	return n, w
}

// pushedState waits for the room.state the server pushes for room (no re).
func (c *client) pushedState(roomID string) (protocol.State, msg) {
	c.t.Helper()
	var st protocol.State
	m := c.expectFn("room.state of "+roomID, func(m msg) bool {
		if m.Type != "room.state" || m.Re != "" {
			return false
		}
		var s struct{ Room string }
		_ = json.Unmarshal(m.Data, &s)
		return s.Room == roomID
	})
	m.decode(c.t, &st)
	if st.You == nil {
		c.t.Fatalf("room.state without you: %s", m.raw)
	}
	return st, m
}

// checkStateNoLeak fails if a room.state in the question phase reveals
// anything about the open question: the question itself carries no answer
// field and the player's own record of it carries no correctness.
func (h *harness) checkStateNoLeak(st protocol.State, m msg) {
	h.t.Helper()
	if st.Question != nil {
		h.checkNoLeak(msg{Type: m.Type, Data: mustJSON(h.t, map[string]any{"question": st.Question}), raw: m.raw})
	}
	if st.Phase == "question" && st.You != nil {
		for _, a := range st.You.Answers {
			if a.Index == st.Index && (a.Correct != nil || a.Points != 0) {
				h.t.Fatalf("room.state tells the open question's result: %s", m.raw)
			}
		}
	}
}

// answerRec finds the record of question i in a player's answers.
func answerRec(you *protocol.StateYou, i int) (protocol.AnswerRecord, bool) {
	for _, a := range you.Answers {
		if a.Index == i {
			return a, true
		}
	}
	return protocol.AnswerRecord{}, false
}

// sameAnswer reports whether a record in room.state is the answer d.
func sameAnswer(rec protocol.AnswerRecord, d map[string]any) bool {
	c, _ := d["choice"].([]string)
	text, _ := d["text"].(string)
	return slices.Equal(rec.Choice, c) && rec.Text == text
}

// TestResumeMidQuestionDuel: a duellist who answered drops mid-question and
// comes back on a new connection: it finds the question still open with its
// deadline on the server's clock, its answers and score intact, and a
// resent answer gets the first ack again.
func TestResumeMidQuestionDuel(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.dial(), h.dial()
	a.hello("断线甲")
	b.hello("稳定乙")
	roomID, q0 := h.duelToFirstQuestion(a, b)
	// Question 0: A right (20), B wrong.
	h.advance(time.Second)
	a0 := h.correctAnswer(q0)
	a.reply(a.send("answer", a0))
	b.reply(b.send("answer", h.wrongAnswer(q0)))
	a.expect("reveal")
	b.expect("reveal")
	h.advance(3 * time.Second)

	// Question 1: A answers 2 s in, then its phone drops.
	q1 := h.nextQuestion(a, b)
	h.advance(2 * time.Second)
	a1 := h.correctAnswer(q1)
	var first ack
	a.reply(a.send("answer", a1)).decode(t, &first)
	if !first.Accepted || first.Duplicate {
		t.Fatalf("first ack %+v", first)
	}
	h.drop(a)
	h.advance(3 * time.Second) // away for 3 s of the server's clock

	a2, w := h.resume(a)
	if w.ServerTime != h.clk.Now().UnixMilli() {
		t.Fatalf("welcome server_time %d, want the server clock %d", w.ServerTime, h.clk.Now().UnixMilli())
	}
	st, m := a2.pushedState(roomID)
	h.checkStateNoLeak(st, m)
	if st.Phase != "question" || st.Index != 1 || st.Question == nil || st.Question.ID != q1.Question.ID {
		t.Fatalf("resumed state %s, want question 1 open", m.raw)
	}
	if st.Deadline != q1.Deadline {
		t.Fatalf("resumed deadline %d, want the question's %d", st.Deadline, q1.Deadline)
	}
	if left := st.Deadline - w.ServerTime; left != 10000 {
		t.Fatalf("time left %d ms on the server's clock, want 10000 (15 s limit, 5 s gone)", left)
	}
	if !st.You.Answered || st.You.Score != 20 || st.You.Rank != 1 || st.You.Streak != 1 {
		t.Fatalf("resumed you %+v, want answered, score 20, rank 1, streak 1", st.You)
	}
	r0, ok0 := answerRec(st.You, 0)
	r1, ok1 := answerRec(st.You, 1)
	if !ok0 || r0.Correct == nil || !*r0.Correct || r0.Points != 20 || !sameAnswer(r0, a0) {
		t.Fatalf("resumed record of question 0 %+v", r0)
	}
	if !ok1 || !sameAnswer(r1, a1) || len(st.You.Answers) != 2 {
		t.Fatalf("resumed answers %+v, want questions 0 and 1", st.You.Answers)
	}

	// Exactly once: the resend (even with another choice) gets the first ack.
	for _, d := range []map[string]any{a1, h.wrongAnswer(q1)} {
		var dup ack
		a2.reply(a2.send("answer", d)).decode(t, &dup)
		if !dup.Duplicate || !dup.Accepted || dup.Elapsed != first.Elapsed || dup.Index != 1 {
			t.Fatalf("resent answer ack %+v, want the first %+v marked duplicate", dup, first)
		}
	}
	// The room goes on with A on its new connection.
	b.reply(b.send("answer", h.correctAnswer(q1)))
	var ra reveal
	a2.expect("reveal").decode(t, &ra)
	if !ra.You.Correct || ra.You.Points != 20 || ra.You.Score != 40 {
		t.Fatalf("A's reveal after resume %+v, want the fastest right answer: 20, total 40", ra.You)
	}
	var rb reveal
	b.expect("reveal").decode(t, &rb)
	if rb.You.Points != 10 || rb.You.Score != 10 {
		t.Fatalf("B's reveal %+v", rb.You)
	}
}

// stageEvent creates a host-paced event, connects its host and n players,
// and returns them.
func (h *harness) stageEvent(n int, body map[string]any) (created, *client, []*client) {
	h.t.Helper()
	ev := h.createEvent(body)
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	host.reply(host.send("watch", map[string]any{"room": ev.Room}))
	ps := make([]*client, n)
	for i := range ps {
		c := h.dial()
		c.hello("选手" + itoa(i))
		if m := c.reply(c.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
			h.t.Fatalf("join: %s", m.raw)
		}
		ps[i] = c
	}
	return ev, host, ps
}

// control sends a host action and waits for its ok.
func (h *harness) control(host *client, roomID, action string) {
	h.t.Helper()
	if m := host.reply(host.send("host.control", map[string]any{"room": roomID, "action": action})); m.Type != "ok" {
		h.t.Fatalf("host %s: %s", action, m.raw)
	}
}

// TestResumeMidQuestionEvent is the same promise in a stage event.
func TestResumeMidQuestionEvent(t *testing.T) {
	h := newHarness(t, nil)
	ev, host, ps := h.stageEvent(3, map[string]any{"title": "断线重连", "count": 3, "time_limit_ms": 20000, "lang": "zh"})
	p, others := ps[0], ps[1:]
	h.control(host, ev.Room, "start")
	h.advance(3 * time.Second)

	q0 := h.nextQuestion(ps...)
	h.advance(4 * time.Second)
	var ack0 ack
	p.reply(p.send("answer", h.correctAnswer(q0))).decode(t, &ack0)
	for _, c := range others {
		c.reply(c.send("answer", h.wrongAnswer(q0)))
	}
	var r0 reveal
	p.expect("reveal").decode(t, &r0)
	if want := speedPoints(ack0.Elapsed, 20000, 1); r0.You.Points != want {
		t.Fatalf("q0 points %d, want %d", r0.You.Points, want)
	}
	h.control(host, ev.Room, "next")

	q1 := h.nextQuestion(ps...)
	h.advance(5 * time.Second)
	a1 := h.correctAnswer(q1)
	var first ack
	p.reply(p.send("answer", a1)).decode(t, &first)
	h.drop(p)
	h.advance(6 * time.Second)

	p2, w := h.resume(p)
	st, m := p2.pushedState(ev.Room)
	h.checkStateNoLeak(st, m)
	if st.Phase != "question" || st.Index != 1 || st.Question == nil || st.Question.ID != q1.Question.ID || st.Deadline != q1.Deadline {
		t.Fatalf("resumed state %s, want question 1 open with deadline %d", m.raw, q1.Deadline)
	}
	if left := st.Deadline - w.ServerTime; left != 9000 {
		t.Fatalf("time left %d ms, want 9000 (20 s limit, 11 s gone)", left)
	}
	if !st.You.Answered || st.You.Score != r0.You.Score || st.You.Streak != 1 || st.You.Rank != 1 || len(st.You.Answers) != 2 {
		t.Fatalf("resumed you %+v, want answered, score %d, streak 1, two answers", st.You, r0.You.Score)
	}
	if rec, ok := answerRec(st.You, 0); !ok || rec.Points != r0.You.Points || rec.Correct == nil || !*rec.Correct {
		t.Fatalf("record of question 0 %+v, want %d points", rec, r0.You.Points)
	}
	var dup ack
	p2.reply(p2.send("answer", a1)).decode(t, &dup)
	if !dup.Duplicate || dup.Elapsed != first.Elapsed {
		t.Fatalf("resent ack %+v, want the first %+v marked duplicate", dup, first)
	}
	for _, c := range others {
		c.reply(c.send("answer", h.wrongAnswer(q1)))
	}
	var r1 reveal
	p2.expect("reveal").decode(t, &r1)
	if want := speedPoints(first.Elapsed, 20000, 2); !r1.You.Correct || r1.You.Points != want || r1.You.Score != r0.You.Score+want || r1.You.Streak != 2 {
		t.Fatalf("reveal after resume %+v, want %d points with the streak kept", r1.You, want)
	}
}

// TestAwayWhileDeadlinePasses: a player whose question ran out while it was
// away scores nothing for it and loses its streak; in a duel and an event.
func TestAwayWhileDeadlinePasses(t *testing.T) {
	t.Run("event", func(t *testing.T) {
		h := newHarness(t, nil)
		ev, host, ps := h.stageEvent(2, map[string]any{"title": "超时", "count": 3, "time_limit_ms": 20000, "lang": "zh"})
		p, o := ps[0], ps[1]
		h.control(host, ev.Room, "start")
		h.advance(3 * time.Second)
		q0 := h.nextQuestion(ps...)
		h.advance(2 * time.Second)
		p.reply(p.send("answer", h.correctAnswer(q0)))
		o.reply(o.send("answer", h.correctAnswer(q0)))
		var r0 reveal
		p.expect("reveal").decode(t, &r0)
		if !r0.You.Correct || r0.You.Streak != 1 {
			t.Fatalf("q0 reveal %+v", r0.You)
		}
		h.control(host, ev.Room, "next")

		// P drops before answering; the other player stays silent too, so
		// the question ends at its deadline while P is away.
		q1 := h.nextQuestion(ps...)
		h.drop(p)
		h.advance(20*time.Second + time.Second)
		o.expect("reveal")

		p2, _ := h.resume(p)
		st, m := p2.pushedState(ev.Room)
		if st.Phase != "reveal" || st.Index != 1 {
			t.Fatalf("state after the deadline %s", m.raw)
		}
		if st.You.Answered || st.You.Score != r0.You.Score || st.You.Streak != 0 || len(st.You.Answers) != 1 {
			t.Fatalf("you %+v: want no answer to question 1, score %d kept, streak reset", st.You, r0.You.Score)
		}
		p2.expectError(p2.send("answer", h.correctAnswer(q1)), "too_late")

		// The next right answer starts a new streak: no bonus.
		h.control(host, ev.Room, "next")
		q2 := h.nextQuestion(p2, o)
		h.advance(3 * time.Second)
		var a2 ack
		p2.reply(p2.send("answer", h.correctAnswer(q2))).decode(t, &a2)
		o.reply(o.send("answer", h.wrongAnswer(q2)))
		var r2 reveal
		// (The reveal of question 1 may reach the new connection too, if it
		// resumed before that reveal was durable and sent.)
		p2.expectReveal(q2.Index).decode(t, &r2)
		if want := speedPoints(a2.Elapsed, 20000, 1); r2.You.Points != want || r2.You.Streak != 1 || r2.You.Score != r0.You.Score+want {
			t.Fatalf("q2 reveal %+v, want %d points and streak 1", r2.You, want)
		}
	})
	t.Run("duel", func(t *testing.T) {
		h := newHarness(t, nil)
		a, b := h.dial(), h.dial()
		a.hello("离开")
		b.hello("留下")
		roomID, q0 := h.duelToFirstQuestion(a, b)
		h.advance(time.Second)
		a.reply(a.send("answer", h.correctAnswer(q0)))
		h.advance(500 * time.Millisecond)
		b.reply(b.send("answer", h.correctAnswer(q0)))
		a.expect("reveal")
		b.expect("reveal")
		h.advance(3 * time.Second)
		q1 := h.nextQuestion(a, b)
		h.drop(a)
		h.advance(15*time.Second + time.Second)
		var rb reveal
		b.expect("reveal").decode(t, &rb)
		if rb.You.Points != 0 || rb.You.Score != 10 {
			t.Fatalf("B's reveal %+v", rb.You)
		}
		a2, _ := h.resume(a)
		st, m := a2.pushedState(roomID)
		if st.Phase != "reveal" || st.Index != 1 || st.You.Score != 20 || st.You.Streak != 0 || st.You.Answered {
			t.Fatalf("state after the deadline %s", m.raw)
		}
		if _, ok := answerRec(st.You, 1); ok {
			t.Fatalf("an answer to question 1 appeared: %s", m.raw)
		}
		a2.expectError(a2.send("answer", h.correctAnswer(q1)), "too_late")
		// It plays on: the next question reaches the new connection.
		h.advance(3 * time.Second)
		h.nextQuestion(a2, b)
	})
}

// TestResumeKeepsQueuePlace: a queued player who drops and resumes within
// the grace window is still queued, is told so, stays queued past the end of
// the window it came back in, and gets matched.
func TestResumeKeepsQueuePlace(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Grace = 30 * time.Second; c.Match.MaxWait = 10 * time.Minute })
	a := h.dial()
	a.hello("排队")
	var qd struct{ Ticket, Mode string }
	a.reply(a.send("match.find", map[string]any{"mode": "duel"})).decode(t, &qd)
	h.drop(a)
	h.advance(20 * time.Second) // inside the window
	if _, ok := h.srv.Matchmaker().Queued(a.id); !ok {
		t.Fatal("left the queue inside the grace window")
	}
	a2, _ := h.resume(a)
	var pushed struct{ Ticket, Mode string }
	a2.expectFn("match.queued pushed", func(m msg) bool { return m.Type == "match.queued" && m.Re == "" }).decode(t, &pushed)
	if pushed.Ticket != qd.Ticket || pushed.Mode != "duel" {
		t.Fatalf("pushed match.queued %+v, want ticket %s", pushed, qd.Ticket)
	}
	// Past the end of the first window: connected again, so still queued.
	h.advance(20 * time.Second)
	h.srv.Matchmaker().Process(context.Background())
	if _, ok := h.srv.Matchmaker().Queued(a.id); !ok {
		t.Fatal("a resumed player was dropped from its queue")
	}
	a2.expectError(a2.send("match.find", map[string]any{"mode": "duel"}), "wrong_phase")

	b := h.dial()
	b.hello("来了")
	b.reply(b.send("match.find", map[string]any{"mode": "duel"}))
	h.srv.Matchmaker().Process(context.Background())
	var fa, fb struct {
		Ticket, Room string
		Players      []struct{ ID string }
	}
	a2.expect("match.found").decode(t, &fa)
	b.expect("match.found").decode(t, &fb)
	if fa.Ticket != qd.Ticket || fa.Room == "" || fa.Room != fb.Room || len(fa.Players) != 2 {
		t.Fatalf("match.found a %+v b %+v", fa, fb)
	}
	if st, m := a2.pushedState(fa.Room); st.Phase != "countdown" {
		t.Fatalf("room.state after the match %s", m.raw)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAnswersOutsideTheOpenQuestion: answers for another room, a question
// not open yet, a closed question or no question at all get their error
// codes and change nothing.
func TestAnswersOutsideTheOpenQuestion(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c, d := h.dial(), h.dial(), h.dial(), h.dial()
	for i, x := range []*client{a, b, c, d} {
		x.hello("答" + itoa(i))
	}
	r1 := h.queueAndMatch("duel", a, b)
	r2 := h.queueAndMatch("duel", c, d)
	for _, x := range []*client{a, b, c, d} {
		x.expect("room.state")
	}
	h.advance(3 * time.Second)
	q := h.nextQuestion(a, b)
	q2 := h.nextQuestion(c, d)

	other := h.correctAnswer(q2)
	a.expectError(a.send("answer", other), "forbidden") // c and d's room
	future := h.correctAnswer(q)
	future["index"] = 1
	a.expectError(a.send("answer", future), "wrong_phase")
	none := h.correctAnswer(q)
	none["index"] = 99
	a.expectError(a.send("answer", none), "bad_request")
	a.reply(a.send("answer", h.correctAnswer(q)))
	h.advance(15*time.Second + time.Second)
	b.expect("reveal")
	b.expectError(b.send("answer", h.correctAnswer(q)), "too_late")

	for _, id := range []string{r1, r2} {
		r, ok := h.srv.Rooms().Get(id)
		if !ok {
			t.Fatalf("room %s gone", id)
		}
		snap, err := r.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		if id == r1 {
			want[a.id], want[b.id] = 20, 0
		} else {
			want[c.id], want[d.id] = 0, 0
		}
		for p, s := range want {
			if snap.Scores[p] != s {
				t.Fatalf("room %s scores %v, want %v", id, snap.Scores, want)
			}
		}
	}
}

// TestShutdownClosesEveryConnection: a graceful stop closes every
// connection with 1001, welcomed or not, after the acks of what it took.
func TestShutdownClosesEveryConnection(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.HelloTimeout = time.Minute })
	silent := h.dial() // never says hello
	a, b := h.dial(), h.dial()
	a.hello("停机甲")
	b.hello("停机乙")
	_, q := h.duelToFirstQuestion(a, b)
	if m := a.reply(a.send("answer", h.correctAnswer(q))); m.Type != "answer.ack" {
		t.Fatalf("answer: %s", m.raw)
	}
	h.stop()
	for _, c := range []*client{silent, a, b} {
		if code := c.waitClosed(); code != 1001 {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
}
