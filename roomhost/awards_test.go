package roomhost

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// flakyStore is the real store whose Award fails while fails is not 0:
// each failed call uses one, and -1 fails every call (a node whose store
// is gone for good).
type flakyStore struct {
	store.Store
	mu    sync.Mutex
	fails int
	calls int
}

func (f *flakyStore) Award(ctx context.Context, caps store.Caps, awards []store.Award) ([]store.Award, error) {
	f.mu.Lock()
	f.calls++
	fail := f.fails != 0
	if f.fails > 0 {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("award: %w", context.DeadlineExceeded)
	}
	return f.Store.Award(ctx, caps, awards)
}

func (f *flakyStore) awardCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// awardHost is a single node on st and the fake clock, begun; stop stops
// it as a shutdown does.
func awardHost(t *testing.T, st store.Store, clk *clock.Fake) (h *Host, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	j := store.NewCommitter(st, store.CommitterOptions{})
	jdone := make(chan struct{})
	go func() { _ = j.Run(ctx); close(jdone) }()
	h = New(Config{}, Deps{Store: st, Journal: j, Bank: questionbank.NewBank(), Clock: clk, Log: zerolog.New(zerolog.NewTestWriter(t)), Marks: noSessions{}})
	h.SetSessions(noSessions{})
	if err := h.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			h.Stop(cancel)
			<-jdone
		})
	}
	t.Cleanup(stop)
	return h, stop
}

// stagedEvent is a stage event with six contestants, stored with its room
// as CreateEvent stores them, and the result its room ends with: five
// ranked, one who never answered.
func stagedEvent(t *testing.T, st store.Store, at time.Time) (store.Event, *room.Result) {
	t.Helper()
	return stagedEventOf(t, st, at, 6)
}

// stagedEventOf is stagedEvent with n contestants, the last unranked.
func stagedEventOf(t *testing.T, st store.Store, at time.Time, n int) (store.Event, *room.Result) {
	t.Helper()
	ctx := context.Background()
	ev := store.Event{ID: "ev-1", Room: "r-1", PIN: "424242", Title: "决赛", CreatedAt: at.Add(-time.Hour)}
	if err := st.CreateRoom(ctx, store.Room{ID: ev.Room, Kind: room.KindEvent, Config: []byte(`{}`), CreatedAt: ev.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	res := &room.Result{Room: ev.Room, Kind: room.KindEvent, At: at}
	for i := range n {
		id := fmt.Sprintf("p%d", i+1)
		if err := st.CreatePlayer(ctx, store.Player{ID: id, Name: id, CreatedAt: ev.CreatedAt}); err != nil {
			t.Fatal(err)
		}
		rank := i + 1
		if i == n-1 {
			rank = 0
		}
		res.Standings = append(res.Standings, protocol.Standing{Rank: rank, ID: id, Name: id, Score: int64(100000 - 100*i)})
	}
	return ev, res
}

// wantPaidOnce checks that every ranked contestant was paid its event
// points exactly once, and the unranked one nothing.
func wantPaidOnce(t *testing.T, st store.Store, res *room.Result) {
	t.Helper()
	ctx := context.Background()
	for _, s := range res.Standings {
		led, err := st.Ledger(ctx, s.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.Player(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Rank < 1 {
			if len(led) != 0 || p.Points != 0 {
				t.Fatalf("unranked %s: ledger %+v, %d points; want nothing", s.ID, led, p.Points)
			}
			continue
		}
		want := EventPoints[min(s.Rank, len(EventPoints))-1]
		if len(led) != 1 || led[0].Ref != "event:"+res.Room+":"+s.ID || led[0].Paid != want || p.Points != want {
			t.Fatalf("%s (rank %d): ledger %+v, %d points; want one award of %d", s.ID, s.Rank, led, p.Points, want)
		}
	}
}

func awardedAt(t *testing.T, st store.Store, id string) time.Time {
	t.Helper()
	e, err := st.Event(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.AwardedAt
}

// TestEventPointsRetriedUntilPaid: the store refuses the event's awards at
// its end and on the next tries; they are tried again with backoff on the
// clock until the store takes them, and every contestant is paid once.
// The sweep, meanwhile and after, pays nothing more.
func TestEventPointsRetriedUntilPaid(t *testing.T) {
	real, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	clk := clock.NewFake(time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC))
	st := &flakyStore{Store: real, fails: 3}
	ev, res := stagedEvent(t, real, clk.Now())
	h, _ := awardHost(t, st, clk)

	h.Finished(context.Background(), res)
	if got := st.awardCalls(); got != 1 {
		t.Fatalf("%d award calls at the event's end, want 1 (the store is down: no one-by-one)", got)
	}
	if _, err := real.Result(context.Background(), ev.Room); err != nil {
		t.Fatalf("result not stored: %v", err)
	}
	if led, _ := real.Ledger(context.Background(), "p1", 10); len(led) != 0 || !awardedAt(t, real, ev.ID).IsZero() {
		t.Fatalf("paid while the store refused: %+v", led)
	}
	// The tries come 1 s, 2 s and 4 s apart; each is only made when its
	// wait is over.
	wait := awardRetryFirst
	for try := 2; try <= 4; try++ {
		waitFor(t, "the retry's timer", func() bool { return clk.Timers() == 2 }) // the sweep's ticker and the retry's timer
		clk.Advance(wait - time.Millisecond)
		// A timer that fires leaves the clock's list at once.
		if n := clk.Timers(); n != 2 {
			t.Fatalf("try %d's timer fired before its wait of %v was over (%d timers left)", try, wait, n)
		}
		clk.Advance(time.Millisecond)
		waitFor(t, fmt.Sprintf("try %d", try), func() bool { return st.awardCalls() == try })
		wait *= 2
	}
	waitFor(t, "the event noted paid", func() bool { return !awardedAt(t, real, ev.ID).IsZero() })
	wantPaidOnce(t, real, res)

	// Sweeps, at the tick and forced, find nothing to pay.
	clk.Advance(eventSweepEvery + eventSweepGrace)
	if n := h.sweepEvents(context.Background(), clk.Now().Add(time.Hour)); n != 0 {
		t.Fatalf("a sweep after the payment paid %d awards", n)
	}
	if n, err := h.sweepEvent(context.Background(), ev); err != nil || n != 0 {
		t.Fatalf("sweeping the paid event again: %d paid, %v; want a replay paying 0", n, err)
	}
	wantPaidOnce(t, real, res)
	if got := st.awardCalls(); got != 5 {
		t.Fatalf("%d award calls, want 5 (four tries and the forced replay)", got)
	}
}

// TestEventPointsSweptAfterRestart: a node stores an event's result and
// stops before it pays the points (its store takes no award); started
// again on the same data, its sweep pays them, once, and a second sweep
// pays nothing more.
func TestEventPointsSweptAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leitai.db")
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC))

	first, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ev, res := stagedEvent(t, first, clk.Now())
	dead := &flakyStore{Store: first, fails: -1}
	h, stop := awardHost(t, dead, clk)
	h.Finished(ctx, res)
	stop()
	if led, _ := first.Ledger(ctx, "p1", 10); len(led) != 0 || !awardedAt(t, first, ev.ID).IsZero() {
		t.Fatalf("the stopped node paid: %+v", led)
	}
	if _, err := first.Result(ctx, ev.Room); err != nil {
		t.Fatalf("result not stored: %v", err)
	}
	first.Close()

	clk.Advance(time.Minute)
	again, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	h2, _ := awardHost(t, again, clk)
	waitFor(t, "the start's sweep to note the event paid", func() bool { return !awardedAt(t, again, ev.ID).IsZero() })
	wantPaidOnce(t, again, res)
	if evs, err := again.UnawardedEvents(ctx, clk.Now().Add(time.Hour), 10); err != nil || len(evs) != 0 {
		t.Fatalf("events still to pay after the sweep: %+v %v", evs, err)
	}
	if n := h2.sweepEvents(ctx, clk.Now().Add(time.Hour)); n != 0 {
		t.Fatalf("a second sweep paid %d awards", n)
	}
	if n, err := h2.sweepEvent(ctx, ev); err != nil || n != 0 {
		t.Fatalf("sweeping the paid event again: %d paid, %v; want a replay paying 0", n, err)
	}
	wantPaidOnce(t, again, res)
}

// TestEventSweepsOfTwoNodesPayOnce: two nodes, each with its own
// connections to one database, sweep the same unpaid event at the same
// time, several times each (the periodic sweeps of a cluster meeting on an
// event whose node died before paying it): every contestant is paid once,
// in a hall of more than one batch. On SQLite (one store, as SQLite is
// never shared by nodes) and on PostgreSQL.
func TestEventSweepsOfTwoNodesPayOnce(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "leitai.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		sweepsMeet(t, st, st)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := pgtest.URL(t)
		var nodes [2]*store.SQL
		for i := range nodes {
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			nodes[i] = st
		}
		sweepsMeet(t, nodes[0], nodes[1])
	})
}

func sweepsMeet(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC))
	ev, res := stagedEventOf(t, a, clk.Now(), 701)
	stored, _ := json.Marshal(map[string]any{"standings": res.Standings})
	if err := a.FinishRoom(ctx, store.Result{Room: ev.Room, Kind: res.Kind, FinishedAt: res.At, Standings: stored}); err != nil {
		t.Fatal(err)
	}
	var hosts []*Host
	for _, st := range []store.Store{a, b} {
		h := New(Config{}, Deps{Store: st, Bank: questionbank.NewBank(), Clock: clk, Log: zerolog.New(zerolog.NewTestWriter(t)), Marks: noSessions{}})
		hosts = append(hosts, h)
	}
	var mu sync.Mutex
	paid := 0
	var wg sync.WaitGroup
	for i := range 6 {
		h := hosts[i%2]
		wg.Go(func() {
			n, err := h.sweepEvent(ctx, ev)
			if err != nil {
				t.Errorf("sweep: %v", err)
			}
			mu.Lock()
			paid += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if paid != 700 {
		t.Fatalf("the sweeps paid %d awards together, want 700 (each ranked contestant once)", paid)
	}
	wantPaidOnce(t, b, res)
	if awardedAt(t, b, ev.ID).IsZero() {
		t.Fatal("the event is not noted paid")
	}
	if n := hosts[1].sweepEvents(ctx, clk.Now().Add(time.Hour)); n != 0 {
		t.Fatalf("a later sweep paid %d awards", n)
	}
}
