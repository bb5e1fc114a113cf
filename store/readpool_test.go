package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/store/storetest"
)

// TestSQLiteOneReader runs the store's contract with the read pool at its
// smallest, one connection: a read that held a connection while asking
// for another would wait for ever here (the contract's reads run one at a
// time, so the one connection is free unless the read itself holds it).
func TestSQLiteOneReader(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openSQLite(t)
		store.SetReadConns(s, 1)
		return s
	})
}

// TestSQLiteOneReaderConcurrent: eight goroutines make every leaderboard
// read at once through a read pool of one connection while awards are
// written. Each call has a deadline, so a read that waited for a second
// connection it can never get fails the test instead of hanging it.
func TestSQLiteOneReaderConcurrent(t *testing.T) {
	s := openSQLite(t)
	store.SetReadConns(s, 1)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if err := s.AddOrgs(ctx, []store.Org{
		{Code: "city", Name: "City", CreatedAt: t0},
		{Code: "d1", Name: "D1", Parent: "city", CreatedAt: t0},
		{Code: "u1", Name: "U1", Parent: "d1", Expected: 4, CreatedAt: t0},
		{Code: "u2", Name: "U2", Parent: "d1", Expected: 4, CreatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	const players = 12
	for i := range players {
		id := fmt.Sprintf("p%d", i)
		if err := s.JoinMember(ctx, store.Member{ID: "m" + id, Name: id, Unit: fmt.Sprintf("u%d", 1+i%2), RegisteredAt: t0, CreatedAt: t0},
			store.Player{ID: id, Name: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Award(ctx, nil, []store.Award{{Ref: "seed:" + id, Player: id, Source: store.SourceDuel, Points: int64(1 + i), Day: "2026-11-30", At: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	week, _ := store.PeriodKey(store.PeriodWeek, "2026-11-30")
	reads := []func(ctx context.Context, i int) error{
		func(ctx context.Context, i int) error { _, err := s.Orgs(ctx, "d1"); return err },
		func(ctx context.Context, i int) error { _, err := s.Orgs(ctx, ""); return err },
		func(ctx context.Context, i int) error { _, err := s.TopPlayers(ctx, week, "", 2, 5); return err },
		func(ctx context.Context, i int) error { _, err := s.TopPlayers(ctx, week, "d1", 2, 5); return err },
		func(ctx context.Context, i int) error {
			_, err := s.Rank(ctx, week, fmt.Sprintf("p%d", i%players))
			return err
		},
		func(ctx context.Context, i int) error { _, err := s.UnitPoints(ctx, week); return err },
		func(ctx context.Context, i int) error {
			_, err := s.TopMembers(ctx, week, []string{"u1", "u2"}, 3)
			return err
		},
		func(ctx context.Context, i int) error {
			_, err := s.Ledger(ctx, fmt.Sprintf("p%d", i%players), 10)
			return err
		},
		func(ctx context.Context, i int) error { _, err := s.Journal(ctx, "no-such-room"); return err },
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Go(func() {
		for i := range 40 {
			id := fmt.Sprintf("p%d", i%players)
			if _, err := s.Award(ctx, nil, []store.Award{{Ref: fmt.Sprintf("live:%d", i), Player: id, Source: store.SourceFour, Points: 1, Day: "2026-12-01", At: t0}}); err != nil {
				errs <- fmt.Errorf("award: %w", err)
				return
			}
		}
	})
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				k := (g + i) % len(reads)
				c, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := reads[k](c, i)
				cancel()
				if k == len(reads)-1 && errors.Is(err, store.ErrNotFound) {
					err = nil // no such room: the right answer
				}
				if err != nil {
					errs <- fmt.Errorf("read %d: %w", k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAwardGroupReservesReader: while an award group is being written,
// one connection of the read pool is held away from the readers, and it
// is given back when the group is done; reads still run beside it on the
// rest of the pool. With a pool of one connection nothing is held.
func TestAwardGroupReservesReader(t *testing.T) {
	s := openSQLite(t)
	store.SetReadConns(s, 2)
	store.SetReaders(s, 2)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if err := s.CreatePlayer(ctx, store.Player{ID: "a", Name: "a", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !ok(); {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	award := func(ref string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := s.Award(ctx, nil, []store.Award{{Ref: ref, Player: "a", Source: store.SourceDuel, Points: 1, Day: "2026-11-30", At: t0}})
			done <- err
		}()
		return done
	}
	release := store.HoldWrites(s) // the group waits for the write slot
	done := award("r1")
	waitFor("the group to hold a reader", func() bool { return store.ReadersInUse(s) == 1 })
	readCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Player(readCtx, "a"); err != nil {
		t.Fatalf("a read beside the group: %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor("the reader to be given back", func() bool { return store.ReadersInUse(s) == 0 })

	store.SetReadConns(s, 1)
	store.SetReaders(s, 1)
	release = store.HoldWrites(s)
	done = award("r2")
	waitFor("the call to queue", func() bool { return store.ReadersInUse(s) == 0 && len(done) == 0 })
	if _, err := s.Player(readCtx, "a"); err != nil { // would time out if the one connection were held
		t.Fatalf("a read beside the group on a pool of one: %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
