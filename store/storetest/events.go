package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

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

// award1 awards one duel through the ledger with a cap of dailyCap duels.
func award1(t *testing.T, s store.Store, ref, player, day string, points int64, dailyCap int) (int64, error) {
	t.Helper()
	out, err := s.Award(t.Context(), store.Caps{store.SourceDuel: dailyCap},
		[]store.Award{{Ref: ref, Player: player, Source: store.SourceDuel, Points: points, Day: day, At: t0}})
	if err != nil {
		return 0, err
	}
	return out[0].Paid, nil
}

func testAwardPoints(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p", CreatedAt: t0}))
	must(t, s.CreatePlayer(ctx, store.Player{ID: "q", Name: "q", CreatedAt: t0}))
	steps := []struct {
		ref, player, day string
		points           int64
		dailyCap         int
		want             int64
	}{
		{"r1", "p", "2025-03-14", 10, 2, 10},
		{"r2", "p", "2025-03-14", 10, 2, 10},
		{"r2", "p", "2025-03-14", 10, 2, 10}, // the same ref again: a replay, paid once, not counted
		{"r3", "p", "2025-03-14", 10, 2, 0},  // third game of the day: over the cap
		{"r4", "p", "2025-03-14", 10, 2, 0},
		{"r5", "p", "2025-03-15", 5, 2, 5}, // a new day
		{"r6", "q", "2025-03-14", 3, 0, 3}, // cap 0: no cap
		{"r7", "q", "2025-03-14", 3, 0, 3},
		{"r8", "q", "2025-03-14", 3, 0, 3},
	}
	for i, st := range steps {
		got, err := award1(t, s, st.ref, st.player, st.day, st.points, st.dailyCap)
		must(t, err)
		if got != st.want {
			t.Fatalf("step %d: award %s (%s, %s, %d, cap %d) paid %d, want %d", i, st.ref, st.player, st.day, st.points, st.dailyCap, got, st.want)
		}
	}
	for id, want := range map[string]int64{"p": 25, "q": 9} {
		p, err := s.Player(ctx, id)
		must(t, err)
		if p.Points != want {
			t.Errorf("player %s has %d points, want %d", id, p.Points, want)
		}
	}
	_, err := award1(t, s, "r9", "ghost", "2025-03-14", 1, 0)
	wantErr(t, "points for missing player", err, store.ErrNotFound)
	_, err = award1(t, s, "r10", "p", "14/03/2025", 1, 0)
	wantErr(t, "award on a malformed day", err, store.ErrInvalid)
	led, err := s.Ledger(ctx, "p", 100)
	must(t, err)
	if len(led) != 5 {
		t.Fatalf("ledger of p has %d rows, want 5 (a replay adds none): %+v", len(led), led)
	}
}

func testAwardPointsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p", CreatedAt: t0}))
	const n, dailyCap, points = 20, 3, 7
	var wg sync.WaitGroup
	got := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		// Two requests per ref: a retried request must not pay twice.
		ref := fmt.Sprintf("r%d", i/2)
		wg.Go(func() { got[i], errs[i] = award1(t, s, ref, "p", "2025-03-14", points, dailyCap) })
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i])
	}
	p, err := s.Player(ctx, "p")
	must(t, err)
	if p.Points != dailyCap*points {
		t.Fatalf("player has %d; want exactly %d (cap %d games)", p.Points, dailyCap*points, dailyCap)
	}
}

// testEventAwards: the events whose result is stored but whose points are
// not noted paid are listed for the sweep, until they are marked; paying
// an event's awards again is a replay that pays nothing.
func testEventAwards(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"p1", "p2"} {
		must(t, s.CreatePlayer(ctx, store.Player{ID: id, Name: id, CreatedAt: t0}))
	}
	for i, id := range []string{"e1", "e2", "e3"} {
		room := "r" + id[1:]
		must(t, s.CreateRoom(ctx, store.Room{ID: room, Kind: "event", CreatedAt: t0}))
		must(t, s.CreateEvent(ctx, store.Event{ID: id, Room: room, PIN: fmt.Sprintf("10000%d", i), Title: id, CreatedAt: t0.Add(time.Duration(i) * time.Second)}))
	}
	// e1 and e2 finished (their results stored), e3 still runs.
	must(t, s.FinishRoom(ctx, store.Result{Room: "r1", Kind: "event", FinishedAt: t0.Add(time.Minute), Standings: json.RawMessage(`{}`)}))
	must(t, s.FinishRoom(ctx, store.Result{Room: "r2", Kind: "event", FinishedAt: t0.Add(2 * time.Minute), Standings: json.RawMessage(`{}`)}))
	ids := func(evs []store.Event, err error) []string {
		t.Helper()
		must(t, err)
		out := []string{}
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	equal(t, "unawarded by the end", ids(s.UnawardedEvents(ctx, t0.Add(time.Hour), 10)), []string{"e1", "e2"})
	equal(t, "unawarded finished by the first end", ids(s.UnawardedEvents(ctx, t0.Add(time.Minute), 10)), []string{"e1"})
	equal(t, "unawarded, at most one", ids(s.UnawardedEvents(ctx, t0.Add(time.Hour), 1)), []string{"e1"})
	_, err := s.UnawardedEvents(ctx, t0, 0)
	wantErr(t, "unawarded events, no limit", err, store.ErrInvalid)

	// The points of e1, paid twice (a retry, or two nodes' sweeps): the
	// second time is a replay of the first, nothing more is paid.
	awards := []store.Award{
		{Ref: "event:r1:p1", Player: "p1", Source: store.SourceEvent, Points: 10, Day: "2025-03-14", At: t0.Add(time.Minute)},
		{Ref: "event:r1:p2", Player: "p2", Source: store.SourceEvent, Points: 8, Day: "2025-03-14", At: t0.Add(time.Minute)},
	}
	for round := range 2 {
		out, err := s.Award(ctx, store.Caps{}, awards)
		must(t, err)
		for i, a := range out {
			if a.Paid != awards[i].Points || a.Replay != (round == 1) {
				t.Fatalf("round %d: award %s paid %d (replay %v), want %d (replay %v)", round, a.Ref, a.Paid, a.Replay, awards[i].Points, round == 1)
			}
		}
	}
	for id, want := range map[string]int64{"p1": 10, "p2": 8} {
		p, err := s.Player(ctx, id)
		must(t, err)
		if p.Points != want {
			t.Errorf("player %s has %d points after a replayed event award, want %d", id, p.Points, want)
		}
	}

	paidAt := t0.Add(3 * time.Minute)
	must(t, s.MarkEventAwarded(ctx, "r1", paidAt))
	must(t, s.MarkEventAwarded(ctx, "r1", paidAt.Add(time.Hour))) // again: keeps the first
	got, err := s.Event(ctx, "e1")
	must(t, err)
	if !got.AwardedAt.Equal(paidAt) {
		t.Fatalf("e1 awarded at %v, want %v", got.AwardedAt, paidAt)
	}
	equal(t, "unawarded after e1 was paid", ids(s.UnawardedEvents(ctx, t0.Add(time.Hour), 10)), []string{"e2"})
	wantErr(t, "mark a room without an event", s.MarkEventAwarded(ctx, "ghost", paidAt), store.ErrNotFound)
	wantErr(t, "mark at zero time", s.MarkEventAwarded(ctx, "r2", time.Time{}), store.ErrInvalid)
	equal(t, "unawarded after refused marks", ids(s.UnawardedEvents(ctx, t0.Add(time.Hour), 10)), []string{"e2"})
}
