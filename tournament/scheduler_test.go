package tournament

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// smallTournament is a two-player duel final an hour after its qualifier
// closes, both players qualified and checked in.
func smallTournament(t *testing.T, clk *clock.Fake) (*Service, time.Time) {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := NewService(st)
	opens := clk.Now()
	final := opens.Add(2 * time.Hour)
	cfg := Config{Format: FormatDuel, Field: 2, Pool: Pool{Sets: []string{"s"}},
		Qualifier: Qualifier{Opens: opens, Closes: opens.Add(time.Hour), Questions: 5, Minutes: 5, Attempts: 1},
		Rounds:    []time.Time{final}, CheckInSeconds: 600, GraceSeconds: 60}
	ctx := t.Context()
	if err := svc.Create(ctx, "t", "small", cfg, opens); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"a", "b"} {
		if _, err := svc.RecordAttempt(ctx, "t", p, int64(5-i), time.Minute, opens.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(final.Add(-time.Minute))
	for _, p := range []string{"a", "b"} {
		if err := svc.CheckIn(ctx, "t", 1, p, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return svc, final
}

func TestCreateRefusesBadConfig(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	svc, _ := smallTournament(t, clk)
	opens := clk.Now()
	good := Config{Format: FormatDuel, Field: 3, Pool: Pool{Sets: []string{"s"}},
		Qualifier: Qualifier{Opens: opens, Closes: opens.Add(time.Hour), Questions: 5, Minutes: 5, Attempts: 1},
		Rounds:    []time.Time{opens.Add(2 * time.Hour), opens.Add(3 * time.Hour)}}
	for name, mutate := range map[string]func(c *Config){
		"format":             func(c *Config) { c.Format = "trio" },
		"field of one":       func(c *Config) { c.Field = 1 },
		"no pool":            func(c *Config) { c.Pool.Sets = nil },
		"window backwards":   func(c *Config) { c.Qualifier.Closes = opens.Add(-time.Hour) },
		"no attempts":        func(c *Config) { c.Qualifier.Attempts = 0 },
		"too few rounds":     func(c *Config) { c.Rounds = c.Rounds[:1] },
		"round before close": func(c *Config) { c.Rounds[0] = opens },
		"rounds out of order": func(c *Config) {
			c.Rounds[0], c.Rounds[1] = c.Rounds[1], c.Rounds[0]
		},
	} {
		c := good
		c.Rounds = append([]time.Time(nil), good.Rounds...)
		mutate(&c)
		if err := svc.Create(t.Context(), "bad", "bad", c, opens); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := svc.Config(t.Context(), "bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused tournament was stored: %v", err)
	}
	if err := svc.Create(t.Context(), "good", "good", good, opens); err != nil {
		t.Fatal(err)
	}
}

// TestSchedulerLease: a scheduler that does not hold the lease does
// nothing; when the holder stops renewing, the other takes over.
func TestSchedulerLease(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	svc, final := smallTournament(t, clk)
	bus := cluster.NewLocal(clk)
	rec := newRecorder()
	a := NewScheduler(svc, rec, clk, time.Second, bus, "node-a")
	b := NewScheduler(svc, rec, clk, time.Second, bus, "node-b")
	ctx := t.Context()
	clk.Set(final.Add(-time.Second))
	if err := a.process(ctx, clk.Now()); err != nil { // a holds the lease; nothing is due
		t.Fatal(err)
	}
	clk.Set(final)
	if err := b.process(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if len(rec.started) != 0 {
		t.Fatalf("the scheduler without the lease started %v", rec.started)
	}
	clk.Advance(3 * time.Second) // a's lease runs out
	if err := b.process(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if rec.started["t/r1/m0"] != 1 {
		t.Fatalf("after taking over, started %v", rec.started)
	}
}

// TestSchedulerRun: Run ticks by the injected clock, fires the round at
// its time, and returns with ctx's error, giving up the lease.
func TestSchedulerRun(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	svc, final := smallTournament(t, clk)
	bus := cluster.NewLocal(clk)
	rec := newRecorder()
	s := NewScheduler(svc, rec, clk, time.Second, bus, "node-a")
	fired := make(chan time.Duration, 1)
	s.OnFire = func(_ store.TournamentRound, d time.Duration) { fired <- d }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Timers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run armed no ticker")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Set(final)
	select {
	case d := <-fired:
		if d != 0 {
			t.Errorf("fired %s late, want on time", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the round did not fire at its time")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if owner, _ := bus.Owner(t.Context(), LeaseKey); owner != "" {
		t.Fatalf("lease still held by %q after Run", owner)
	}
}

// TestServiceRefusesBadInput: reports, sudden-death results and check-ins
// that do not fit the match change nothing.
func TestServiceRefusesBadInput(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	svc, final := smallTournament(t, clk)
	ctx := t.Context()
	if err := svc.CheckIn(ctx, "t", 1, "stranger", clk.Now()); !errors.Is(err, ErrBadInput) {
		t.Errorf("a stranger checked in: %v", err)
	}
	if err := svc.CheckIn(ctx, "t", 1, "a", final.Add(time.Hour)); !errors.Is(err, ErrBadInput) {
		t.Errorf("checked in after the grace: %v", err)
	}
	if err := svc.CheckIn(ctx, "t", 2, "a", clk.Now()); !errors.Is(err, ErrBadInput) {
		t.Errorf("checked in for a round that does not exist: %v", err)
	}
	if err := svc.Report(ctx, "t", 1, 0, []SeatResult{{"a", 1, time.Second}, {"b", 1, time.Second}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("reported a match that was not fired: %v", err)
	}
	rec := newRecorder()
	clk.Set(final)
	if err := NewScheduler(svc, rec, clk, time.Second, nil, "n").process(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	for name, rs := range map[string][]SeatResult{
		"a stranger":     {{"a", 1, time.Second}, {"x", 1, time.Second}},
		"one missing":    {{"a", 1, time.Second}},
		"twice":          {{"a", 1, time.Second}, {"a", 2, time.Second}},
		"negative score": {{"a", -1, time.Second}, {"b", 1, time.Second}},
	} {
		if err := svc.Report(ctx, "t", 1, 0, rs); !errors.Is(err, ErrBadInput) {
			t.Errorf("report with %s: %v", name, err)
		}
	}
	if err := svc.ResolveTie(ctx, "t", 1, 0, []string{"a", "b"}); !errors.Is(err, ErrBadInput) {
		t.Errorf("a sudden death nobody asked for: %v", err)
	}
	v, err := svc.Bracket(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Rounds[0].Matches[0]; m.State != StatePlaying || len(m.Results) != 0 {
		t.Fatalf("after refusals the match is %+v", m)
	}
	if err := svc.Report(ctx, "t", 1, 0, []SeatResult{{"b", 3, time.Second}, {"a", 3, time.Second}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.ResolveTie(ctx, "t", 1, 0, []string{"a", "x"}); !errors.Is(err, ErrBadInput) {
		t.Errorf("a sudden death with a stranger: %v", err)
	}
	if err := svc.Report(ctx, "t", 1, 0, []SeatResult{{"b", 3, time.Second}, {"a", 4, time.Second}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("a second report: %v", err)
	}
}
