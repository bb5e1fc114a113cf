package tournament

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// TestFours: six qualifiers in fours make a bracket of eight (two byes, to
// seeds 1 and 2); the top two of each four advance, a tie at the cut goes
// to a sudden death, and the final four ranks the podium.
func TestFours(t *testing.T) {
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := NewService(st)
	opens := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	cfg := Config{Format: FormatFour, Field: 6, Pool: Pool{Sets: []string{"s"}},
		Qualifier: Qualifier{Opens: opens, Closes: opens.Add(time.Hour), Questions: 5, Minutes: 5, Attempts: 1},
		Rounds:    []time.Time{opens.Add(2 * time.Hour), opens.Add(3 * time.Hour)}, CheckInSeconds: 600}
	if err := svc.Create(ctx, "f", "fours", cfg, opens); err != nil {
		t.Fatal(err)
	}
	p := func(seed int) string { return fmt.Sprintf("s%d", seed) }
	for seed := 1; seed <= 6; seed++ {
		if _, err := svc.RecordAttempt(ctx, "f", p(seed), int64(100-seed), time.Minute, opens.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewFake(opens)
	rec := newRecorder()
	sched := NewScheduler(svc, rec, clk, time.Second, nil, "n")
	step := func(at time.Time, round int) {
		t.Helper()
		clk.Set(at.Add(-time.Minute))
		for seed := 1; seed <= 6; seed++ {
			if err := svc.CheckIn(ctx, "f", round, p(seed), clk.Now()); err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(at)
		if err := sched.process(ctx, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	step(cfg.Rounds[0], 1)
	ms, err := st.Matches(ctx, "f", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{p(1), "", p(4), p(5)}, {p(2), "", p(3), p(6)}}
	if len(ms) != 2 || !slices.Equal(ms[0].Seats, want[0]) || !slices.Equal(ms[1].Seats, want[1]) {
		t.Fatalf("round 1 rooms %+v, want %v", ms, want)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.Report(ctx, "f", 1, 0, []SeatResult{{p(5), 9, time.Minute}, {p(1), 7, time.Minute}, {p(4), 3, time.Minute}}))
	must(svc.Report(ctx, "f", 1, 1, []SeatResult{{p(2), 9, time.Minute}, {p(3), 5, time.Minute}, {p(6), 5, time.Minute}}))
	must(sched.process(ctx, clk.Now()))
	if tied := rec.sudden["f/r1/m1"]; !slices.Equal(tied, []string{p(3), p(6)}) {
		t.Fatalf("sudden death between %v", tied)
	}
	must(svc.ResolveTie(ctx, "f", 1, 1, []string{p(6), p(3)}))
	must(sched.process(ctx, clk.Now()))

	step(cfg.Rounds[1], 2)
	ms, err = st.Matches(ctx, "f", 2)
	must(err)
	if len(ms) != 1 || !slices.Equal(ms[0].Seats, []string{p(5), p(1), p(2), p(6)}) {
		t.Fatalf("final %+v", ms)
	}
	// A tie for second in the final needs no sudden death (only the
	// champion is the cut): the better seed is placed first.
	must(svc.Report(ctx, "f", 2, 0, []SeatResult{{p(2), 4, time.Minute}, {p(1), 4, time.Minute}, {p(5), 1, time.Minute}, {p(6), 8, time.Minute}}))
	must(sched.process(ctx, clk.Now()))
	got, err := svc.Standings(ctx, "f")
	must(err)
	var places []string
	for _, s := range got {
		places = append(places, fmt.Sprintf("%d:%s", s.Place, s.Player))
	}
	if fmt.Sprint(places) != "[1:s6 2:s1 3:s2 4:s5 5:s3 5:s4]" {
		t.Fatalf("standings %v", places)
	}
}
