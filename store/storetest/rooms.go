package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

func testRooms(t *testing.T, s store.Store) {
	ctx := t.Context()
	r1 := store.Room{ID: "r1", Kind: "duel", Config: json.RawMessage(`{"questions":5}`), CreatedAt: t0}
	r2 := store.Room{ID: "r2", Kind: "four", CreatedAt: t0.Add(-time.Second)}
	r3 := store.Room{ID: "r3", Kind: "stage", CreatedAt: t0.Add(time.Second)}
	for _, r := range []store.Room{r1, r2, r3} {
		must(t, s.CreateRoom(ctx, r))
	}
	wantErr(t, "duplicate room", s.CreateRoom(ctx, r1), store.ErrExists)
	got, err := s.Room(ctx, "r1")
	must(t, err)
	equal(t, "room", got, r1)
	_, err = s.Room(ctx, "ghost")
	wantErr(t, "missing room", err, store.ErrNotFound)

	open, err := s.OpenRooms(ctx)
	must(t, err)
	equal(t, "open rooms (oldest first)", open, []store.Room{r2, r1, r3})

	must(t, s.FinishRoom(ctx, store.Result{Room: "r1", Kind: "duel", FinishedAt: t0.Add(time.Minute)}))
	open, err = s.OpenRooms(ctx)
	must(t, err)
	equal(t, "open rooms after finishing r1", open, []store.Room{r2, r3})
	got, err = s.Room(ctx, "r1")
	must(t, err)
	r1.FinishedAt = t0.Add(time.Minute)
	equal(t, "finished room", got, r1)

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

// testJournalLargeBatch appends one batch larger than any single INSERT
// the store makes, 463 entries (on SQL: chunks of 256, 128, 64, 8, 4, 2
// and 1 rows), with runs of two rooms' entries and of several kinds
// crossing the chunks' edges: every entry is stored, under its own room,
// kind and data, in seq order.
func testJournalLargeBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "a", Kind: "stage", CreatedAt: t0}))
	must(t, s.CreateRoom(ctx, store.Room{ID: "b", Kind: "stage", CreatedAt: t0}))
	kinds := []string{"answer", "answer", "reveal", "answer", "question"}
	var batch []store.JournalEntry
	want := map[string][]store.JournalEntry{}
	for i := range 463 {
		room := []string{"a", "b"}[i/7%2] // runs of 7 of one room
		e := store.JournalEntry{Room: room, Seq: int64(len(want[room]) + 1), Kind: kinds[i/3%len(kinds)],
			At: t0.Add(time.Duration(i) * time.Millisecond)}
		if i%5 != 0 {
			e.Data = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
		}
		batch = append(batch, e)
		want[room] = append(want[room], e)
	}
	must(t, s.AppendJournal(ctx, batch))
	for _, room := range []string{"a", "b"} {
		got, err := s.Journal(ctx, room)
		must(t, err)
		equal(t, "journal of "+room, got, want[room])
	}
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
