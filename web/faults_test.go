package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// errStoreDown is what a faultyStore answers while it is failing.
var errStoreDown = errors.New("store down (test)")

// faultyStore wraps the real SQLite store and fails the named methods on
// demand.
type faultyStore struct {
	*store.SQL
	mu    sync.Mutex
	fails map[string]bool
}

func (f *faultyStore) fail(method string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[method] = on
}

func (f *faultyStore) failing(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fails[method]
}

func (f *faultyStore) Token(ctx context.Context, hash string) (store.Token, error) {
	if f.failing("Token") {
		return store.Token{}, errStoreDown
	}
	return f.SQL.Token(ctx, hash)
}

func (f *faultyStore) PutToken(ctx context.Context, t store.Token) error {
	if f.failing("PutToken") {
		return errStoreDown
	}
	return f.SQL.PutToken(ctx, t)
}

func (f *faultyStore) Player(ctx context.Context, id string) (store.Player, error) {
	if f.failing("Player") {
		return store.Player{}, errStoreDown
	}
	return f.SQL.Player(ctx, id)
}

func (f *faultyStore) CreatePlayer(ctx context.Context, p store.Player, tokens ...store.Token) error {
	if f.failing("CreatePlayer") {
		return errStoreDown
	}
	return f.SQL.CreatePlayer(ctx, p, tokens...)
}

func (f *faultyStore) CreateRoom(ctx context.Context, r store.Room) error {
	if f.failing("CreateRoom") {
		return errStoreDown
	}
	return f.SQL.CreateRoom(ctx, r)
}

func (f *faultyStore) AppendJournal(ctx context.Context, es []store.JournalEntry) error {
	if f.failing("AppendJournal") {
		return errStoreDown
	}
	return f.SQL.AppendJournal(ctx, es)
}

func (f *faultyStore) FinishMatch(ctx context.Context, r store.Result, day string, caps store.Caps, ps []store.PlayerResult) (map[string]int64, error) {
	if f.failing("FinishMatch") {
		return nil, errStoreDown
	}
	return f.SQL.FinishMatch(ctx, r, day, caps, ps)
}

func (f *faultyStore) FinishRoom(ctx context.Context, r store.Result) error {
	if f.failing("FinishRoom") {
		return errStoreDown
	}
	return f.SQL.FinishRoom(ctx, r)
}

// startFaultyHarness is startHarness with the server's store (and its
// journal's) wrapped in a faultyStore; h.st is the real store beneath.
func startFaultyHarness(t *testing.T, dir string, clk *clock.Fake, mod func(*web.Config)) (*harness, *faultyStore) {
	t.Helper()
	var fs *faultyStore
	h := startHarnessWith(t, harnessOpts{dir: dir, clock: clk, cfg: mod, store: func(st *store.SQL) store.Store {
		fs = &faultyStore{SQL: st, fails: map[string]bool{}}
		return fs
	}})
	h.clk = clk
	return h, fs
}

// A store that fails during hello is unavailable, not a bad token: the
// client keeps its resume token and tries again.
func TestHelloStoreErrorIsUnavailable(t *testing.T) {
	h, fs := startFaultyHarness(t, t.TempDir(), clock.NewFake(t0), nil)
	a := h.dial()
	a.hello("甲")
	resume := a.resume

	fs.fail("Token", true)
	b := h.dial()
	b.expectError(b.send("hello", map[string]any{"resume": resume}), "unavailable")
	fs.fail("Token", false)

	// A guest whose player cannot be stored is unavailable too.
	fs.fail("CreatePlayer", true)
	c := h.dial()
	c.expectError(c.send("hello", map[string]any{"name": "丙"}), "unavailable")
	fs.fail("CreatePlayer", false)

	// A token that does not exist is still unauthenticated.
	d := h.dial()
	d.expectError(d.send("hello", map[string]any{"resume": "no-such-token"}), "unauthenticated")
	// And the good token still works once the store is back.
	e := h.dial()
	if w := e.welcomed(e.send("hello", map[string]any{"resume": resume})); w.Player.ID != a.id {
		t.Fatalf("resumed as %+v", w)
	}
}

// An event whose tokens or room could not be stored gives its PIN back
// and leaves no room running.
func TestFailedEventReleasesPIN(t *testing.T) {
	for _, method := range []string{"PutToken", "CreateRoom"} {
		t.Run(method, func(t *testing.T) {
			h, fs := startFaultyHarness(t, t.TempDir(), clock.NewFake(t0), nil)
			org := h.orgToken()
			fs.fail(method, true)
			var out map[string]any
			if code := h.api("POST", "/api/v1/events", org, map[string]any{"title": "Quiz", "count": 3}, &out); code < 500 {
				t.Fatalf("create with a failing %s: %d %v", method, code, out)
			}
			fs.fail(method, false)
			evs, err := h.st.Events(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("events %+v", evs)
			}
			if evs[0].EndedAt.IsZero() {
				t.Fatalf("the failed event still holds PIN %s", evs[0].PIN)
			}
			if code := h.api("GET", "/api/v1/pins/"+evs[0].PIN, "", nil, nil); code != http.StatusNotFound {
				t.Fatalf("PIN of the failed event answers %d", code)
			}
			if n := h.srv.Rooms().Len(); n != 0 {
				t.Fatalf("%d rooms running after a failed create", n)
			}
		})
	}
}

// Logins with one host token share a session: a new login sets the
// session's event while the previous connection may be reading it (run
// with -race).
func TestSharedHostSessionEvent(t *testing.T) {
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{"title": "Quiz", "count": 3})
	first := h.dial()
	first.welcomed(first.send("hello", map[string]any{"token": ev.HostToken}))
	watch, _ := json.Marshal(map[string]any{"type": "watch", "id": "w", "data": map[string]any{"room": ev.Room}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if first.ws.WriteMessage(websocket.TextMessage, watch) != nil {
				return // replaced by a later login
			}
		}
	}()
	for i := 0; i < 3; i++ {
		c := h.dial()
		if w := c.welcomed(c.send("hello", map[string]any{"token": ev.HostToken})); w.Role != "host" {
			t.Fatalf("role %q", w.Role)
		}
	}
	<-done
}

// A match whose result did not reach the store is finished at the next
// start: its result, ratings and points are stored once, it is not
// restored again, and its players can queue.
func TestFinishedMatchWithoutResultIsFinishedAtRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h, fs := startFaultyHarness(t, dir, clk, nil)
	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	roomID, q := h.duelToFirstQuestion(a, b)
	fs.fail("FinishMatch", true)
	for i := 0; ; i++ {
		a.reply(a.send("answer", h.correctAnswer(q)))
		h.advance(500 * time.Millisecond)
		b.reply(b.send("answer", h.wrongAnswer(q)))
		a.expect("reveal")
		h.advance(3 * time.Second)
		m := a.expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			break
		}
		m.decode(t, &q)
		b.expect("question")
		if i > 12 {
			t.Fatal("the match never finished")
		}
	}
	h.stop()
	if _, err := h.st.Result(context.Background(), roomID); err == nil {
		t.Fatal("the result was stored although the store failed")
	}

	for boot := 0; boot < 2; boot++ {
		h2 := startHarness(t, dir, clk, nil)
		waitFor(t, "the result stored at restart", func() bool {
			_, err := h2.st.Result(context.Background(), roomID)
			return err == nil
		})
		c := h2.dial()
		c.welcomed(c.send("hello", map[string]any{"resume": a.resume})) // served once the restore is done
		if n := h2.srv.Rooms().Len(); n != 0 {
			t.Fatalf("boot %d: %d rooms restored, want the finished match closed", boot, n)
		}
		pa, err := h2.st.Player(context.Background(), a.id)
		if err != nil || pa.Points != 5 || pa.Rating <= 1500 {
			t.Fatalf("boot %d: player a = %+v, %v; want 5 points once and a higher rating", boot, pa, err)
		}
		if m := c.reply(c.send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
			t.Fatalf("boot %d: find after the restart: %s", boot, m.raw)
		}
		h2.stop()
	}
}

// An answer whose journal write fails is not kept: its player is told
// unavailable, the room restores itself from what is stored, the player
// can answer again, and a restart restores the room with every acked
// answer.
func TestFailedAnswerWriteIsNotKept(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h, fs := startFaultyHarness(t, dir, clk, nil)
	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	roomID, q := h.duelToFirstQuestion(a, b)
	h.advance(time.Second)
	var first ack
	a.reply(a.send("answer", h.correctAnswer(q))).decode(t, &first)
	if !first.Accepted {
		t.Fatalf("a's ack %+v", first)
	}

	fs.fail("AppendJournal", true)
	b.expectError(b.send("answer", h.correctAnswer(q)), "unavailable")
	fs.fail("AppendJournal", false)

	// The room is restored in place: b sees the question again and its
	// answer counts as new, not as a duplicate of the one that failed.
	waitFor(t, "the room back", func() bool { _, ok := h.srv.Rooms().Get(roomID); return ok })
	b.expectFn("the question again", func(m msg) bool { return m.Type == "question" })
	var again ack
	b.reply(b.send("answer", h.correctAnswer(q))).decode(t, &again)
	if !again.Accepted || again.Duplicate {
		t.Fatalf("b's second answer: %+v, want accepted and not a duplicate", again)
	}
	var dup ack
	a.reply(a.send("answer", h.correctAnswer(q))).decode(t, &dup)
	if !dup.Duplicate || dup.Elapsed != first.Elapsed {
		t.Fatalf("a's acked answer was lost in the restore: %+v", dup)
	}
	h.stop()

	h2 := startHarness(t, dir, clk, nil)
	c := h2.dial()
	c.welcomed(c.send("hello", map[string]any{"resume": a.resume}))
	if _, ok := h2.srv.Rooms().Get(roomID); !ok {
		t.Fatal("the room was not restored after the restart")
	}
	entries, err := h2.st.Journal(context.Background(), roomID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := h2.st.Room(context.Background(), roomID)
	if err != nil {
		t.Fatal(err)
	}
	var cfg room.Config
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	rep, err := room.BuildReport(cfg, entries)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range rep.Answers {
		if row.Index == q.Index {
			got[row.Player] = true
		}
	}
	if !got[a.id] || !got[b.id] || len(got) != 2 {
		t.Fatalf("answers to question %d after the restart: %v, want a's and b's acked answers", q.Index, got)
	}
}

// A bot-filled match restored in place after a failed write gets its bot
// back: the bot answers the question asked again and the match goes on.
func TestFailedWriteInBotMatchKeepsTheBot(t *testing.T) {
	h, fs := startFaultyHarness(t, t.TempDir(), clock.NewFake(t0), func(c *web.Config) { c.Match.MaxWait = 5 * time.Second; c.Match.BotFill = true })
	a := h.dial()
	a.hello("单人")
	a.reply(a.send("match.find", map[string]any{"mode": "duel"}))
	h.advance(6 * time.Second)
	h.srv.Matchmaker().Process(context.Background())
	var f struct{ Room string }
	a.expect("match.found").decode(t, &f)
	a.expect("room.state")
	h.advance(3 * time.Second)
	var q question
	a.expect("question").decode(t, &q)

	fs.fail("AppendJournal", true)
	a.expectError(a.send("answer", h.correctAnswer(q)), "unavailable")
	fs.fail("AppendJournal", false)
	waitFor(t, "the room back", func() bool { _, ok := h.srv.Rooms().Get(f.Room); return ok })
	a.expectFn("the question again", func(m msg) bool { return m.Type == "question" })
	a.reply(a.send("answer", h.correctAnswer(q)))
	// The bot answers within half the time limit and a bit: then the
	// question closes early, everyone having answered.
	for i := 0; i < 20; i++ {
		h.advance(500 * time.Millisecond)
		if countType(a, "reveal") > 0 {
			break
		}
	}
	a.expectFn("a reveal with the bot's answer in", func(m msg) bool { return m.Type == "reveal" })
}
