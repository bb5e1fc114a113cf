package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/protocol"
)

// TestClusterNodesShareState runs two nodes (real processes) on one Redis
// and one PostgreSQL, and shows what they share: a player's second
// connection on the other node closes the first with 4001; a PIN created
// on one node resolves and is joined on the other, and the event's host
// link works there;
// a question bank imported on one node is usable on the other at once; two
// players queued on different nodes are matched exactly once, with each
// other.
func TestClusterNodesShareState(t *testing.T) {
	rd := redistest.StartServer(t)
	db := pgtest.URL(t)
	n1 := startNode(t, t.TempDir(), freeAddr(t), "--db", db, "--redis", rd.URL(), "--node-id", "node-1")
	n2 := startNode(t, t.TempDir(), freeAddr(t), "--db", db, "--redis", rd.URL(), "--node-id", "node-2")

	t.Run("SecondConnectionOnAnotherNodeClosesTheFirst", func(t *testing.T) {
		first := dial(t, n1.addr, "alice")
		first.hello("alice")
		second, _ := first.resumeOn(n2.addr)
		if code := first.waitClosed(); code != 4001 {
			t.Fatalf("the first connection closed with %d, want 4001", code)
		}
		// The newer one works, and going back to the first node closes it
		// in turn.
		second.serverTime()
		third, _ := second.resumeOn(n1.addr)
		if code := second.waitClosed(); code != 4001 {
			t.Fatalf("the second connection closed with %d, want 4001", code)
		}
		_ = third
	})

	t.Run("PINCreatedOnOneNodeResolvesOnTheOther", func(t *testing.T) {
		ev, _ := n1.hostedEvent("跨节点", 2)
		resp, err := http.Get("http://" + n2.addr + "/api/v1/pins/" + ev.PIN)
		if err != nil {
			t.Fatal(err)
		}
		var info struct{ Title string }
		_ = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if resp.StatusCode != 200 || info.Title != "跨节点" {
			t.Fatalf("PIN %s on the other node: %d %+v", ev.PIN, resp.StatusCode, info)
		}
		// The host link opens the event on the other node too.
		host := dial(t, n2.addr, "host")
		m := host.reply(host.send("hello", map[string]any{"token": ev.HostToken}))
		var w protocol.Welcome
		decode(t, m, &w)
		if m.Type != "welcome" || w.Event == nil || w.Event.PIN != ev.PIN || w.Event.Room != ev.Room {
			t.Fatalf("host hello on the other node: %s", m.raw)
		}
		// A player on the other node joins by the PIN: the room runs on
		// the first node and is reached through it.
		p := dial(t, n2.addr, "远方")
		p.hello("远方")
		if m := p.reply(p.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
			t.Fatalf("join by PIN on the other node: %s", m.raw)
		}
		if resp, err := http.Get("http://" + n2.addr + "/api/v1/pins/000000"); err != nil || resp.StatusCode != 404 {
			t.Fatalf("an unknown PIN: %v %v", resp, err)
		}
	})

	t.Run("ImportOnOneNodeDrawableOnTheOtherAtOnce", func(t *testing.T) {
		csv := []byte("type,text,a,b,answer\nsingle,集群一？,1,2,A\nsingle,集群二？,3,4,A\nsingle,集群三？,5,6,A\n")
		req, _ := http.NewRequest("POST", "http://"+n1.addr+"/api/v1/questionsets?format=csv&name=cluster", bytes.NewReader(csv))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var set struct{ ID string }
		if resp.StatusCode != 201 || json.Unmarshal(body, &set) != nil || set.ID == "" {
			t.Fatalf("import: %d %s", resp.StatusCode, body)
		}
		// Right away, on the other node: an event drawn from that set only.
		var ev eventCreated
		if code := n2.api("POST", "/api/v1/events", map[string]any{"title": "新题库", "questionset": set.ID, "count": 3, "time_limit_ms": 600000}, &ev); code != 201 {
			t.Fatalf("an event from the imported set on the other node: %d", code)
		}
		p := dial(t, n2.addr, "答题者")
		p.hello("答题者")
		if m := p.reply(p.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
			t.Fatalf("join: %s", m.raw)
		}
		host := dial(t, n2.addr, "host")
		host.reply(host.send("hello", map[string]any{"token": ev.HostToken}))
		if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"})); m.Type != "ok" {
			t.Fatalf("start: %s", m.raw)
		}
		q := p.question(0)
		if q.Question.Text != "集群一？" && q.Question.Text != "集群二？" && q.Question.Text != "集群三？" {
			t.Fatalf("the first question %q is not from the imported set", q.Question.Text)
		}
	})

	t.Run("PlayersOnTwoNodesMatchedOnce", func(t *testing.T) {
		a := dial(t, n1.addr, "甲")
		a.hello("甲")
		b := dial(t, n2.addr, "乙")
		b.hello("乙")
		for _, c := range []*wsClient{a, b} {
			if m := c.reply(c.send("match.find", map[string]any{"mode": "duel"})); m.Type == "error" {
				t.Fatalf("%s: match.find: %s", c.name, m.raw)
			}
		}
		var found [2]protocol.MatchFound
		for i, c := range []*wsClient{a, b} {
			decode(t, c.expect("match.found"), &found[i])
		}
		if found[0].Room == "" || found[0].Room != found[1].Room {
			t.Fatalf("matched into rooms %q and %q", found[0].Room, found[1].Room)
		}
		ids := map[string]bool{}
		for _, p := range found[0].Players {
			ids[p.ID] = true
		}
		if len(found[0].Players) != 2 || !ids[a.id] || !ids[b.id] {
			t.Fatalf("the match seats %+v, want %s and %s", found[0].Players, a.id, b.id)
		}
		// The duel plays: its first question reaches both, whichever node
		// runs the room.
		for _, c := range []*wsClient{a, b} {
			if q := c.question(0); q.Room != found[0].Room {
				t.Fatalf("%s: question of room %s, want %s", c.name, q.Room, found[0].Room)
			}
		}
		// Both tickets left the shared pool through one take: none is live,
		// both are held as taken.
		for key, want := range map[string]string{"{leitai:mm}:live": ":0", "{leitai:mm}:taken": ":2"} {
			if got, err := rd.Do("HLEN " + key); err != nil || got != want {
				t.Fatalf("HLEN %s = %q %v, want %q", key, got, err, want)
			}
		}
	})
}
