package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/protocol"
)

// TestServeOnPostgres runs the binary with --db on a real PostgreSQL,
// plays part of a stage event, kills the node with SIGKILL and starts a
// new one with an empty data directory on the same database: the players
// resume with their tokens, every acked answer stands, and the event plays
// to the end with all of them in its results. Nothing goes to SQLite.
func TestServeOnPostgres(t *testing.T) {
	db := pgtest.URL(t)
	b := loadBank(t)
	dir1, dir2, addr := t.TempDir(), t.TempDir(), freeAddr(t)
	n1 := startNode(t, dir1, addr, "--db", db)

	ev, host := n1.hostedEvent("数据库演练", 2)
	ps := make([]*wsClient, 3)
	for i := range ps {
		ps[i] = dial(t, addr, "选手"+strconv.Itoa(i))
		ps[i].hello(ps[i].name)
		if m := ps[i].reply(ps[i].send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
			t.Fatalf("join: %s", m.raw)
		}
	}
	control := func(host *wsClient, action string) {
		t.Helper()
		if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": action})); m.Type != "ok" {
			t.Fatalf("host %s: %s", action, m.raw)
		}
	}
	acks := map[string][]acked{}
	control(host, "start")
	q0 := ps[0].question(0)
	for i, c := range ps[:2] { // the third has not answered when the node dies
		if i > 0 {
			c.question(0)
		}
		acks[c.id] = append(acks[c.id], answerAndAck(t, c, b.answer(t, ev.Room, 0, q0.Question, i != 1)))
	}

	n1.kill()
	for _, c := range append([]*wsClient{host}, ps...) {
		if code := c.waitClosed(); code != websocket.CloseAbnormalClosure {
			t.Fatalf("%s: close code %d after SIGKILL, want 1006", c.name, code)
		}
	}
	if _, err := os.Stat(filepath.Join(dir1, "leitai.db")); err == nil {
		t.Fatal("the node wrote a SQLite file although --db was given")
	}

	// Another node, nothing on its disk: everything comes from PostgreSQL.
	n2 := startNode(t, dir2, addr, "--db", db)
	ps2 := make([]*wsClient, len(ps))
	for i, c := range ps {
		ps2[i], _ = c.resumeOn(addr)
		st := ps2[i].state(ev.Room)
		if st.Phase != "question" || st.Index != 0 {
			t.Fatalf("%s: after restart %+v, want question 0 open again", c.name, st)
		}
		checkRecords(t, c.name, st, acks[c.id])
		if len(acks[c.id]) > 0 {
			checkDuplicate(t, ps2[i], ev.Room, acks[c.id][0])
		}
	}
	host2 := dial(t, addr, "host")
	host2.reply(host2.send("hello", map[string]any{"token": ev.HostToken}))
	if st := host2.reply(host2.send("watch", map[string]any{"room": ev.Room})); st.Type != "room.state" {
		t.Fatalf("host watch after restart: %s", st.raw)
	}
	acks[ps[2].id] = append(acks[ps[2].id], answerAndAck(t, ps2[2], b.answer(t, ev.Room, 0, q0.Question, true)))
	for _, c := range ps2 {
		c.reveal(0)
	}
	control(host2, "next")
	q1 := ps2[0].question(1)
	for i, c := range ps2 {
		if i > 0 {
			c.question(1)
		}
		acks[c.id] = append(acks[c.id], answerAndAck(t, c, b.answer(t, ev.Room, 1, q1.Question, true)))
	}
	for _, c := range ps2 {
		c.reveal(1)
	}
	control(host2, "next")
	for _, c := range ps2 {
		var f protocol.Finished
		decode(t, c.expect("room.finished"), &f)
	}
	var all []acked
	for _, c := range ps {
		all = append(all, acks[c.id]...)
	}
	ex := n2.results(ev.ID)
	checkExported(t, ex, all)
	if len(ex.Answers) != len(all) {
		t.Fatalf("export has %d answers, %d were acked", len(ex.Answers), len(all))
	}
	if code := n2.terminate(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}
