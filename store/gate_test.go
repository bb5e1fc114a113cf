package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
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

// TestPlayersCommitTogether queues new players (a guest's hello each, with
// its resume token) and a room header behind a held write slot: the first
// commits alone and the ones queued meanwhile in one transaction. In a
// second round one of them has a taken id: the group's transaction fails,
// each is written again alone, and only that one fails, with ErrExists.
func TestPlayersCommitTogether(t *testing.T) {
	s := openSQLite(t)
	s.SetGroupLinger(0, clock.Real{}) // groupRound counts transactions without it
	ctx := t.Context()
	at := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)
	guest := func(id string) (store.Player, store.Token) {
		return store.Player{ID: id, Name: id, Rating: 1500, CreatedAt: at},
			store.Token{Hash: "h-" + id, Kind: store.TokenResume, Subject: id, CreatedAt: at}
	}
	run := func(round string, taken string) (txs int64, errs []error) {
		t.Helper()
		var queued []func() error
		for i := range 4 {
			id := round + "-" + string(rune('a'+i))
			if i == 2 && taken != "" {
				id = taken
			}
			queued = append(queued, func() error {
				p, tok := guest(id)
				tok.Hash += "-" + round
				return s.CreatePlayer(ctx, p, tok)
			})
		}
		queued = append(queued, func() error {
			return s.CreateRoom(ctx, store.Room{ID: round + "-room", Kind: "four", Config: json.RawMessage(`{}`), CreatedAt: at})
		})
		return groupRound(t, s, func() error { p, tok := guest(round + "-lead"); return s.CreatePlayer(ctx, p, tok) }, queued...)
	}

	txs, errs := run("r1", "")
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if txs != 2 {
		t.Fatalf("%d transactions, want 2 (the first alone, the five queued together)", txs)
	}
	for _, id := range []string{"r1-lead", "r1-a", "r1-b", "r1-c", "r1-d"} {
		if _, err := s.Player(ctx, id); err != nil {
			t.Fatalf("player %s: %v", id, err)
		}
	}
	if tok, err := s.Token(ctx, "h-r1-c-r1"); err != nil || tok.Subject != "r1-c" {
		t.Fatalf("r1-c's resume token: %+v, %v", tok, err)
	}

	txs, errs = run("r2", "r1-a")
	for i, err := range errs {
		if wantFail := i == 3; (err != nil) != wantFail {
			t.Fatalf("write %d: err %v, want failure %v", i, err, wantFail)
		}
	}
	if !errors.Is(errs[3], store.ErrExists) {
		t.Fatalf("the player with a taken id: %v, want ErrExists", errs[3])
	}
	// The first alone, the group that failed, then its five again alone.
	if txs != 1+1+5 {
		t.Fatalf("%d transactions, want 7", txs)
	}
	if _, err := s.Token(ctx, "h-r1-a-r2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed player's token: %v, want ErrNotFound (one transaction with its player)", err)
	}
	for _, id := range []string{"r2-lead", "r2-a", "r2-b", "r2-d"} {
		if _, err := s.Player(ctx, id); err != nil {
			t.Fatalf("player %s: %v", id, err)
		}
	}
	if _, err := s.Room(ctx, "r2-room"); err != nil {
		t.Fatalf("the room queued with them: %v", err)
	}
}

// waitFor polls ok until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// TestRoomWritesGroupBounded queues more room headers than one group may
// hold behind a held write slot: the first is written alone, then the
// queued ones in groups of at most TxGroupMost, oldest first, every one
// stored.
func TestRoomWritesGroupBounded(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	at := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)
	room := func(id string) store.Room {
		return store.Room{ID: id, Kind: "four", Config: json.RawMessage(`{}`), CreatedAt: at}
	}
	before := store.RoomWriteTxs(s)
	release := store.HoldWrites(s)
	n := store.TxGroupMost + store.TxGroupMost/2
	errs := make(chan error, n+1)
	go func() { errs <- s.CreateRoom(ctx, room("lead")) }()
	waitQueuedWrites(t, s, 0, 1)
	for i := range n {
		go func() { errs <- s.CreateRoom(ctx, room(fmt.Sprintf("r%d", i))) }()
	}
	waitFor(t, "queued writes", func() bool { return store.QueuedRoomWrites(s) == n })
	release()
	for range n + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if txs := store.RoomWriteTxs(s) - before; txs != 3 {
		t.Fatalf("%d transactions, want 3: the first alone, then %d and %d", txs, store.TxGroupMost, n-store.TxGroupMost)
	}
	open, err := s.OpenRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != n+1 {
		t.Fatalf("%d rooms stored, want %d", len(open), n+1)
	}
}
