package nodetest_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/nodetest"
)

// waitFor polls cond every 20 ms until it holds, failing the test after
// within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready reports the node's /readyz status code.
func ready(n *nodetest.Node) int {
	resp, err := http.Get(n.URL("/readyz"))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// errCode is the code of an error message, "" for anything else.
func errCode(t *testing.T, m nodetest.Msg) string {
	t.Helper()
	if m.Type != "error" {
		return ""
	}
	var e struct{ Code string }
	m.Decode(t, &e)
	return e.Code
}

// inResults fails the test for each acked answer missing from the event's
// results.
func inResults(t *testing.T, n *nodetest.Node, ev nodetest.Event, got []acked) {
	t.Helper()
	rows := results(t, n, ev)
	for _, a := range got {
		if !slices.ContainsFunc(rows, func(r struct {
			Player string
			Index  int
		}) bool {
			return r.Player == a.player && r.Index == a.index
		}) {
			t.Errorf("acked answer of %s to question %d is not in the results", a.player, a.index)
		}
	}
}

// TestRedisRestartedMidEvent: Redis (append-only on) is stopped with
// SIGTERM while a question is open and started again on its port with its
// data. While it is away a command that must cross the Bus (an answer from
// a player on another node than the room's owner, the host's control from
// another node) gets `unavailable`, /readyz says 503, and the owner stops
// the room once its lease cannot be renewed for a TTL: the room pauses.
// Once Redis is back a node takes the room over from the journal (its
// lease lapsed), the players are sent its state with the question still
// open, the answers that got `unavailable` are sent again and acked, and
// the event finishes with every acked answer in the results.
func TestRedisRestartedMidEvent(t *testing.T) {
	bank := answers(t)
	c := nodetest.StartWith(t, 2, nodetest.Options{AppendOnly: true})
	owner, other := c.Nodes[0], c.Nodes[1]
	ev := owner.CreateEvent(map[string]any{"title": "重启", "count": 3, "time_limit_ms": 60000, "lang": "zh"})
	host := staff(t, other, ev, ev.HostToken)
	var players []*nodetest.Client
	for i, n := range []*nodetest.Node{owner, other, other} {
		players = append(players, contestant(t, n, ev, fmt.Sprintf("选手%d", i+1)))
	}
	acks := &acker{t: t, bank: bank, room: ev.Room}
	answer := acks.answer
	control(t, host, ev, "start")
	q0 := nextQuestion(t, players)
	for _, p := range players {
		answer(p, q0)
	}
	control(t, host, ev, "next")
	q1 := nextQuestion(t, players)
	answer(players[0], q1)
	answer(players[1], q1)

	start := time.Now()
	c.Redis.Term(t)
	t.Logf("redis stopped %v", time.Since(start))
	// What errors: an answer from the other node, and the host's control.
	if m := players[2].Reply(players[2].Send("answer", rightAnswer(t, bank, ev.Room, q1.Question.ID, 1))); errCode(t, m) != "unavailable" {
		t.Fatalf("an answer through the Bus while Redis is down: %s, want error unavailable", m.Raw)
	}
	if m := host.Reply(host.Send("host.control", map[string]any{"room": ev.Room, "action": "next"})); errCode(t, m) != "unavailable" {
		t.Fatalf("host control through the Bus while Redis is down: %s, want error unavailable", m.Raw)
	}
	for _, n := range c.Nodes {
		waitFor(t, n.ID+" /readyz reports Redis down", 10*time.Second, func() bool { return ready(n) == http.StatusServiceUnavailable })
	}
	// What pauses: the owner cannot renew the room's lease, so it stops
	// running it rather than risk two owners.
	waitFor(t, "the owner lets the room go", 10*time.Second, func() bool {
		held, ok := owner.Metric(`leitai_leases_held{node="node1"}`)
		return ok && held == 0
	})

	t.Logf("room paused %v", time.Since(start))
	c.Redis.Start(t)
	t.Logf("redis started %v", time.Since(start))
	for _, n := range c.Nodes {
		waitFor(t, n.ID+" /readyz after Redis is back", 15*time.Second, func() bool { return ready(n) == http.StatusOK })
	}
	// The room runs again, taken over from the journal: the question is
	// still open and the players are told so.
	for _, p := range players {
		var st state
		p.ExpectFn("room.state after Redis is back", func(m nodetest.Msg) bool { return m.Type == "room.state" && m.Re == "" }).Decode(t, &st)
		if st.Phase != "question" || st.Index != 1 || st.Question == nil || st.Question.ID != q1.Question.ID {
			t.Fatalf("%s after Redis is back: %+v", p.Name, st)
		}
	}
	t.Logf("room back %v", time.Since(start))
	// Acked before the restart, it stands: sent again, a duplicate.
	if m := players[1].Reply(players[1].Send("answer", rightAnswer(t, bank, ev.Room, q1.Question.ID, 1))); m.Type != "answer.ack" || !contains(m.Raw, `"duplicate":true`) {
		t.Fatalf("an answer acked before the restart, sent again: %s", m.Raw)
	}
	answer(players[2], q1)
	for _, p := range players {
		p.Expect("reveal")
	}
	control(t, host, ev, "next")
	q2 := nextQuestion(t, players)
	for _, p := range players {
		answer(p, q2)
	}
	control(t, host, ev, "next")
	for _, p := range append([]*nodetest.Client{host}, players...) {
		p.Expect("room.finished")
	}
	t.Logf("finished %v", time.Since(start))
	inResults(t, other, ev, acks.got)
}

// TestPostgresAwayForTenSeconds: the PostgreSQL server is stopped (pg_ctl
// stop -m fast) while a question is open, for 10 s, and started again. All
// the while answers, from a player on the room's owner and from one on
// another node, get `unavailable` and never an ack, since an ack means
// durable, and /readyz says 503; the room goes on running, the question
// open. Once PostgreSQL is back the same answers are acked (not as
// duplicates: none was kept), and the event finishes with every acked
// answer in the results.
func TestPostgresAwayForTenSeconds(t *testing.T) {
	const outage = 10 * time.Second
	bank := answers(t)
	c := nodetest.StartWith(t, 2, nodetest.Options{OwnDB: true})
	owner, other := c.Nodes[0], c.Nodes[1]
	ev := owner.CreateEvent(map[string]any{"title": "断库", "count": 2, "time_limit_ms": 60000, "lang": "zh"})
	host := staff(t, other, ev, ev.HostToken)
	var players []*nodetest.Client
	for i, n := range []*nodetest.Node{owner, other, other} {
		players = append(players, contestant(t, n, ev, fmt.Sprintf("选手%d", i+1)))
	}
	acks := &acker{t: t, bank: bank, room: ev.Room, fresh: true}
	answer := acks.answer
	control(t, host, ev, "start")
	q0 := nextQuestion(t, players)
	answer(players[2], q0)

	c.DBServer.StopFast(t)
	start := time.Now()
	for time.Since(start) < outage {
		for _, p := range players[:2] {
			m := p.Reply(p.Send("answer", rightAnswer(t, bank, ev.Room, q0.Question.ID, 0)))
			if code := errCode(t, m); code != "unavailable" {
				t.Fatalf("%s on %s answers while PostgreSQL is away, %v in: %s, want error unavailable", p.Name, p.Node.ID, time.Since(start).Round(time.Millisecond), m.Raw)
			}
		}
		for _, n := range c.Nodes {
			if code := ready(n); code != http.StatusServiceUnavailable {
				t.Fatalf("%s /readyz while PostgreSQL is away: %d, want 503", n.ID, code)
			}
		}
		time.Sleep(250 * time.Millisecond) // the outage is wall time: a real server is away
	}
	c.DBServer.Start(t)
	t.Logf("PostgreSQL away %v", time.Since(start).Round(time.Millisecond))
	// The question stayed open: the answers refused are taken now.
	waitFor(t, "an answer acked once PostgreSQL is back", 15*time.Second, func() bool {
		m := players[0].Reply(players[0].Send("answer", rightAnswer(t, bank, ev.Room, q0.Question.ID, 0)))
		if m.Type == "answer.ack" {
			if contains(m.Raw, `"duplicate":true`) {
				t.Fatalf("an answer refused with unavailable was kept: %s", m.Raw)
			}
			acks.got = append(acks.got, acked{players[0].ID, 0})
			return true
		}
		if code := errCode(t, m); code != "unavailable" {
			t.Fatalf("answer after PostgreSQL is back: %s", m.Raw)
		}
		return false
	})
	t.Logf("answers acked again %v after the outage began", time.Since(start).Round(time.Millisecond))
	answer(players[1], q0)
	for _, p := range players {
		p.Expect("reveal")
	}
	control(t, host, ev, "next")
	var q1 question
	for _, p := range players {
		// (The owner may have asked question 0 again when it reopened the
		// room after the failed journal write.)
		p.ExpectFn("question 1", func(m nodetest.Msg) bool { return m.Type == "question" && contains(m.Raw, `"index":1,`) }).Decode(t, &q1)
	}
	for _, p := range players {
		answer(p, q1)
	}
	control(t, host, ev, "next")
	for _, p := range append([]*nodetest.Client{host}, players...) {
		p.Expect("room.finished")
	}
	inResults(t, other, ev, acks.got)
}
