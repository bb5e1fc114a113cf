package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/leitai/leitai/store"
)

// epochEntry is an entry of room at seq written by the owner at epoch.
func epochEntry(room string, seq, epoch int64) store.JournalEntry {
	return store.JournalEntry{Room: room, Seq: seq, Kind: "answer", At: t0, Epoch: epoch}
}

// seqs returns the seqs of the room's journal.
func seqs(t *testing.T, s store.Store, room string) []int64 {
	t.Helper()
	j, err := s.Journal(t.Context(), room)
	must(t, err)
	out := make([]int64, len(j))
	for i, e := range j {
		out[i] = e.Seq
		if e.Epoch != 0 {
			t.Errorf("journal entry %d of %s reads back with epoch %d", e.Seq, room, e.Epoch)
		}
	}
	return out
}

// testEpochStale checks that an append from an epoch lower than one the
// room has seen is refused and writes nothing, that the same epoch and a
// higher one are accepted, and that FenceRoom raises the bar on its own.
func testEpochStale(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "r", Kind: "stage", CreatedAt: t0}))
	// Single-node appends carry epoch 0 and never fence each other out.
	must(t, s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 1, 0), epochEntry("r", 2, 0)}))
	// An owner with epoch 3 takes over; epoch 0 is stale from then on.
	must(t, s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 3, 3)}))
	err := s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 4, 0)})
	wantErr(t, "append from epoch 0 after epoch 3", err, store.ErrStaleEpoch)
	var refused *store.RefusedError
	if !errors.As(err, &refused) || len(refused.Refused) != 1 || refused.Refused[0].Room != "r" || refused.Refused[0].Epoch != 0 {
		t.Fatalf("stale append: err %v, want a RefusedError naming room r at epoch 0", err)
	}
	must(t, s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 4, 3)}))
	must(t, s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 5, 4)}))

	// A new owner fences the room before replaying its journal; the old
	// one's appends fail from that moment, before the new one writes.
	must(t, s.FenceRoom(ctx, "r", 7))
	wantErr(t, "append from epoch 4 after fence at 7", s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 6, 4)}), store.ErrStaleEpoch)
	wantErr(t, "fence back to 5", s.FenceRoom(ctx, "r", 5), store.ErrStaleEpoch)
	must(t, s.FenceRoom(ctx, "r", 7)) // again at the same epoch: harmless
	wantErr(t, "fence a missing room", s.FenceRoom(ctx, "ghost", 1), store.ErrNotFound)
	must(t, s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", 6, 7)}))

	room, err := s.Room(ctx, "r")
	must(t, err)
	if room.Epoch != 7 {
		t.Fatalf("room epoch %d, want 7", room.Epoch)
	}
	equal(t, "journal", seqs(t, s, "r"), []int64{1, 2, 3, 4, 5, 6})
}

// testEpochPerRoom checks that a batch with a stale room, a missing room
// and a good room writes the good room's entries and refuses only the
// others', each with its own reason.
func testEpochPerRoom(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "good", Kind: "duel", CreatedAt: t0}))
	must(t, s.CreateRoom(ctx, store.Room{ID: "taken", Kind: "duel", CreatedAt: t0, Epoch: 9}))
	batch := []store.JournalEntry{
		epochEntry("taken", 1, 2), epochEntry("good", 1, 2), epochEntry("ghost", 1, 2),
		epochEntry("good", 2, 2), epochEntry("taken", 2, 2),
	}
	err := s.AppendJournal(ctx, batch)
	var refused *store.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("mixed batch: err %v, want a RefusedError", err)
	}
	for _, e := range batch {
		got := refused.Of(&e)
		switch e.Room {
		case "good":
			if got != nil {
				t.Errorf("good room's entry %d refused: %v", e.Seq, got)
			}
		case "taken":
			wantErr(t, "stale room's entry", got, store.ErrStaleEpoch)
		case "ghost":
			wantErr(t, "missing room's entry", got, store.ErrNotFound)
		}
	}
	equal(t, "good room's journal", seqs(t, s, "good"), []int64{1, 2})
	equal(t, "stale room's journal", seqs(t, s, "taken"), []int64{})

	// One room written by two epochs in one batch: the higher raises the
	// room and the lower is refused, whatever their order in the batch.
	err = s.AppendJournal(ctx, []store.JournalEntry{epochEntry("good", 3, 2), epochEntry("good", 4, 5)})
	if !errors.As(err, &refused) || len(refused.Refused) != 1 || refused.Refused[0].Epoch != 2 {
		t.Fatalf("two epochs of one room: err %v, want epoch 2 refused", err)
	}
	equal(t, "good room's journal after two epochs", seqs(t, s, "good"), []int64{1, 2, 4})
}

// testEpochFenceConcurrent fences a room while its old owner keeps
// appending: no append that begins after FenceRoom returns is written, the
// old owner learns of the takeover by ErrStaleEpoch, and the journal holds
// exactly the appends that succeeded.
func testEpochFenceConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateRoom(ctx, store.Room{ID: "r", Kind: "stage", CreatedAt: t0, Epoch: 1}))
	var fenced atomic.Bool
	acked := make(chan int64, 1<<16)
	done := make(chan error, 1)
	go func() {
		defer close(acked)
		for seq := int64(1); ; seq++ {
			after := fenced.Load()
			err := s.AppendJournal(ctx, []store.JournalEntry{epochEntry("r", seq, 1)})
			switch {
			case err == nil && after:
				done <- fmt.Errorf("append of seq %d began after the fence and was written", seq)
				return
			case err == nil:
				acked <- seq
			case errors.Is(err, store.ErrStaleEpoch):
				done <- nil
				return
			default:
				done <- err
				return
			}
		}
	}()
	var got []int64
	for seq := range acked {
		got = append(got, seq)
		if len(got) == 20 {
			must(t, s.FenceRoom(ctx, "r", 2))
			fenced.Store(true)
		}
	}
	must(t, <-done)
	if len(got) < 20 {
		t.Fatalf("the writer stopped after %d appends", len(got))
	}
	equal(t, "journal after the fence", seqs(t, s, "r"), got)
}
