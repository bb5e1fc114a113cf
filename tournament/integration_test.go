package tournament

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// recorder is the room layer in tests: it records every room and sudden
// death asked for, by match key.
type recorder struct {
	mu      sync.Mutex
	started map[string]int
	sudden  map[string][]string
	matches []Match
}

func newRecorder() *recorder {
	return &recorder{started: map[string]int{}, sudden: map[string][]string{}}
}

func (r *recorder) StartMatch(_ context.Context, m Match) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[m.Key()]++
	r.matches = append(r.matches, m)
	return "room-" + m.Key(), nil
}

func (r *recorder) SuddenDeath(_ context.Context, m Match, tied []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sudden[m.Key()] = tied
	return nil
}

// reopener opens the same database again, as a restarted server would.
type reopener func(t *testing.T) store.Tournaments

func TestTournamentSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leitai.db")
	runTournament(t, func(t *testing.T) store.Tournaments {
		s, err := store.OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestTournamentPostgres(t *testing.T) {
	url := pgtest.URL(t)
	runTournament(t, func(t *testing.T) store.Tournaments {
		s, err := store.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// attempt is a member's qualifier attempt as the test scripts it.
type attempt struct {
	score  int64
	total  time.Duration
	finish time.Time
}

// bestOf is the test's own reading of the qualifier rule.
func bestOf(as []attempt) attempt {
	b := as[0]
	for _, a := range as[1:] {
		if a.score > b.score || (a.score == b.score && (a.total < b.total || (a.total == b.total && a.finish.Before(b.finish)))) {
			b = a
		}
	}
	return b
}

// runTournament plays 64 members through a qualifier (up to 3 attempts,
// best counts) into a 60-player duel bracket (4 byes), with a no-show, a
// tie broken by time, a tie broken by a sudden death, and a restart of the
// server (store and scheduler) in the middle of round 2 while round 3
// falls due, to the final. Every advance and the final standings are
// checked against what the test works out itself.
func runTournament(t *testing.T, open reopener) {
	ctx := t.Context()
	st := open(t)
	svc := NewService(st)
	opens := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	closes := opens.Add(48 * time.Hour)
	cfg := Config{
		Format: FormatDuel, Field: 60,
		Pool:           Pool{Sets: []string{"safety-2026"}},
		Qualifier:      Qualifier{Opens: opens, Closes: closes, Questions: 20, Minutes: 10, Attempts: 3},
		CheckInSeconds: 600, GraceSeconds: 120,
	}
	for i := range 6 {
		cfg.Rounds = append(cfg.Rounds, closes.Add(time.Duration(i+1)*time.Hour))
	}
	clk := clock.NewFake(opens.Add(-time.Hour))
	if err := svc.Create(ctx, "city", "城市答题挑战赛", cfg, clk.Now()); err != nil {
		t.Fatal(err)
	}

	// The qualifier: member i makes 1 + i%3 attempts. Scores repeat, so
	// some places are decided by time and some by who finished first.
	scripted := map[string][]attempt{}
	var members []string
	for i := range 64 {
		p := fmt.Sprintf("m%02d", i)
		members = append(members, p)
		for j := range 1 + i%3 {
			a := attempt{
				score:  int64((i*37 + j*11) % 23),
				total:  time.Duration(100+(i*13+j*7)%5) * time.Second,
				finish: opens.Add(time.Duration((i*7)%64)*time.Minute + time.Duration(j)*time.Hour),
			}
			scripted[p] = append(scripted[p], a)
			n, err := svc.RecordAttempt(ctx, "city", p, a.score, a.total, a.finish)
			if err != nil || n != j+1 {
				t.Fatalf("attempt %d of %s: %d, %v", j+1, p, n, err)
			}
		}
	}
	// Refused: a fourth attempt, and one after the window closed.
	if _, err := svc.RecordAttempt(ctx, "city", "m02", 22, time.Second, opens.Add(time.Hour)); !errors.Is(err, ErrBadInput) {
		t.Fatalf("fourth attempt: %v", err)
	}
	if _, err := svc.RecordAttempt(ctx, "city", "m00", 22, time.Second, closes.Add(time.Second)); !errors.Is(err, ErrBadInput) {
		t.Fatalf("late attempt: %v", err)
	}
	seedOf := map[string]int{}
	bySeed := []string{""} // bySeed[s] is the member seeded s
	{
		ps := slices.Clone(members)
		sort.Slice(ps, func(i, j int) bool {
			a, b := bestOf(scripted[ps[i]]), bestOf(scripted[ps[j]])
			if a.score != b.score {
				return a.score > b.score
			}
			if a.total != b.total {
				return a.total < b.total
			}
			return a.finish.Before(b.finish)
		})
		for i, p := range ps[:60] {
			seedOf[p] = i + 1
			bySeed = append(bySeed, p)
		}
	}
	ranked, err := svc.Ranking(ctx, "city")
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= 60; s++ {
		if ranked[s-1].Player != bySeed[s] {
			t.Fatalf("qualifier rank %d: %s, want %s", s, ranked[s-1].Player, bySeed[s])
		}
	}

	// The test's own bracket: slot s of a round of m slots meets slot
	// m+1-s, and the winner holds the lower slot. Byes are empty slots.
	holder := make([]string, 65)
	copy(holder, bySeed)
	noShow := bySeed[5]                                // misses round 1: seed 60 walks over
	timeWinner, timeLoser := bySeed[59], bySeed[6]     // equal score, 59 faster
	suddenWinner, suddenLoser := bySeed[58], bySeed[7] // equal score and time, 58 wins the sudden death
	eliminated := map[string]int{}                     // player -> round lost in
	rec := newRecorder()
	var fired []time.Duration
	newSched := func(svc *Service) *Scheduler {
		s := NewScheduler(svc, rec, clk, time.Second, nil, "node-a")
		s.OnFire = func(r store.TournamentRound, delay time.Duration) { fired = append(fired, delay) }
		return s
	}
	sched := newSched(svc)
	tick := func(at time.Time) {
		t.Helper()
		clk.Set(at)
		if err := sched.process(ctx, clk.Now()); err != nil {
			t.Fatalf("process at %s: %v", at, err)
		}
	}
	// play reports every room of the round that is playing and not yet
	// reported, by the script: the better seed wins unless scripted.
	play := func(round int, only func(i int) bool) {
		t.Helper()
		ms, err := svc.st.Matches(ctx, "city", round)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.State != StatePlaying || m.Room == "" || !only(i) {
				continue
			}
			a, b := m.Seats[0], m.Seats[1]
			res := []SeatResult{{a, 5, 60 * time.Second}, {b, 5, 60 * time.Second}}
			switch {
			case slices.Contains(m.Seats, timeWinner) && slices.Contains(m.Seats, timeLoser):
				for k := range res {
					if res[k].Player == timeWinner {
						res[k].Total = 59 * time.Second
					}
				}
			case slices.Contains(m.Seats, suddenWinner) && slices.Contains(m.Seats, suddenLoser):
			case seedOf[a] < seedOf[b]:
				res[0].Score = 9
			default:
				res[1].Score = 9
			}
			if err := svc.Report(ctx, "city", round, m.Slot, res); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkIn := func(round int) {
		t.Helper()
		for _, p := range bySeed[1:] {
			if eliminated[p] > 0 || (round == 1 && p == noShow) {
				continue
			}
			if err := svc.CheckIn(ctx, "city", round, p, clk.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}

	// verify checks a finished round against the test's own bracket and
	// moves the holders on.
	slots := 64
	verify := func(round int) {
		t.Helper()
		ms, err := st.Matches(ctx, "city", round)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != slots/2 {
			t.Fatalf("round %d has %d matches, want %d", round, len(ms), slots/2)
		}
		next := make([]string, slots/2+1)
		for i := 1; i <= slots/2; i++ {
			a, b := holder[i], holder[slots+1-i]
			pair := []string{a, b}
			var win, by string
			switch {
			case b == "":
				win, by = a, ByBye
			case round == 1 && (a == noShow || b == noShow):
				win, by = a, ByWalkover
				if a == noShow {
					win = b
				}
			case slices.Contains(pair, timeWinner) && slices.Contains(pair, timeLoser):
				win, by = timeWinner, ByTime
			case slices.Contains(pair, suddenWinner) && slices.Contains(pair, suddenLoser):
				win, by = suddenWinner, BySuddenDeath
			default:
				win, by = a, ByScore
				if seedOf[b] < seedOf[a] {
					win = b
				}
			}
			found := false
			for _, m := range ms {
				got := occupied(m.Seats)
				want := occupied(pair)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					continue
				}
				found = true
				o, err := outcomeOf(m)
				if err != nil {
					t.Fatal(err)
				}
				if m.State != StateDecided || !slices.Equal(o.Advance, []string{win}) || o.By != by {
					t.Fatalf("round %d, %v: %s advance %v by %s, want %s by %s", round, pair, m.State, o.Advance, o.By, win, by)
				}
				if started := rec.started[Match{Tournament: "city", Round: round, Slot: m.Slot}.Key()]; started != map[bool]int{true: 0, false: 1}[by == ByBye || by == ByWalkover] {
					t.Fatalf("round %d, %v: room started %d times", round, pair, started)
				}
			}
			if !found {
				t.Fatalf("round %d: no match of %v", round, pair)
			}
			for _, p := range pair {
				if p != "" && p != win {
					eliminated[p] = round
				}
			}
			next[i] = win
		}
		holder, slots = next, slots/2
	}

	for round := 1; round <= 6; round++ {
		at := cfg.Rounds[round-1]
		if round != 3 { // round 3 is fired late by the restarted server
			clk.Set(at.Add(-5 * time.Minute))
			checkIn(round)
			tick(at)
			// The same instant again, and another scheduler at it,
			// fire nothing twice.
			if err := NewScheduler(svc, rec, clk, time.Second, nil, "node-b").process(ctx, clk.Now()); err != nil {
				t.Fatal(err)
			}
			tick(at)
		}
		if round == 2 {
			// Half of round 2 is reported, then the server goes down.
			// Its rooms finish while it is down, and it is back 10
			// minutes after round 3 was due: round 2 finishes and round 3
			// fires on the first tick, its delay recorded.
			play(2, func(i int) bool { return i%2 == 0 })
			sched = nil
			st = open(t)
			svc = NewService(st)
			play(2, func(int) bool { return true })
			clk.Set(cfg.Rounds[2].Add(-5 * time.Minute))
			verify(2)
			checkIn(3)
			sched = newSched(svc)
			before := len(fired)
			tick(cfg.Rounds[2].Add(10 * time.Minute))
			if len(fired) != before+1 || fired[before] != 10*time.Minute {
				t.Fatalf("after the restart fired %v, want round 3 10m late", fired[before:])
			}
			rs, err := st.TournamentRounds(ctx, "city")
			if err != nil {
				t.Fatal(err)
			}
			if rs[1].State != store.RoundFinished || rs[2].FiredAt.Sub(rs[2].StartsAt) != 10*time.Minute {
				t.Fatalf("rounds after restart: %+v", rs[:3])
			}
			continue
		}
		tick(at.Add(time.Duration(cfg.GraceSeconds) * time.Second)) // the no-show forfeits
		play(round, func(int) bool { return true })
		tick(clk.Now()) // a tie asks for its sudden death
		ms, err := st.Matches(ctx, "city", round)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.State == StateSuddenDeath {
				tied := rec.sudden[Match{Tournament: "city", Round: round, Slot: m.Slot}.Key()]
				want := []string{suddenLoser, suddenWinner}
				slices.Sort(want)
				slices.Sort(tied)
				if !slices.Equal(tied, want) {
					t.Fatalf("sudden death between %v, want %v", tied, want)
				}
				if err := svc.ResolveTie(ctx, "city", round, m.Slot, []string{suddenWinner, suddenLoser}); err != nil {
					t.Fatal(err)
				}
			}
		}
		tick(clk.Now()) // the round finishes
		verify(round)
	}
	if len(fired) != 6 {
		t.Fatalf("%d rounds fired, want 6 (%v)", len(fired), fired)
	}
	for key, n := range rec.started {
		if n != 1 {
			t.Errorf("room %s started %d times", key, n)
		}
	}
	if !rec.matches[len(rec.matches)-1].Final {
		t.Error("the final's room was not asked for as the final")
	}

	// Standings: the champion, the runner-up, then each round's losers
	// sharing the place after everyone who went further.
	got, err := svc.Standings(ctx, "city")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 60 {
		t.Fatalf("%d standings, want 60", len(got))
	}
	champion := holder[1]
	for _, sd := range got {
		r, place := eliminated[sd.Player], 1
		switch {
		case sd.Player == champion:
		case r == 6:
			place, r = 2, 0
		default:
			place = 3 // after the champion and the runner-up
			for _, er := range eliminated {
				if er > r && er < 6 {
					place++
				}
			}
		}
		if sd.Place != place || sd.Round != r || sd.Seed != seedOf[sd.Player] {
			t.Errorf("standing of %s (seed %d): place %d round %d, want place %d round %d", sd.Player, seedOf[sd.Player], sd.Place, sd.Round, place, r)
		}
	}
	if got[0].Player != champion {
		t.Errorf("champion %s, want %s", got[0].Player, champion)
	}
}
