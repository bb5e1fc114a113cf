package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// TestRoomWritesCommitTogether queues room headers and match ends behind
// a held write slot: once it is free, the first commits alone and the
// ones queued meanwhile in one transaction, each told its own outcome. One
// of them (a room id already taken) fails the group's transaction: each
// is then written again alone, and only that one fails.
func TestRoomWritesCommitTogether(t *testing.T) {
	s := openSQLite(t)
	s.SetGroupLinger(0, clock.Real{}) // groupRound counts transactions without it; see TestRoomWritesLinger
	ctx := t.Context()
	at := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	for _, p := range []string{"a", "b"} {
		if err := s.CreatePlayer(ctx, store.Player{ID: p, Name: p, Rating: 1500}); err != nil {
			t.Fatal(err)
		}
	}
	room := func(id string) store.Room {
		return store.Room{ID: id, Kind: "duel", Config: json.RawMessage(`{}`), CreatedAt: at}
	}
	for _, id := range []string{"done", "done2"} {
		if err := s.CreateRoom(ctx, room(id)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(round string, dup bool) (txs int64, errs []error) {
		t.Helper()
		var queued []func() error
		for i := range 4 {
			id := fmt.Sprintf("%s-%d", round, i)
			if dup && i == 2 {
				id = "done" // taken
			}
			queued = append(queued, func() error { return s.CreateRoom(ctx, room(id)) })
		}
		if round == "r1" {
			// Two matches end: their awards are paid in one batch, as if
			// one after the other.
			for i, id := range []string{"done", "done2"} {
				queued = append(queued, func() error {
					paid, err := s.FinishMatch(ctx, store.Result{Room: id, Kind: "duel", FinishedAt: at, Standings: json.RawMessage(`[]`)},
						"2026-12-04", store.Caps{store.SourceDuel: 5}, []store.PlayerResult{{Player: "a", Points: 3, Rating: 1516 + float64(i)}, {Player: "b", Points: 1, Rating: 1484}})
					if err == nil && (paid["a"] != 3 || paid["b"] != 1) {
						err = fmt.Errorf("match %s paid %v, want a 3 and b 1", id, paid)
					}
					return err
				})
			}
		}
		return groupRound(t, s, func() error { return s.CreateRoom(ctx, room(round+"-lead")) }, queued...)
	}

	txs, errs := run("r1", false)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if txs != 2 {
		t.Fatalf("%d transactions, want 2 (the first alone, the six queued together)", txs)
	}
	for _, id := range []string{"done", "done2"} {
		if _, err := s.Result(ctx, id); err != nil {
			t.Fatalf("the result of %s: %v", id, err)
		}
	}
	if p, _ := s.Player(ctx, "a"); p.Rating != 1517 || p.Points != 6 {
		t.Fatalf("player a: rating %v, points %d; want 1517 and 6", p.Rating, p.Points)
	}

	txs, errs = run("r2", true)
	for i, err := range errs {
		if wantFail := i == 3; (err != nil) != wantFail {
			t.Fatalf("write %d: err %v, want failure %v", i, err, wantFail)
		}
	}
	// The first alone, the group that failed, then its four again alone.
	if txs != 1+1+4 {
		t.Fatalf("%d transactions, want 6", txs)
	}
	open, err := s.OpenRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range open {
		if r.ID != "done" && r.ID != "done2" {
			n++
		}
	}
	if n != 9 {
		t.Fatalf("%d rooms open, want 9 (five of r1, four of r2: the failed write's id was taken)", n)
	}
}

// groupRound holds the store's write slot, starts lead (which takes the
// room writes' lead and waits for the slot), then each of queued, each
// once the one before it has queued behind the lead, and frees the slot.
// It returns how many transactions the room writes' group wrote and each
// call's error, lead first.
// groupRound is for a store without a group linger (SetGroupLinger 0):
// a lingering lead would wait in the queue it counts.
func groupRound(t *testing.T, s *store.SQL, lead func() error, queued ...func() error) (txs int64, errs []error) {
	t.Helper()
	before := store.RoomWriteTxs(s)
	release := store.HoldWrites(s)
	var chans []chan error
	call := func(f func() error) {
		ch := make(chan error, 1)
		chans = append(chans, ch)
		go func() { ch <- f() }()
	}
	call(lead)
	waitFor(t, "the first write to lead", func() bool { return store.RoomWritesRunning(s) })
	for i, f := range queued {
		call(f)
		waitFor(t, fmt.Sprintf("%d queued writes", i+1), func() bool { return store.QueuedRoomWrites(s) == i+1 })
	}
	release()
	for _, ch := range chans {
		errs = append(errs, <-ch)
	}
	return store.RoomWriteTxs(s) - before, errs
}

// TestRoomWritesLinger: after a group of several writes, the next waits
// out the linger (on the store's clock) so that the writes arriving
// meanwhile share its commit, unless the group fills first; after a group
// of one, nothing waits, so writes made one after another are never held.
func TestRoomWritesLinger(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	at := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	clk := clock.NewFake(at)
	const linger = 10 * time.Millisecond
	s.SetGroupLinger(linger, clk)
	n := 0
	create := func() func() error {
		n++
		id := fmt.Sprint("room-", n)
		return func() error {
			return s.CreateRoom(ctx, store.Room{ID: id, Kind: "duel", Config: json.RawMessage(`{}`), CreatedAt: at})
		}
	}
	all := func(fs ...func() error) (wait func() error) {
		errs := make(chan error, len(fs))
		for _, f := range fs {
			go func() { errs <- f() }()
		}
		return func() error {
			for range fs {
				if err := <-errs; err != nil {
					return err
				}
			}
			return nil
		}
	}

	// A group of one, then one of two: nothing waits for the clock (it
	// never moves here), since no group of several came before.
	release := store.HoldWrites(s)
	first := all(create())
	waitFor(t, "the first write to lead", func() bool { return store.RoomWritesRunning(s) })
	second := all(create(), create())
	waitFor(t, "two queued writes", func() bool { return store.QueuedRoomWrites(s) == 2 })
	release()
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}

	// Three writes right after that group of two: the lead lingers, the
	// others queue behind it, and nothing is written until the clock has
	// moved the linger on; then all three share one transaction.
	before := store.RoomWriteTxs(s)
	three := all(create(), create(), create())
	waitFor(t, "three writes waiting out the linger", func() bool {
		return store.QueuedRoomWrites(s) == 3 && clk.Timers() == 1
	})
	if got := store.RoomWriteTxs(s); got != before {
		t.Fatalf("%d transactions while the lead lingers, want none", got-before)
	}
	clk.Advance(linger)
	if err := three(); err != nil {
		t.Fatal(err)
	}
	if got := store.RoomWriteTxs(s) - before; got != 1 {
		t.Fatalf("%d transactions for the three, want 1", got)
	}

	// A full group does not wait for the linger: the clock stays put.
	before = store.RoomWriteTxs(s)
	var fs []func() error
	for range store.TxGroupMost {
		fs = append(fs, create())
	}
	if err := all(fs...)(); err != nil {
		t.Fatal(err)
	}
	if got := store.RoomWriteTxs(s) - before; got != 1 {
		t.Fatalf("%d transactions for a full group, want 1", got)
	}

	// Once the linger has passed, a write goes at once; after it (a group
	// of one) writes made one after another never wait, the clock still.
	clk.Advance(linger)
	before = store.RoomWriteTxs(s)
	for range 3 {
		if err := create()(); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.RoomWriteTxs(s) - before; got != 3 {
		t.Fatalf("%d transactions for three writes one after another, want 3", got)
	}
	if c := clk.Timers(); c != 0 {
		t.Fatalf("%d timers left armed", c)
	}
}
