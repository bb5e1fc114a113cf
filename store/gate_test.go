package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// waitQueuedWrites polls until the store's write gate has journal and
// ordinary writes waiting.
func waitQueuedWrites(t *testing.T, s *store.SQL, journal, ordinary int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		j, o := store.QueuedWrites(s)
		if j == journal && o == ordinary {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %d journal and %d ordinary writes queued; %d and %d are", journal, ordinary, j, o)
		}
	}
}

// TestJournalFirstAtWriteGate holds the write slot, queues a room's header
// and then a journal entry for that room, and lets go. The journal goes
// first although it came second: it finds no room yet and is refused
// (ErrNotFound), and the header is written after it.
func TestJournalFirstAtWriteGate(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	at := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)
	release := store.HoldWrites(s)
	created := make(chan error, 1)
	go func() {
		created <- s.CreateRoom(ctx, store.Room{ID: "r", Kind: "four", Config: json.RawMessage(`{}`), CreatedAt: at})
	}()
	waitQueuedWrites(t, s, 0, 1)
	appended := make(chan error, 1)
	go func() {
		appended <- s.AppendJournal(ctx, []store.JournalEntry{{Room: "r", Seq: 1, Kind: "sent", At: at, Data: json.RawMessage(`{}`)}})
	}()
	waitQueuedWrites(t, s, 1, 1)
	release()
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	var refused *store.RefusedError
	if err := <-appended; !errors.As(err, &refused) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the journal write: %v; want it refused for a room not yet written (it went first)", err)
	}
	// Once the header is written, the same entry is: the refusal was the
	// order alone.
	if err := s.AppendJournal(ctx, []store.JournalEntry{{Room: "r", Seq: 1, Kind: "sent", At: at, Data: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
}
