package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// slowOrgs is a store whose Orgs counts its calls, can be made to wait
// for gate, and can be made to fail.
type slowOrgs struct {
	store.Store
	calls atomic.Int64
	gate  chan struct{}
	fail  atomic.Bool
}

func (s *slowOrgs) Orgs(ctx context.Context, root string) ([]store.Org, error) {
	s.calls.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if s.fail.Load() {
		return nil, errors.New("database gone")
	}
	return s.Store.Orgs(ctx, root)
}

func boardFixture(t *testing.T) *store.SQL {
	s := openSQLite(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if err := s.AddOrgs(ctx, []store.Org{
		{Code: "city", Name: "City", CreatedAt: t0},
		{Code: "u1", Name: "U1", Parent: "city", Expected: 2, CreatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.JoinMember(ctx, store.Member{ID: "ma", Name: "a", Unit: "u1", RegisteredAt: t0, CreatedAt: t0}, store.Player{ID: "a", Name: "a", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return s
}

func unitPoints(pts []store.UnitPoints, unit string) int64 {
	for _, p := range pts {
		if p.Unit == unit {
			return p.Points
		}
	}
	return 0
}

// TestBoardCacheFresh: within the freshness interval the cache answers
// what it read, awards and new members notwithstanding; once the clock
// has moved past it, the next call reads again and sees them. Another
// period or root is a board of its own.
func TestBoardCacheFresh(t *testing.T) {
	s := boardFixture(t)
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	c := store.NewBoardCache(s, clk, 2*time.Second)
	week, _ := store.PeriodKey(store.PeriodWeek, "2026-12-01")
	award := func(ref string) {
		t.Helper()
		if _, err := s.Award(ctx, nil, []store.Award{{Ref: ref, Player: "a", Source: store.SourceDuel, Points: 3, Day: "2026-12-01", At: clk.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	award("r1")
	orgs, pts, err := c.Units(ctx, "city", week)
	if err != nil || len(orgs) != 2 || unitPoints(pts, "u1") != 3 {
		t.Fatalf("first read: %v %+v %+v", err, orgs, pts)
	}
	award("r2")
	if err := s.JoinMember(ctx, store.Member{ID: "mb", Name: "b", Unit: "u1", CreatedAt: clk.Now()}, store.Player{ID: "b", Name: "b", CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(1999 * time.Millisecond)
	orgs, pts, err = c.Units(ctx, "city", week)
	if err != nil || orgs[1].Members != 1 || unitPoints(pts, "u1") != 3 || c.Reads() != 1 {
		t.Fatalf("within 2 s: %v members %d points %d reads %d; want the first read's 1 and 3, 1 read", err, orgs[1].Members, unitPoints(pts, "u1"), c.Reads())
	}
	if _, pts, _ := c.Units(ctx, "city", "all"); unitPoints(pts, "u1") != 6 || c.Reads() != 2 {
		t.Fatalf("another period: points %d reads %d; want 6 from a read of its own", unitPoints(pts, "u1"), c.Reads())
	}
	clk.Advance(time.Millisecond)
	orgs, pts, err = c.Units(ctx, "city", week)
	if err != nil || orgs[1].Members != 2 || unitPoints(pts, "u1") != 6 || c.Reads() != 3 {
		t.Fatalf("after 2 s: %v members %d points %d reads %d; want 2 and 6 read again", err, orgs[1].Members, unitPoints(pts, "u1"), c.Reads())
	}
	if orgs, _, err := c.Units(ctx, "u1", week); err != nil || len(orgs) != 1 {
		t.Fatalf("a subtree: %v %+v", err, orgs)
	}
}

// TestBoardCacheOneRead: callers that ask while the board is being read
// wait for that read instead of making their own; a failed read is not
// kept, and the next call reads again.
func TestBoardCacheOneRead(t *testing.T) {
	s := &slowOrgs{Store: boardFixture(t), gate: make(chan struct{})}
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	c := store.NewBoardCache(s, clk, 2*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Go(func() {
		if _, _, err := c.Units(ctx, "city", "all"); err != nil {
			errs <- err
		}
	})
	for s.calls.Load() == 0 { // the first read has begun and waits
		time.Sleep(time.Millisecond)
	}
	for range 6 {
		wg.Go(func() {
			if orgs, _, err := c.Units(ctx, "city", "all"); err != nil || len(orgs) != 2 {
				errs <- errors.Join(err, errors.New("a waiter got no tree"))
			}
		})
	}
	close(s.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.calls.Load(); n != 1 {
		t.Fatalf("%d reads of the tree for 7 callers within the interval; want 1", n)
	}

	s.fail.Store(true)
	clk.Advance(2 * time.Second)
	if _, _, err := c.Units(ctx, "city", "all"); err == nil {
		t.Fatal("a failed read answered no error")
	}
	s.fail.Store(false)
	if orgs, _, err := c.Units(ctx, "city", "all"); err != nil || len(orgs) != 2 || s.calls.Load() != 3 {
		t.Fatalf("after a failed read: %v %d orgs, %d reads; want a fresh read", err, len(orgs), s.calls.Load())
	}
}
