package nodetest_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/nodetest"
)

// partyState is the data of party.state.
type partyState struct {
	Party, Code, Leader string
	Members             []struct{ ID string }
}

// reason is the reason of an error message, "" for anything else.
func reason(t *testing.T, m nodetest.Msg) string {
	t.Helper()
	if m.Type != "error" {
		return ""
	}
	var e struct{ Reason string }
	m.Decode(t, &e)
	return e.Reason
}

// gather has ps[0] create a party on its node and the others join it by
// its code from theirs; every member is pushed each new state.
func gather(t *testing.T, ps []*nodetest.Client) partyState {
	t.Helper()
	var st partyState
	m := ps[0].Reply(ps[0].Send("party.create", nil))
	if m.Type != "party.state" {
		t.Fatalf("%s: party.create: %s", ps[0].Name, m.Raw)
	}
	m.Decode(t, &st)
	for i, p := range ps[1:] {
		m := p.Reply(p.Send("party.join", map[string]any{"code": st.Code}))
		if m.Type != "party.state" {
			t.Fatalf("%s on %s: party.join %s: %s", p.Name, p.Node.ID, st.Code, m.Raw)
		}
		m.Decode(t, &st)
		if len(st.Members) != i+2 || st.Leader != ps[0].ID {
			t.Fatalf("%s: party.state %+v", p.Name, st)
		}
		for _, o := range ps[:i+1] {
			o.ExpectFn("pushed party.state", func(m nodetest.Msg) bool {
				return m.Type == "party.state" && m.Re == "" && contains(m.Raw, p.ID)
			})
		}
	}
	return st
}

// TestPartyTeamMatchAcrossNodes: over real WebSockets against three real
// nodes, a party made on node 1 is joined from nodes 2 and 3, another made
// on node 2 from nodes 3 and 1; the refusals are those of one node; the
// two parties are queued from their leaders' nodes; a member elsewhere is
// refused a duel meanwhile; a member resumes on
// another node while queued; the parties are matched into one team room,
// and everyone plays it to room.finished on its own node.
func TestPartyTeamMatchAcrossNodes(t *testing.T) {
	bank := answers(t)
	c := nodetest.StartWith(t, 3, nodetest.Options{Args: []string{
		"--match-questions", "3", "--match-countdown", "100ms", "--match-reveal", "200ms"}})
	dial := func(name string, node int) *nodetest.Client {
		p := c.Nodes[node].Dial()
		p.Hello(map[string]any{"name": name})
		return p
	}
	red := []*nodetest.Client{dial("红一", 0), dial("红二", 1), dial("红三", 2)}
	blue := []*nodetest.Client{dial("蓝一", 1), dial("蓝二", 2), dial("蓝三", 0)}
	rst := gather(t, red)

	// Refusals across nodes, as on one node.
	late := dial("迟", 2)
	if r := reason(t, late.Reply(late.Send("party.join", map[string]any{"code": "ZZZZZZ"}))); r != "party_code_unknown" {
		t.Fatalf("unknown code: %q", r)
	}
	if r := reason(t, red[1].Reply(red[1].Send("party.create", nil))); r != "party_already" {
		t.Fatalf("create while in a party elsewhere: %q", r)
	}
	if r := reason(t, red[2].Reply(red[2].Send("match.find", map[string]any{"mode": "team"}))); r != "party_not_leader" {
		t.Fatalf("team find by a member: %q", r)
	}
	gather(t, blue)

	queue := func(ps []*nodetest.Client) {
		if m := ps[0].Reply(ps[0].Send("match.find", map[string]any{"mode": "team"})); m.Type != "match.queued" {
			t.Fatalf("%s: team find: %s", ps[0].Name, m.Raw)
		}
		for _, p := range ps[1:] {
			p.Expect("match.queued")
		}
	}
	queue(red)
	if r := reason(t, late.Reply(late.Send("party.join", map[string]any{"code": rst.Code}))); r != "party_busy" {
		t.Fatalf("join a queued party from another node: %q", r)
	}
	// A member on another node than its queued party's does not queue
	// alone as well.
	if r := reason(t, red[2].Reply(red[2].Send("match.find", map[string]any{"mode": "duel"}))); r != "already_playing" {
		t.Fatalf("duel find by a member of a queued party on another node: %q", r)
	}
	// 红二 loses its connection to node 2 and resumes through node 3, its
	// party queued: it is still in the party, pushed its state there, and
	// is found there.
	red[1].Drop()
	back := c.Nodes[2].Dial()
	if w := back.Hello(map[string]any{"resume": red[1].Resume}); w.Player.ID != red[1].ID {
		t.Fatalf("resume through node 3 welcomed %s, want %s", w.Player.ID, red[1].ID)
	}
	back.Name = red[1].Name
	back.ExpectFn("party.state on the new node", func(m nodetest.Msg) bool {
		return m.Type == "party.state" && m.Re == "" && contains(m.Raw, rst.Party)
	})
	red[1] = back
	queue(blue)

	all := append(append([]*nodetest.Client{}, red...), blue...)
	var room string
	team := map[string]string{}
	for _, p := range all {
		var f struct {
			Room, Mode string
			Players    []struct{ ID, Team string }
		}
		p.Expect("match.found").Decode(t, &f)
		if f.Mode != "team" || len(f.Players) != 6 || (room != "" && f.Room != room) {
			t.Fatalf("%s on %s: match.found %+v", p.Name, p.Node.ID, f)
		}
		room = f.Room
		for _, x := range f.Players {
			team[x.ID] = x.Team
		}
	}
	for _, ps := range [][]*nodetest.Client{red, blue} {
		for _, p := range ps[1:] {
			if team[p.ID] != team[ps[0].ID] {
				t.Fatalf("teams %v", team)
			}
		}
	}
	if team[red[0].ID] == team[blue[0].ID] {
		t.Fatalf("both parties in team %s", team[red[0].ID])
	}

	for i := 0; i < 3; i++ {
		var q question
		for _, p := range all {
			p.ExpectFn("question", func(m nodetest.Msg) bool {
				return m.Type == "question" && contains(m.Raw, `"index":`+itoa(i)+`,`)
			}).Decode(t, &q)
			if q.Room != room {
				t.Fatalf("%s: question in %s, want %s", p.Name, q.Room, room)
			}
		}
		for _, p := range red {
			if m := p.Reply(p.Send("answer", rightAnswer(t, bank, room, q.Question.ID, i))); m.Type != "answer.ack" {
				t.Fatalf("%s on %s answers %d: %s", p.Name, p.Node.ID, i, m.Raw)
			}
		}
		for _, p := range blue {
			if m := p.Reply(p.Send("answer", wrongAnswer(t, bank, room, q.Question.ID, i))); m.Type != "answer.ack" {
				t.Fatalf("%s on %s answers %d: %s", p.Name, p.Node.ID, i, m.Raw)
			}
		}
		for _, p := range all {
			p.Expect("reveal")
		}
	}
	for _, p := range all {
		var f finished
		p.Expect("room.finished").Decode(t, &f)
		if len(f.Standings) != 6 {
			t.Fatalf("%s: standings %+v", p.Name, f.Standings)
		}
	}

	db, err := sql.Open("pgx", c.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kind string
	if err := db.QueryRow(`SELECT kind FROM results WHERE room = $1`, room).Scan(&kind); err != nil || kind != "team" {
		t.Fatalf("the team match's result: %q, %v", kind, err)
	}
	var results int
	if err := db.QueryRow(`SELECT count(*) FROM results WHERE kind = 'team'`).Scan(&results); err != nil || results != 1 {
		t.Fatalf("%d team results stored, want 1 (%v)", results, err)
	}

	// A member on another node than its party's leaves; the others are
	// pushed the party of two.
	if m := red[2].Reply(red[2].Send("party.leave", nil)); m.Type != "party.left" {
		t.Fatalf("leave from node 3: %s", m.Raw)
	}
	for _, p := range red[:2] {
		p.ExpectFn("party.state of two", func(m nodetest.Msg) bool {
			if m.Type != "party.state" || m.Re != "" {
				return false
			}
			var st partyState
			m.Decode(t, &st)
			return len(st.Members) == 2
		})
	}
}

// TestPartyHomeKilled: a party dies with the node it was made on. Its
// members on other nodes are answered as members until its claims lapse
// (30 s), then are in no party and may form another; its code is unknown
// everywhere.
func TestPartyHomeKilled(t *testing.T) {
	c := nodetest.Start(t, 2)
	lead := c.Nodes[0].Dial()
	lead.Hello(map[string]any{"name": "首"})
	mate := c.Nodes[1].Dial()
	mate.Hello(map[string]any{"name": "伴"})
	st := gather(t, []*nodetest.Client{lead, mate})
	c.Nodes[0].Kill()
	start := time.Now()
	// Right after, the claims of the dead node still hold the member.
	if r := reason(t, mate.Reply(mate.Send("party.create", nil))); r != "party_already" {
		t.Fatalf("party.create right after the party's node died: %q", r)
	}
	// Polled once a second: the node's message limit is a few a second.
	var m nodetest.Msg
	for {
		if m = mate.Reply(mate.Send("party.create", nil)); m.Type == "party.state" {
			break
		}
		if r := reason(t, m); r != "party_already" {
			t.Fatalf("party.create while the dead node's claims last: %s", m.Raw)
		}
		if time.Since(start) > 45*time.Second {
			t.Fatal("the member is still in the dead node's party after 45 s")
		}
		time.Sleep(time.Second)
	}
	var mine partyState
	m.Decode(t, &mine)
	if mine.Code == st.Code || mine.Leader != mate.ID || len(mine.Members) != 1 {
		t.Fatalf("new party %+v after the old %+v", mine, st)
	}
	other := c.Nodes[1].Dial()
	other.Hello(map[string]any{"name": "客"})
	if r := reason(t, other.Reply(other.Send("party.join", map[string]any{"code": st.Code}))); r != "party_code_unknown" {
		t.Fatalf("the dead party's code: %q", r)
	}
}
