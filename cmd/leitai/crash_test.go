package main_test

// These tests run the real binary as a separate process, kill it, and start
// it again on the same data directory: an acknowledged answer must survive
// SIGKILL, and SIGTERM must drain. The wall clock runs here (it is another
// process), so the timings given on the command line are short, the stage
// event is host-paced, and nothing asserts on how long anything took.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
)

// binary is the leitai executable built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leitai-crash-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "leitai")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "crash-test-organizer-token"

// waitTimeout is a safety net against hangs, not a measurement.
const waitTimeout = 20 * time.Second

// node is one run of `leitai serve`.
type node struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  *bytes.Buffer
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// freeAddr returns a loopback address nobody listens on. The port is below
// the kernel's ephemeral range (Linux 32768–60999, BSD 49152–65535), so no
// outgoing connection takes it as its source port between the node's runs.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000)))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// startNode runs the binary on dir and addr, with any extra flags, and
// waits until it serves.
func startNode(t *testing.T, dir, addr string, extra ...string) *node {
	t.Helper()
	n := &node{t: t, addr: addr, log: &bytes.Buffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binary, append([]string{"serve", "--data", dir, "--addr", addr, "--admin-token", adminToken,
		"--log-level", "warn", "--match-countdown", "200ms", "--match-reveal", "300ms",
		"--match-time-limit", "60s", "--match-wait", "5m", "--points-daily-cap", "100"}, extra...)...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			t.Logf("server log (%s):\n%s", addr, n.log.String())
		}
	})
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		select {
		case <-n.done:
			t.Fatalf("server exited at start: %v\n%s", n.err, n.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up\n%s", n.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		n.t.Fatal(err)
	}
	<-n.done
}

// terminate sends SIGTERM and returns the exit code.
func (n *node) terminate() int {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatal(err)
	}
	return n.exitCode()
}

func (n *node) exitCode() int {
	n.t.Helper()
	select {
	case <-n.done:
	case <-time.After(waitTimeout):
		n.t.Fatalf("server did not exit\n%s", n.log.String())
	}
	var ee *exec.ExitError
	if errors.As(n.err, &ee) {
		return ee.ExitCode()
	}
	if n.err != nil {
		n.t.Fatal(n.err)
	}
	return 0
}

// api calls the HTTP API as the organizer.
// hostedEvent creates a host-paced event of count questions that never
// time out, and connects its host, watching the room.
func (n *node) hostedEvent(title string, count int) (eventCreated, *wsClient) {
	t := n.t
	t.Helper()
	var ev eventCreated
	if code := n.api("POST", "/api/v1/events", map[string]any{"title": title, "count": count, "time_limit_ms": 600000, "lang": "zh"}, &ev); code != 201 {
		t.Fatalf("create event: %d", code)
	}
	host := dial(t, n.addr, "host")
	host.reply(host.send("hello", map[string]any{"token": ev.HostToken}))
	host.reply(host.send("watch", map[string]any{"room": ev.Room}))
	return ev, host
}

func (n *node) api(method, path string, body, out any) int {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+n.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			n.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// msg is a received message.
type msg struct {
	Type string          `json:"type"`
	Re   string          `json:"re"`
	Data json.RawMessage `json:"data"`
	raw  []byte
}

// wsClient is a WebSocket client that records what it receives.
type wsClient struct {
	t    *testing.T
	name string
	ws   *websocket.Conn

	mu     sync.Mutex
	cond   *sync.Cond
	got    []msg
	used   []bool
	closed bool
	code   int

	wmu    sync.Mutex
	seq    int
	id     string // player id
	resume string
}

func dial(t *testing.T, addr, name string) *wsClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	c := &wsClient{t: t, name: name, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	go c.read()
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *wsClient) read() {
	for {
		_, b, err := c.ws.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.closed = true
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.code = ce.Code
			}
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		var m msg
		if json.Unmarshal(b, &m) != nil {
			m.Type = "!badjson"
		}
		m.raw = b
		c.got = append(c.got, m)
		c.used = append(c.used, false)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

func (c *wsClient) send(typ string, data any) string {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.seq++
	id := typ + "-" + strconv.Itoa(c.seq)
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("%s: send %s: %v", c.name, typ, err)
	}
	return id
}

// trySend is send for a connection that may be closing under us.
func (c *wsClient) trySend(typ string, data any) (string, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.seq++
	id := typ + "-" + strconv.Itoa(c.seq)
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
	return id, c.ws.WriteMessage(websocket.TextMessage, b)
}

// wait blocks until cond (called with c.mu held) holds or the connection
// closes; it reports whether cond held.
func (c *wsClient) wait(what string, cond func() bool) bool {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	timer := time.AfterFunc(waitTimeout, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	for !cond() {
		if c.closed {
			return false
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %s within %v; got %s", c.name, what, waitTimeout, c.summary())
		}
		c.cond.Wait()
	}
	return true
}

func (c *wsClient) expectFn(what string, pred func(m msg) bool) msg {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var found msg
	ok := c.wait(what, func() bool {
		for i := range c.got {
			if !c.used[i] && pred(c.got[i]) {
				c.used[i] = true
				found = c.got[i]
				return true
			}
		}
		return false
	})
	if !ok {
		c.t.Fatalf("%s: connection closed (code %d) waiting for %s; got %s", c.name, c.code, what, c.summary())
	}
	return found
}

func (c *wsClient) expect(typ string) msg {
	c.t.Helper()
	return c.expectFn(typ, func(m msg) bool { return m.Type == typ })
}

func (c *wsClient) reply(id string) msg {
	c.t.Helper()
	return c.expectFn("reply to "+id, func(m msg) bool { return m.Re == id })
}

// waitClosed waits for the server to close the connection and returns the
// close code (1006 when the connection just vanished).
func (c *wsClient) waitClosed() int {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wait("close", func() bool { return false })
	return c.code
}

func (c *wsClient) summary() string {
	var b strings.Builder
	for _, m := range c.got[max(0, len(c.got)-10):] {
		b.WriteString(" ")
		b.Write(m.raw)
	}
	return b.String()
}

func decode(t *testing.T, m msg, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Data, v); err != nil {
		t.Fatalf("decode %s: %v", m.raw, err)
	}
}

// hello opens a guest session and remembers the resume token.
func (c *wsClient) hello(name string) {
	c.t.Helper()
	m := c.reply(c.send("hello", map[string]any{"name": name}))
	var w protocol.Welcome
	decode(c.t, m, &w)
	if m.Type != "welcome" || w.Resume == "" {
		c.t.Fatalf("hello: %s", m.raw)
	}
	c.id, c.resume = w.Player.ID, w.Resume
}

// resumeOn connects c's player to addr again with its resume token.
func (c *wsClient) resumeOn(addr string) (*wsClient, protocol.Welcome) {
	c.t.Helper()
	n := dial(c.t, addr, c.name)
	m := n.reply(n.send("hello", map[string]any{"resume": c.resume}))
	var w protocol.Welcome
	decode(c.t, m, &w)
	if m.Type != "welcome" || !w.Resumed || w.Player.ID != c.id {
		c.t.Fatalf("%s: resume: %s", c.name, m.raw)
	}
	n.id, n.resume = c.id, c.resume
	return n, w
}

// serverTime asks the server for its clock.
func (c *wsClient) serverTime() int64 {
	c.t.Helper()
	var p protocol.Pong
	decode(c.t, c.reply(c.send("ping", map[string]any{"t": 1})), &p)
	return p.ServerTime
}

// state waits for a room.state of roomID pushed without re.
func (c *wsClient) state(roomID string) protocol.State {
	c.t.Helper()
	m := c.expectFn("room.state", func(m msg) bool {
		var s struct{ Room string }
		_ = json.Unmarshal(m.Data, &s)
		return m.Type == "room.state" && s.Room == roomID
	})
	var st protocol.State
	decode(c.t, m, &st)
	return st
}

// question waits for the question with the given index.
func (c *wsClient) question(index int) protocol.Question {
	c.t.Helper()
	m := c.expectFn("question "+strconv.Itoa(index), func(m msg) bool {
		var q struct{ Index int }
		_ = json.Unmarshal(m.Data, &q)
		return m.Type == "question" && q.Index == index
	})
	var q protocol.Question
	decode(c.t, m, &q)
	return q
}

// reveal waits for the reveal of question index.
func (c *wsClient) reveal(index int) revealMsg {
	c.t.Helper()
	m := c.expectFn("reveal "+strconv.Itoa(index), func(m msg) bool {
		var r struct{ Index int }
		_ = json.Unmarshal(m.Data, &r)
		return m.Type == "reveal" && r.Index == index
	})
	var r revealMsg
	decode(c.t, m, &r)
	return r
}

type revealMsg struct {
	Index int
	You   struct {
		Correct bool
		Points  int64
		Score   int64
	}
}

// bank knows the right answers of the bundled questions.
type bank map[string]questionbank.Question

func loadBank(t *testing.T) bank {
	t.Helper()
	qs, err := questionbank.Sample()
	if err != nil {
		t.Fatal(err)
	}
	b := bank{}
	for _, q := range qs {
		b[q.ID] = q
	}
	return b
}

// answer builds an answer to q, right or wrong.
func (b bank) answer(t *testing.T, roomID string, index int, q protocol.PublicQuestion, right bool) map[string]any {
	t.Helper()
	bq, ok := b[q.ID]
	if !ok {
		t.Fatalf("unknown question %s", q.ID)
	}
	d := map[string]any{"room": roomID, "index": index}
	if bq.Type == questionbank.Text {
		d["text"] = "绝对不对的答案"
		if right {
			d["text"] = bq.Answer[0]
		}
		return d
	}
	if right {
		d["choice"] = bq.Answer
		return d
	}
	for _, o := range bq.Options {
		if !slices.Contains(bq.Answer, o.Key) {
			d["choice"] = []string{o.Key}
			return d
		}
	}
	t.Fatalf("question %s has no wrong option", q.ID)
	return nil
}

// acked is an answer the server acknowledged.
type acked struct {
	player  string
	index   int
	choice  []string
	text    string
	elapsed int64
}

// answerAndAck sends an answer and waits for its ack.
func answerAndAck(t *testing.T, c *wsClient, d map[string]any) acked {
	t.Helper()
	m := c.reply(c.send("answer", d))
	var a protocol.Ack
	decode(t, m, &a)
	if m.Type != "answer.ack" || !a.Accepted || a.Duplicate {
		t.Fatalf("%s: answer: %s", c.name, m.raw)
	}
	ch, _ := d["choice"].([]string)
	tx, _ := d["text"].(string)
	return acked{player: c.id, index: d["index"].(int), choice: ch, text: tx, elapsed: a.Elapsed}
}

// checkDuplicate resends an acked answer and checks the ack is the first
// one again.
func checkDuplicate(t *testing.T, c *wsClient, roomID string, a acked) {
	t.Helper()
	d := map[string]any{"room": roomID, "index": a.index}
	if a.text != "" {
		d["text"] = a.text
	} else {
		d["choice"] = a.choice
	}
	m := c.reply(c.send("answer", d))
	var got protocol.Ack
	decode(t, m, &got)
	if m.Type != "answer.ack" || !got.Duplicate || got.Elapsed != a.elapsed || got.Index != a.index {
		t.Fatalf("%s: resent answer %d: %s, want a duplicate ack with elapsed %d", c.name, a.index, m.raw, a.elapsed)
	}
}

// checkRecords checks that room.state's you.answers holds every acked
// answer of the player, and nothing else.
func checkRecords(t *testing.T, who string, st protocol.State, acks []acked) {
	t.Helper()
	if st.You == nil || len(st.You.Answers) != len(acks) {
		t.Fatalf("%s: you %+v, want the %d acked answers", who, st.You, len(acks))
	}
	for _, a := range acks {
		found := false
		for _, r := range st.You.Answers {
			if r.Index == a.index {
				found = slices.Equal(r.Choice, a.choice) && r.Text == a.text
			}
		}
		if !found {
			t.Fatalf("%s: acked answer to question %d missing from room.state %+v", who, a.index, st.You.Answers)
		}
	}
}

type exported struct {
	Standings []struct {
		ID    string
		Score int64
	}
	Answers []struct {
		Player  string
		Index   int
		Answer  string
		Elapsed int64
		Points  int64
	}
}

// results reads an event's results export.
func (n *node) results(eventID string) exported {
	n.t.Helper()
	var ex exported
	if code := n.api("GET", "/api/v1/events/"+eventID+"/results", nil, &ex); code != 200 {
		n.t.Fatalf("results: %d", code)
	}
	return ex
}

// checkExported checks that every acked answer is in the export with the
// elapsed of its ack.
func checkExported(t *testing.T, ex exported, acks []acked) {
	t.Helper()
	for _, a := range acks {
		found := false
		for _, e := range ex.Answers {
			if e.Player == a.player && e.Index == a.index {
				found = true
				if e.Elapsed != a.elapsed {
					t.Fatalf("export: %s question %d elapsed %d, acked %d", a.player, a.index, e.Elapsed, a.elapsed)
				}
			}
		}
		if !found {
			t.Fatalf("export: acked answer of %s to question %d is missing", a.player, a.index)
		}
	}
}

type eventCreated struct {
	ID, Room, PIN string
	HostToken     string `json:"host_token"`
}

// TestCrashAndRestart plays a stage event and a duel against the binary,
// kills it with SIGKILL with a question open in each, starts it again on the
// same data directory, and checks that the clients resume with their
// tokens, every acked answer still counts, the open questions are asked
// again with a fresh deadline keeping the answers acked for them, and both
// contests play on to the end.
func TestCrashAndRestart(t *testing.T) {
	b := loadBank(t)
	dir, addr := t.TempDir(), freeAddr(t)
	n1 := startNode(t, dir, addr)

	// A host-paced event, four contestants, questions that never time out.
	ev, host := n1.hostedEvent("崩溃演练", 4)
	ps := make([]*wsClient, 4)
	for i := range ps {
		ps[i] = dial(t, addr, "选手"+strconv.Itoa(i))
		ps[i].hello(ps[i].name)
		if m := ps[i].reply(ps[i].send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
			t.Fatalf("join: %s", m.raw)
		}
	}
	// A duel between two others.
	d := []*wsClient{dial(t, addr, "甲"), dial(t, addr, "乙")}
	for _, c := range d {
		c.hello(c.name)
		if m := c.reply(c.send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
			t.Fatalf("find: %s", m.raw)
		}
	}
	var found struct{ Room string }
	decode(t, d[0].expect("match.found"), &found)
	duel := found.Room
	d[1].expect("match.found")

	acks := map[string][]acked{} // by player id
	told := map[string]int64{}   // points shown in reveals, by player id
	ack := func(c *wsClient, roomID string, index int, q protocol.PublicQuestion, right bool) {
		t.Helper()
		a := answerAndAck(t, c, b.answer(t, roomID, index, q, right))
		acks[c.id] = append(acks[c.id], a)
	}
	revealAll := func(cs []*wsClient, index int) {
		t.Helper()
		for _, c := range cs {
			r := c.reveal(index)
			told[c.id] += r.You.Points
			if r.You.Score != told[c.id] {
				t.Fatalf("%s: score %d after question %d, but the points shown add up to %d", c.name, r.You.Score, index, told[c.id])
			}
		}
	}
	control := func(host *wsClient, action string) {
		t.Helper()
		if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": action})); m.Type != "ok" {
			t.Fatalf("host %s: %s", action, m.raw)
		}
	}

	// Duel questions 0 and 1 answered by both; question 2 by the first only.
	for i := 0; i < 2; i++ {
		q := d[0].question(i)
		d[1].question(i)
		ack(d[0], duel, i, q.Question, i == 0)
		ack(d[1], duel, i, q.Question, true)
		revealAll(d, i)
	}
	dq := d[0].question(2)
	d[1].question(2)
	ack(d[0], duel, 2, dq.Question, true)

	// Event question 0 answered by all; question 1 by two of four.
	control(host, "start")
	q0 := ps[0].question(0)
	for i, c := range ps {
		if i > 0 {
			c.question(0)
		}
		ack(c, ev.Room, 0, q0.Question, i != 2)
	}
	revealAll(ps, 0)
	control(host, "next")
	eq := ps[0].question(1)
	for _, c := range ps[1:] {
		c.question(1)
	}
	ack(ps[0], ev.Room, 1, eq.Question, true)
	ack(ps[2], ev.Room, 1, eq.Question, false)
	beforeKill := host.serverTime()

	n1.kill()
	for _, c := range append(append([]*wsClient{host}, ps...), d...) {
		if code := c.waitClosed(); code != websocket.CloseAbnormalClosure {
			t.Fatalf("%s: close code %d after SIGKILL, want 1006", c.name, code)
		}
	}

	n2 := startNode(t, dir, addr)
	// Every client resumes with its token from before the crash.
	checkReopened := func(c *wsClient, roomID string, index int, qid string, limit int64, w protocol.Welcome, st protocol.State) {
		t.Helper()
		if st.Phase != "question" || st.Index != index || st.Question == nil || st.Question.ID != qid {
			t.Fatalf("%s: after restart %+v, want question %d open again", c.name, st, index)
		}
		// Asked again: a full deadline counted from the restart.
		if start := st.Deadline - limit; start <= beforeKill {
			t.Fatalf("%s: question %d restarted at %d, not after the crash (%d)", c.name, index, start, beforeKill)
		}
		if left := st.Deadline - w.ServerTime; left <= 0 || left > limit {
			t.Fatalf("%s: %d ms left of %d", c.name, left, limit)
		}
		checkRecords(t, c.name, st, acks[c.id])
		_, answered := func() (acked, bool) {
			for _, a := range acks[c.id] {
				if a.index == index {
					return a, true
				}
			}
			return acked{}, false
		}()
		if st.You.Answered != answered || st.You.Score != told[c.id] {
			t.Fatalf("%s: you %+v, want answered=%v score %d", c.name, st.You, answered, told[c.id])
		}
	}
	ps2 := make([]*wsClient, len(ps))
	for i, c := range ps {
		var w protocol.Welcome
		ps2[i], w = c.resumeOn(addr)
		checkReopened(ps2[i], ev.Room, 1, eq.Question.ID, 600000, w, ps2[i].state(ev.Room))
	}
	d2 := make([]*wsClient, len(d))
	for i, c := range d {
		var w protocol.Welcome
		d2[i], w = c.resumeOn(addr)
		checkReopened(d2[i], duel, 2, dq.Question.ID, 60000, w, d2[i].state(duel))
	}
	host2 := dial(t, addr, "host")
	host2.reply(host2.send("hello", map[string]any{"token": ev.HostToken}))
	if st := host2.reply(host2.send("watch", map[string]any{"room": ev.Room})); st.Type != "room.state" {
		t.Fatalf("host watch after restart: %s", st.raw)
	}

	// Exactly once: each answer acked before the crash, sent again, gets
	// its first ack back.
	for _, c := range append(append([]*wsClient{}, ps2...), d2...) {
		roomID := ev.Room
		if slices.Contains(d2, c) {
			roomID = duel
		}
		for _, a := range acks[c.id] {
			checkDuplicate(t, c, roomID, a)
		}
	}

	// The event plays on to the end.
	ack(ps2[1], ev.Room, 1, eq.Question, true)
	ack(ps2[3], ev.Room, 1, eq.Question, true)
	revealAll(ps2, 1)
	for i := 2; i < 4; i++ {
		control(host2, "next")
		q := ps2[0].question(i)
		for j, c := range ps2 {
			if j > 0 {
				c.question(i)
			}
			ack(c, ev.Room, i, q.Question, (i+j)%2 == 0)
		}
		revealAll(ps2, i)
	}
	control(host2, "next") // after the last question: the end
	for _, c := range ps2 {
		var f protocol.Finished
		decode(t, c.expect("room.finished"), &f)
	}
	ex := n2.results(ev.ID)
	var all []acked
	for _, c := range ps {
		all = append(all, acks[c.id]...)
	}
	checkExported(t, ex, all)
	if len(ex.Answers) != len(all) {
		t.Fatalf("export has %d answers, %d were acked", len(ex.Answers), len(all))
	}
	for _, s := range ex.Standings {
		if s.Score != told[s.ID] {
			t.Fatalf("export: %s scored %d, the reveals told %d", s.ID, s.Score, told[s.ID])
		}
	}

	// The duel plays on to the end.
	ack(d2[1], duel, 2, dq.Question, true)
	revealAll(d2, 2)
	for i := 3; ; i++ {
		m := d2[0].expectFn("question or end", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			break
		}
		var q protocol.Question
		decode(t, m, &q)
		d2[1].question(q.Index)
		ack(d2[0], duel, q.Index, q.Question, true)
		ack(d2[1], duel, q.Index, q.Question, false)
		revealAll(d2, q.Index)
		if i > 10 {
			t.Fatal("the duel never finished")
		}
	}
	var f0, f1 struct{ You protocol.FinishedYou }
	for _, m := range d2[0].got {
		if m.Type == "room.finished" {
			decode(t, m, &f0)
		}
	}
	decode(t, d2[1].expect("room.finished"), &f1)
	if f0.You.Score != told[d[0].id] || f1.You.Score != told[d[1].id] {
		t.Fatalf("duel final scores %d and %d, the reveals told %d and %d", f0.You.Score, f1.You.Score, told[d[0].id], told[d[1].id])
	}
	if code := n2.terminate(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

// TestGracefulStop sends SIGTERM while answers are in flight: the process
// exits 0, every client sees 1001, and the answers acked before the close
// are exactly the answers stored.
func TestGracefulStop(t *testing.T) {
	b := loadBank(t)
	dir, addr := t.TempDir(), freeAddr(t)
	n1 := startNode(t, dir, addr)
	ev, host := n1.hostedEvent("优雅停机", 3)
	const n = 24
	ps := make([]*wsClient, n)
	for i := range ps {
		ps[i] = dial(t, addr, "选手"+strconv.Itoa(i))
		ps[i].hello(ps[i].name)
		ps[i].reply(ps[i].send("event.join", map[string]any{"pin": ev.PIN}))
	}
	queued := dial(t, addr, "排队")
	queued.hello(queued.name)
	queued.reply(queued.send("match.find", map[string]any{"mode": "four"}))
	silent := dial(t, addr, "no hello") // connected, never said hello

	if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"})); m.Type != "ok" {
		t.Fatalf("start: %s", m.raw)
	}
	qs := make([]protocol.Question, n)
	for i, c := range ps {
		qs[i] = c.question(0)
	}

	// The answers stream in; SIGTERM goes out once the first few are acked,
	// with the rest still coming.
	ids := make([]string, n)
	answers := make([]map[string]any, n)
	for i := range ps {
		answers[i] = b.answer(t, ev.Room, 0, qs[i].Question, i%2 == 0)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, c := range ps {
			// One answer in flight at a time, so the stop falls among them.
			var err error
			if ids[i], err = c.trySend("answer", answers[i]); err != nil {
				continue
			}
			c.mu.Lock()
			c.wait("reply", func() bool { return slices.ContainsFunc(c.got, func(m msg) bool { return m.Re == ids[i] }) })
			c.mu.Unlock()
		}
	}()
	ackedSoFar := func() int {
		k := 0
		for _, c := range ps {
			c.mu.Lock()
			for _, m := range c.got {
				if m.Type == "answer.ack" {
					k++
				}
			}
			c.mu.Unlock()
		}
		return k
	}
	for deadline := time.Now().Add(waitTimeout); ackedSoFar() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no answers acked")
		}
	}
	if err := n1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if code := n1.exitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	for _, c := range append([]*wsClient{host, queued, silent}, ps...) {
		if code := c.waitClosed(); code != websocket.CloseGoingAway {
			t.Fatalf("%s: close code %d, want 1001", c.name, code)
		}
	}
	var acks []acked
	refused := map[string]bool{}
	for i, c := range ps {
		c.mu.Lock()
		for _, m := range c.got {
			if m.Re != ids[i] {
				continue
			}
			switch m.Type {
			case "answer.ack":
				var a protocol.Ack
				decode(t, m, &a)
				acks = append(acks, acked{player: c.id, index: 0, elapsed: a.Elapsed})
			case "error":
				var e protocol.Error
				decode(t, m, &e)
				if e.Code != protocol.CodeUnavailable {
					t.Errorf("%s: answer refused with %s during shutdown, want unavailable", c.name, m.raw)
				}
				refused[c.id] = true
			}
		}
		c.mu.Unlock()
	}
	t.Logf("%d of %d answers acked before the close, %d refused", len(acks), n, len(refused))

	n2 := startNode(t, dir, addr)
	ex := n2.results(ev.ID)
	checkExported(t, ex, acks)
	// The drain sends every ack before 1001: what is stored was acked.
	if len(ex.Answers) != len(acks) {
		t.Fatalf("%d answers stored, %d acked", len(ex.Answers), len(acks))
	}
	// Each player resumes into the question, asked again, with its answer
	// there if and only if it was acked.
	for _, c := range ps {
		back, _ := c.resumeOn(addr)
		st := back.state(ev.Room)
		wasAcked := slices.ContainsFunc(acks, func(a acked) bool { return a.player == c.id })
		if st.Phase != "question" || st.Index != 0 || st.You == nil || st.You.Answered != wasAcked {
			t.Fatalf("%s: after the restart %+v, want question 0 with answered=%v", c.name, st, wasAcked)
		}
	}
	if code := n2.terminate(); code != 0 {
		t.Fatalf("second exit code %d", code)
	}
}
