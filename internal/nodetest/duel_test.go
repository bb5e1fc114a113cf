package nodetest_test

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/leitai/leitai/internal/nodetest"
	"github.com/leitai/leitai/questionbank"
)

// wrongAnswer is an answer to the question that is not right.
func wrongAnswer(t *testing.T, bank map[string]questionbank.Question, room, id string, index int) map[string]any {
	t.Helper()
	q, ok := bank[id]
	if !ok {
		t.Fatalf("unknown question %s", id)
	}
	d := map[string]any{"room": room, "index": index}
	if q.Type == questionbank.Text {
		d["text"] = "这不是答案"
		return d
	}
	for _, o := range q.Options {
		if !slices.Contains(q.Answer, o.Key) {
			d["choice"] = []string{o.Key}
			return d
		}
	}
	t.Fatalf("question %s has no wrong option", id)
	return nil
}

// finished is the data of room.finished.
type finished struct {
	Room      string
	Standings []struct {
		Rank  int
		ID    string
		Score int64
	}
	You struct {
		Rank          int
		Score         int64
		PointsAwarded int64 `json:"points_awarded"`
	}
}

// TestDuelAcrossNodesToTheEnd: two players on different nodes are matched
// into a duel and play it to the end; one of them drops mid-match and
// resumes through the other node, which re-attaches it to the room wherever
// it runs. The result is stored once: its standings, and each player's
// rating and points moved by exactly one award.
func TestDuelAcrossNodesToTheEnd(t *testing.T) {
	bank := answers(t)
	const total = 3
	c := nodetest.StartWith(t, 2, nodetest.Options{Args: []string{
		"--match-questions", "3", "--match-countdown", "100ms", "--match-reveal", "200ms"}})
	a := c.Nodes[0].Dial()
	a.Hello(map[string]any{"name": "甲"})
	b := c.Nodes[1].Dial()
	b.Hello(map[string]any{"name": "乙"})
	for _, p := range []*nodetest.Client{a, b} {
		if m := p.Reply(p.Send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
			t.Fatalf("%s: match.find: %s", p.Name, m.Raw)
		}
	}
	var found [2]struct{ Room string }
	a.Expect("match.found").Decode(t, &found[0])
	b.Expect("match.found").Decode(t, &found[1])
	if found[0].Room == "" || found[0].Room != found[1].Room {
		t.Fatalf("matched into rooms %q and %q", found[0].Room, found[1].Room)
	}
	room := found[0].Room
	for i := 0; i < total; i++ {
		if i == 1 {
			// 乙 loses its connection before the second question and comes
			// back through the other node.
			b.Drop()
			back := c.Nodes[0].Dial()
			w := back.Hello(map[string]any{"resume": b.Resume})
			if w.Player.ID != b.ID {
				t.Fatalf("resume through %s welcomed %s, want %s", c.Nodes[0].ID, w.Player.ID, b.ID)
			}
			back.Name = b.Name
			var st state
			back.ExpectFn("room.state after the resume", func(m nodetest.Msg) bool {
				return m.Type == "room.state" && contains(m.Raw, room)
			}).Decode(t, &st)
			if st.Phase == "finished" {
				t.Fatalf("the duel finished while 乙 was away: %+v", st)
			}
			b = back
		}
		var qa, qb question
		a.ExpectFn("question", func(m nodetest.Msg) bool { return m.Type == "question" && contains(m.Raw, `"index":`+itoa(i)+`,`) }).Decode(t, &qa)
		b.ExpectFn("question", func(m nodetest.Msg) bool { return m.Type == "question" && contains(m.Raw, `"index":`+itoa(i)+`,`) }).Decode(t, &qb)
		if qa.Room != room || qb.Room != room || qa.Question.ID != qb.Question.ID {
			t.Fatalf("question %d: %s %s in %s, %s %s in %s", i, a.Name, qa.Question.ID, qa.Room, b.Name, qb.Question.ID, qb.Room)
		}
		if m := a.Reply(a.Send("answer", rightAnswer(t, bank, room, qa.Question.ID, i))); m.Type != "answer.ack" {
			t.Fatalf("甲 answers %d: %s", i, m.Raw)
		}
		if m := b.Reply(b.Send("answer", wrongAnswer(t, bank, room, qb.Question.ID, i))); m.Type != "answer.ack" {
			t.Fatalf("乙 answers %d on %s: %s", i, b.Node.ID, m.Raw)
		}
		a.Expect("reveal")
		b.Expect("reveal")
	}
	var fa, fb finished
	a.Expect("room.finished").Decode(t, &fa)
	b.Expect("room.finished").Decode(t, &fb)
	if len(fa.Standings) != 2 || fa.Standings[0].ID != a.ID || fa.Standings[1].ID != b.ID {
		t.Fatalf("standings %+v, want 甲 (%s) first and 乙 (%s) second", fa.Standings, a.ID, b.ID)
	}
	if fa.You.Rank != 1 || fb.You.Rank != 2 || fa.You.PointsAwarded <= 0 {
		t.Fatalf("甲 told %+v, 乙 told %+v", fa.You, fb.You)
	}

	// The records, straight from PostgreSQL.
	db, err := sql.Open("pgx", c.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kind, standings string
	if err := db.QueryRow(`SELECT kind, standings FROM results WHERE room = $1`, room).Scan(&kind, &standings); err != nil {
		t.Fatalf("the duel's result is not stored: %v", err)
	}
	if kind != "duel" || !contains([]byte(standings), a.ID) || !contains([]byte(standings), b.ID) {
		t.Fatalf("stored result %s %s", kind, standings)
	}
	for _, p := range []struct {
		id     string
		points int64
		won    bool
	}{{a.ID, fa.You.PointsAwarded, true}, {b.ID, fb.You.PointsAwarded, false}} {
		var rating float64
		var points, awards, ledger int64
		if err := db.QueryRow(`SELECT rating, points FROM players WHERE id = $1`, p.id).Scan(&rating, &points); err != nil {
			t.Fatalf("player %s: %v", p.id, err)
		}
		if err := db.QueryRow(`SELECT count(*), coalesce(sum(points), 0) FROM ledger WHERE player = $1`, p.id).Scan(&awards, &ledger); err != nil {
			t.Fatal(err)
		}
		if awards != 1 || ledger != p.points || points != p.points {
			t.Fatalf("player %s: %d awards of %d points in the ledger, %d on the player, told %d: want one award", p.id, awards, ledger, points, p.points)
		}
		if p.won && rating <= 1500 || !p.won && rating >= 1500 {
			t.Fatalf("player %s (won %v): rating %v", p.id, p.won, rating)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
