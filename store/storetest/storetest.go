// Package storetest is the contract every store.Store implementation must
// pass. SQLite runs it in store's own tests; a PostgreSQL implementation
// runs the same suite, so the two cannot drift apart.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// Run runs the contract suite. open must return a fresh, empty store for
// each call and arrange for it to be closed when the test ends (t.Cleanup).
// Subtests do not run in parallel, so open may share a server.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Players", testPlayers},
		{"Tokens", testTokens},
		{"QuestionSets", testQuestionSets},
		{"Rooms", testRooms},
		{"JournalOrder", testJournalOrder},
		{"JournalBatchAtomic", testJournalBatchAtomic},
		{"JournalUnknownRoom", testJournalUnknownRoom},
		{"JournalConcurrent", testJournalConcurrent},
		{"FinishRoom", testFinishRoom},
		{"Events", testEvents},
		{"EventPINConcurrent", testEventPINConcurrent},
		{"AwardPoints", testAwardPoints},
		{"AwardPointsConcurrent", testAwardPointsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// t0 is a fixed instant with whole milliseconds, the precision stores keep.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func testPlayers(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := store.Player{ID: "p1", Name: "李雷", Org: "city/district/unit", Rating: 1512.5, Points: 7, CreatedAt: t0}
	must(t, s.CreatePlayer(ctx, p))
	got, err := s.Player(ctx, "p1")
	must(t, err)
	equal(t, "player", got, p)

	wantErr(t, "duplicate player", s.CreatePlayer(ctx, store.Player{ID: "p1", Name: "other"}), store.ErrExists)
	_, err = s.Player(ctx, "nobody")
	wantErr(t, "missing player", err, store.ErrNotFound)

	must(t, s.UpdateRating(ctx, "p1", 1600))
	got, err = s.Player(ctx, "p1")
	must(t, err)
	p.Rating = 1600
	equal(t, "player after rating", got, p)
	wantErr(t, "rating of missing player", s.UpdateRating(ctx, "nobody", 1), store.ErrNotFound)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.Token{Hash: "ab12", Kind: store.TokenHost, Subject: "ev1", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
	must(t, s.PutToken(ctx, tok))
	got, err := s.Token(ctx, "ab12")
	must(t, err)
	equal(t, "token", got, tok)

	wantErr(t, "duplicate token", s.PutToken(ctx, tok), store.ErrExists)
	_, err = s.Token(ctx, "ffff")
	wantErr(t, "missing token", err, store.ErrNotFound)

	must(t, s.DeleteToken(ctx, "ab12"))
	_, err = s.Token(ctx, "ab12")
	wantErr(t, "deleted token", err, store.ErrNotFound)
	wantErr(t, "deleting twice", s.DeleteToken(ctx, "ab12"), store.ErrNotFound)

	// A token without expiry keeps its zero time.
	must(t, s.PutToken(ctx, store.Token{Hash: "cd34", Kind: store.TokenPlayer, Subject: "p1", CreatedAt: t0}))
	got, err = s.Token(ctx, "cd34")
	must(t, err)
	if !got.ExpiresAt.IsZero() {
		t.Errorf("zero ExpiresAt came back as %v", got.ExpiresAt)
	}
}

func testQuestionSets(t *testing.T, s store.Store) {
	ctx := t.Context()
	sets, err := s.QuestionSets(ctx)
	must(t, err)
	if len(sets) != 0 {
		t.Fatalf("fresh store lists %d question sets", len(sets))
	}
	a := store.QuestionSet{ID: "qa", Name: "历史", Count: 2, CreatedAt: t0,
		Questions: json.RawMessage(`[{"id":"1","text":"秦始皇?"},{"id":"2","text":"x"}]`)}
	b := store.QuestionSet{ID: "qb", Name: "Science", Count: 1, CreatedAt: t0.Add(time.Minute),
		Questions: json.RawMessage(`[{"id":"1","text":"H2O?"}]`)}
	must(t, s.SaveQuestionSet(ctx, b))
	must(t, s.SaveQuestionSet(ctx, a))

	sets, err = s.QuestionSets(ctx)
	must(t, err)
	if len(sets) != 2 || sets[0].ID != "qa" || sets[1].ID != "qb" {
		t.Fatalf("QuestionSets = %+v, want qa then qb (oldest first)", sets)
	}
	for _, q := range sets {
		if len(q.Questions) != 0 {
			t.Errorf("listing carries Questions for %s", q.ID)
		}
	}
	if sets[0].Name != a.Name || sets[0].Count != a.Count || !sets[0].CreatedAt.Equal(t0) {
		t.Errorf("listed %+v, want header of %+v", sets[0], a)
	}

	got, err := s.QuestionSet(ctx, "qa")
	must(t, err)
	equal(t, "question set", got, a)

	// Saving again under the same id replaces the set (a re-import).
	a.Name, a.Count, a.Questions = "历史 v2", 1, json.RawMessage(`[{"id":"9"}]`)
	must(t, s.SaveQuestionSet(ctx, a))
	got, err = s.QuestionSet(ctx, "qa")
	must(t, err)
	equal(t, "re-saved question set", got, a)

	_, err = s.QuestionSet(ctx, "nope")
	wantErr(t, "missing question set", err, store.ErrNotFound)
}

func testRooms(t *testing.T, s store.Store) {
	ctx := t.Context()
	r1 := store.Room{ID: "r1", Kind: "duel", Config: json.RawMessage(`{"questions":5}`), CreatedAt: t0}
	r2 := store.Room{ID: "r2", Kind: "four", CreatedAt: t0.Add(-time.Second)}
	r3 := store.Room{ID: "r3", Kind: "stage", CreatedAt: t0.Add(time.Second)}
	for _, r := range []store.Room{r1, r2, r3} {
		must(t, s.CreateRoom(ctx, r))
	}
	wantErr(t, "duplicate room", s.CreateRoom(ctx, r1), store.ErrExists)

	open, err := s.OpenRooms(ctx)
	must(t, err)
	equal(t, "open rooms (oldest first)", open, []store.Room{r2, r1, r3})

	must(t, s.FinishRoom(ctx, store.Result{Room: "r1", Kind: "duel", FinishedAt: t0.Add(time.Minute)}))
	open, err = s.OpenRooms(ctx)
	must(t, err)
	equal(t, "open rooms after finishing r1", open, []store.Room{r2, r3})

	j, err := s.Journal(ctx, "r2")
	must(t, err)
	if len(j) != 0 {
		t.Errorf("new room has %d journal entries", len(j))
	}
	must(t, s.AppendJournal(ctx, nil))
}

func testJournalOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "r", Kind: "duel", CreatedAt: t0}))
	must(t, s.CreateRoom(ctx, store.Room{ID: "other", Kind: "duel", CreatedAt: t0}))
	mk := func(room string, seq int64) store.JournalEntry {
		return store.JournalEntry{Room: room, Seq: seq, Kind: "answer", At: t0.Add(time.Duration(seq) * time.Millisecond),
			Data: json.RawMessage(fmt.Sprintf(`{"player":"p%d","option":"B"}`, seq))}
	}
	// Written out of order and interleaved with another room's entries.
	must(t, s.AppendJournal(ctx, []store.JournalEntry{mk("r", 3), mk("other", 1), mk("r", 1)}))
	must(t, s.AppendJournal(ctx, []store.JournalEntry{mk("r", 2), mk("other", 2)}))
	noData := store.JournalEntry{Room: "r", Seq: 4, Kind: "reveal", At: t0}
	must(t, s.AppendJournal(ctx, []store.JournalEntry{noData}))

	got, err := s.Journal(ctx, "r")
	must(t, err)
	equal(t, "journal", got, []store.JournalEntry{mk("r", 1), mk("r", 2), mk("r", 3), noData})
}

func testJournalBatchAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "r", Kind: "duel", CreatedAt: t0}))
	e := func(seq int64) store.JournalEntry { return store.JournalEntry{Room: "r", Seq: seq, Kind: "k", At: t0} }
	must(t, s.AppendJournal(ctx, []store.JournalEntry{e(1), e(2)}))

	// One entry collides with a stored one: nothing of the batch is written.
	wantErr(t, "batch with stored seq", s.AppendJournal(ctx, []store.JournalEntry{e(3), e(2), e(4)}), store.ErrExists)
	// Two entries of the batch collide with each other.
	wantErr(t, "batch repeating a seq", s.AppendJournal(ctx, []store.JournalEntry{e(5), e(6), e(5)}), store.ErrExists)
	// A large batch (beyond any per-statement chunking) with its last entry bad.
	big := make([]store.JournalEntry, 0, 1001)
	for i := range int64(1000) {
		big = append(big, e(100+i))
	}
	big = append(big, e(1))
	wantErr(t, "large batch with stored seq", s.AppendJournal(ctx, big), store.ErrExists)

	got, err := s.Journal(ctx, "r")
	must(t, err)
	equal(t, "journal after failed batches", got, []store.JournalEntry{e(1), e(2)})
}

func testJournalUnknownRoom(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.Journal(ctx, "ghost")
	wantErr(t, "journal of missing room", err, store.ErrNotFound)
	err = s.AppendJournal(ctx, []store.JournalEntry{{Room: "ghost", Seq: 1, Kind: "k", At: t0}})
	wantErr(t, "append to missing room", err, store.ErrNotFound)
}

func testJournalConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, batches, per = 32, 10, 8
	for w := range writers {
		must(t, s.CreateRoom(ctx, store.Room{ID: fmt.Sprintf("r%d", w%4), Kind: "stage", CreatedAt: t0}))
		if w >= 3 {
			break
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]store.JournalEntry, per)
				for i := range batch {
					// Rooms are shared by 8 writers each, seqs never collide.
					seq := int64((w/4)*batches*per + b*per + i)
					batch[i] = store.JournalEntry{Room: fmt.Sprintf("r%d", w%4), Seq: seq, Kind: "answer", At: t0}
				}
				errs <- s.AppendJournal(ctx, batch)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	for r := range 4 {
		j, err := s.Journal(ctx, fmt.Sprintf("r%d", r))
		must(t, err)
		if want := writers / 4 * batches * per; len(j) != want {
			t.Fatalf("room r%d has %d entries, want %d", r, len(j), want)
		}
		for i, e := range j {
			if e.Seq != int64(i) {
				t.Fatalf("room r%d entry %d has seq %d", r, i, e.Seq)
			}
		}
	}
}

func testFinishRoom(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "r", Kind: "four", CreatedAt: t0}))
	_, err := s.Result(ctx, "r")
	wantErr(t, "result of live room", err, store.ErrNotFound)

	res := store.Result{Room: "r", Kind: "four", FinishedAt: t0.Add(time.Minute),
		Standings: json.RawMessage(`[{"player":"p1","score":100,"rank":1}]`)}
	must(t, s.FinishRoom(ctx, res))
	got, err := s.Result(ctx, "r")
	must(t, err)
	equal(t, "result", got, res)

	// Finishing again replaces the result.
	res.Standings = json.RawMessage(`[]`)
	must(t, s.FinishRoom(ctx, res))
	got, err = s.Result(ctx, "r")
	must(t, err)
	equal(t, "replaced result", got, res)

	wantErr(t, "finish missing room", s.FinishRoom(ctx, store.Result{Room: "ghost", Kind: "duel", FinishedAt: t0}), store.ErrNotFound)
	_, err = s.Result(ctx, "ghost")
	wantErr(t, "result of missing room", err, store.ErrNotFound)
}

func testEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	e1 := store.Event{ID: "e1", Room: "r1", PIN: "123456", Title: "决赛", Config: json.RawMessage(`{"auto":true}`), CreatedAt: t0}
	must(t, s.CreateEvent(ctx, e1))
	got, err := s.Event(ctx, "e1")
	must(t, err)
	equal(t, "event", got, e1)

	wantErr(t, "duplicate event id", s.CreateEvent(ctx, store.Event{ID: "e1", PIN: "999999", CreatedAt: t0}), store.ErrExists)
	e2 := store.Event{ID: "e2", Room: "r2", PIN: "123456", Title: "second", CreatedAt: t0.Add(time.Minute)}
	wantErr(t, "live PIN reused", s.CreateEvent(ctx, e2), store.ErrExists)

	end := t0.Add(30 * time.Second)
	must(t, s.EndEvent(ctx, "e1", end))
	must(t, s.EndEvent(ctx, "e1", end.Add(time.Hour))) // retried: keeps the first end
	e1.EndedAt = end
	got, err = s.Event(ctx, "e1")
	must(t, err)
	equal(t, "ended event", got, e1)

	must(t, s.CreateEvent(ctx, e2)) // the PIN is free again
	list, err := s.Events(ctx)
	must(t, err)
	equal(t, "events", list, []store.Event{e1, e2})

	_, err = s.Event(ctx, "ghost")
	wantErr(t, "missing event", err, store.ErrNotFound)
	wantErr(t, "end missing event", s.EndEvent(ctx, "ghost", end), store.ErrNotFound)
}

func testEventPINConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.CreateEvent(ctx, store.Event{ID: fmt.Sprintf("e%d", i), PIN: "424242", CreatedAt: t0})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrExists):
			t.Fatalf("CreateEvent: %v, want nil or ErrExists", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent events got the same live PIN, want 1", won)
	}
}

func testAwardPoints(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p", CreatedAt: t0}))
	must(t, s.CreatePlayer(ctx, store.Player{ID: "q", Name: "q", CreatedAt: t0}))
	steps := []struct {
		player, day string
		points      int64
		cap         int
		want        int64
	}{
		{"p", "2025-03-14", 10, 2, 10},
		{"p", "2025-03-14", 10, 2, 10},
		{"p", "2025-03-14", 10, 2, 0}, // third game of the day: over the cap
		{"p", "2025-03-14", 10, 2, 0},
		{"p", "2025-03-15", 5, 2, 5}, // a new day
		{"q", "2025-03-14", 3, 0, 3}, // cap 0: no cap
		{"q", "2025-03-14", 3, 0, 3},
		{"q", "2025-03-14", 3, 0, 3},
	}
	for i, st := range steps {
		got, err := s.AwardPoints(ctx, st.player, st.day, st.points, st.cap)
		must(t, err)
		if got != st.want {
			t.Fatalf("step %d: AwardPoints(%s, %s, %d, cap %d) = %d, want %d", i, st.player, st.day, st.points, st.cap, got, st.want)
		}
	}
	for id, want := range map[string]int64{"p": 25, "q": 9} {
		p, err := s.Player(ctx, id)
		must(t, err)
		if p.Points != want {
			t.Errorf("player %s has %d points, want %d", id, p.Points, want)
		}
	}
	_, err := s.AwardPoints(ctx, "ghost", "2025-03-14", 1, 0)
	wantErr(t, "points for missing player", err, store.ErrNotFound)
}

func testAwardPointsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p", CreatedAt: t0}))
	const n, cap, points = 20, 3, 7
	var wg sync.WaitGroup
	got := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.AwardPoints(ctx, "p", "2025-03-14", points, cap) })
	}
	wg.Wait()
	var sum int64
	for i := range n {
		must(t, errs[i])
		sum += got[i]
	}
	p, err := s.Player(ctx, "p")
	must(t, err)
	if sum != cap*points || p.Points != cap*points {
		t.Fatalf("awarded %d, player has %d; want exactly %d (cap %d games)", sum, p.Points, cap*points, cap)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// equal fails the test unless got and want are equal once times are
// compared as instants and JSON documents as values: a store may hand back
// another time zone, or JSON re-spaced (PostgreSQL's jsonb does).
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	g, w := canon(reflect.ValueOf(got)).Interface(), canon(reflect.ValueOf(want)).Interface()
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// canon returns a copy of v with times in UTC and JSON re-encoded.
func canon(v reflect.Value) reflect.Value {
	switch {
	case v.Type() == timeType:
		return reflect.ValueOf(v.Interface().(time.Time).UTC())
	case v.Type() == rawType:
		if v.IsNil() {
			return v
		}
		var x any
		if err := json.Unmarshal(v.Bytes(), &x); err != nil {
			return v
		}
		b, _ := json.Marshal(x)
		return reflect.ValueOf(json.RawMessage(b))
	case v.Kind() == reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			out.Field(i).Set(canon(v.Field(i)))
		}
		return out
	case v.Kind() == reflect.Slice && !v.IsNil():
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(canon(v.Index(i)))
		}
		return out
	}
	return v
}
