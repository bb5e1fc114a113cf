package store_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/org"
	"github.com/leitai/leitai/store"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchDays are the 28 days the loaded ledger spans: four weeks from
// Monday 9 November 2026, across the month's end.
var benchStart = time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)

type benchAward struct {
	day    int // index from benchStart
	source string
	points int64
}

// memberAwards are member i's awards, the same on every call.
func memberAwards(i, perMember, extra int) []benchAward {
	r := rand.New(rand.NewPCG(42, uint64(i)))
	n := perMember
	if i < extra {
		n++
	}
	out := make([]benchAward, n)
	for k := range out {
		out[k] = benchAward{day: r.IntN(28), source: store.Sources[r.IntN(4)], points: 1 + r.Int64N(10)}
	}
	return out
}

func dayOf(d int) string { return benchStart.AddDate(0, 0, d).Format(time.DateOnly) }

// BenchmarkLedger loads a ledger of LEITAI_BENCH_AWARDS awards (default
// 2,000,000) over LEITAI_BENCH_MEMBERS members (500,000) in
// LEITAI_BENCH_UNITS units (3,000) under 30 districts, with its rollups,
// then measures the leaderboard reads alone and again while awards are
// offered at LEITAI_BENCH_RATE per second (2,000) for LEITAI_BENCH_SECONDS
// (20), once beside a paced read load and once beside readers flat out
// (LEITAI_BENCH_READS=paced, flat or both, the default).
// LEITAI_BENCH_DB=postgres runs it on the test PostgreSQL. Run it once:
//
//	go test -run '^$' -bench Ledger -benchtime 1x -timeout 30m ./store
func BenchmarkLedger(b *testing.B) {
	ctx := context.Background()
	members := envInt("LEITAI_BENCH_MEMBERS", 500_000)
	units := envInt("LEITAI_BENCH_UNITS", 3_000)
	awards := envInt("LEITAI_BENCH_AWARDS", 2_000_000)
	rate := envInt("LEITAI_BENCH_RATE", 2_000)
	// LEITAI_BENCH_ROOM is the awards of one finished room, paid by one
	// Store.Award call (2: a duel pays both players).
	roomSize := envInt("LEITAI_BENCH_ROOM", 2)
	seconds := envInt("LEITAI_BENCH_SECONDS", 20)
	const districts = 30
	var s *store.SQL
	var err error
	// LEITAI_BENCH_KEEP=dir keeps the loaded SQLite database in dir (one
	// file per size) and starts later runs from a copy of it, so a run
	// measures without loading again.
	keep := os.Getenv("LEITAI_BENCH_KEEP")
	kept, path := "", ""
	loaded := false
	if os.Getenv("LEITAI_BENCH_DB") == "postgres" {
		s, err = store.Open(ctx, pgtest.URL(b))
	} else {
		path = filepath.Join(b.TempDir(), "bench.db")
		if keep != "" {
			// The schema's version is in the name: a database loaded under an
			// older schema is loaded again rather than migrated.
			kept = filepath.Join(keep, fmt.Sprintf("ledger-%d-%d-%d-m%d.db", members, units, awards, store.MigrationCount()))
			if _, err := os.Stat(kept); err == nil {
				t := time.Now()
				if err := copyFile(kept, path); err != nil {
					b.Fatal(err)
				}
				loaded = true
				logf("copied the loaded database %s in %v", kept, time.Since(t).Round(time.Millisecond))
			}
		}
		s, err = store.OpenSQLite(ctx, path)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	logf("backend %s: %d awards over %d members in %d units", s.Backend(), awards, members, units)
	if !loaded {
		loadLedger(ctx, b, s, members, units, awards, districts)
		if kept != "" {
			t := time.Now()
			if err := os.MkdirAll(keep, 0o750); err != nil {
				b.Fatal(err)
			}
			// The load ended with a checkpoint that emptied the WAL, so
			// the database file alone is the whole database.
			if err := copyFile(path, kept+".part"); err != nil {
				b.Fatal(err)
			}
			if err := os.Rename(kept+".part", kept); err != nil {
				b.Fatal(err)
			}
			logf("kept the loaded database as %s (%v)", kept, time.Since(t).Round(time.Millisecond))
		}
	}
	runLedgerReads(ctx, b, s, members, units, rate, roomSize, seconds, districts)
}

// copyFile copies the file at from to a new file at to.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// loadLedger fills a fresh store with the benchmark's tree, members,
// ledger and rollups, in one transaction per table.
func loadLedger(ctx context.Context, b *testing.B, s *store.SQL, members, units, awards, districts int) {
	start := time.Now()
	unitOf := func(i int) string { return fmt.Sprintf("u%04d", i%units) }
	perUnit := make([]int64, units)
	for i := range members {
		perUnit[i%units]++
	}
	var orgRows [][]any
	orgRows = append(orgRows, []any{"city", "City", "", "city/", int64(0), "", int64(0), int64(0), int64(0)})
	for d := range districts {
		c := fmt.Sprintf("d%02d", d)
		orgRows = append(orgRows, []any{c, "District " + c, "city", "city/" + c + "/", int64(0), "", int64(0), int64(0), int64(0)})
	}
	for u := range units {
		c, d := fmt.Sprintf("u%04d", u), fmt.Sprintf("d%02d", u%districts)
		orgRows = append(orgRows, []any{c, "Unit " + c, d, "city/" + d + "/" + c + "/", perUnit[u] + 10, "", perUnit[u], perUnit[u], int64(0)})
	}
	load := func(table string, cols []string, next func() []any) {
		t := time.Now()
		n, err := store.BulkInsert(ctx, s, table, cols, next)
		if err != nil {
			b.Fatalf("load %s: %v", table, err)
		}
		logf("loaded %d rows into %s in %v", n, table, time.Since(t).Round(time.Millisecond))
	}
	k := 0
	load("orgs", []string{"code", "name", "parent", "path", "expected", "join_code", "members", "registered", "created_at"}, func() []any {
		if k == len(orgRows) {
			return nil
		}
		k++
		return orgRows[k-1]
	})
	per, extra := awards/members, awards%members
	i := 0
	load("players", []string{"id", "name", "org", "rating", "points", "created_at"}, func() []any {
		if i == members {
			return nil
		}
		var sum int64
		for _, a := range memberAwards(i, per, extra) {
			sum += a.points
		}
		i++
		return []any{fmt.Sprintf("p%d", i-1), fmt.Sprintf("Member %d", i-1), unitOf(i - 1), 1500.0, sum, int64(0)}
	})
	i = 0
	load("members", []string{"id", "name", "number", "unit", "invite", "player", "registered_at", "created_at"}, func() []any {
		if i == members {
			return nil
		}
		i++
		id := strconv.Itoa(i - 1)
		return []any{"m" + id, "Member " + id, "n" + id, unitOf(i - 1), "", "p" + id, int64(1), int64(0)}
	})
	i = 0
	var queue []benchAward
	load("ledger", []string{"ref", "player", "unit", "source", "points", "asked", "day", "awarded_at"}, func() []any {
		for len(queue) == 0 {
			if i == members {
				return nil
			}
			queue = memberAwards(i, per, extra)
			i++
		}
		a := queue[0]
		queue = queue[1:]
		id := strconv.Itoa(i - 1)
		ref := fmt.Sprintf("%s:bench%d:p%s", a.source, len(queue), id)
		return []any{ref, "p" + id, unitOf(i - 1), a.source, a.points, a.points, dayOf(a.day), benchStart.AddDate(0, 0, a.day).UnixMilli()}
	})
	// Rollups: each member's sums per period, worked out member by member.
	type pk struct {
		period, unit string
	}
	unitRoll := map[pk]*store.UnitPoints{}
	type histKey struct {
		period string
		points int64
	}
	hist := map[histKey]int64{}
	rollsOf := func(i int) ([]string, []int64, []int64) {
		sums := map[string][2]int64{}
		for _, a := range memberAwards(i, per, extra) {
			day := dayOf(a.day)
			for _, kind := range []string{store.PeriodDay, store.PeriodWeek, store.PeriodMonth, store.PeriodAll} {
				key, _ := store.PeriodKey(kind, day)
				v := sums[key]
				sums[key] = [2]int64{v[0] + a.points, v[1] + 1}
			}
		}
		keys := make([]string, 0, len(sums))
		for key := range sums {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		pts, cnt := make([]int64, len(keys)), make([]int64, len(keys))
		for j, key := range keys {
			pts[j], cnt[j] = sums[key][0], sums[key][1]
		}
		return keys, pts, cnt
	}
	for _, table := range []string{"roll_player", "roll_member"} {
		i = 0
		var keys []string
		var pts, cnt []int64
		cols := []string{"period", "player", "points", "awards"}
		if table == "roll_member" {
			cols = []string{"period", "unit", "player", "points", "awards"}
		}
		load(table, cols, func() []any {
			for len(keys) == 0 {
				if i == members {
					return nil
				}
				keys, pts, cnt = rollsOf(i)
				i++
			}
			key, p, c := keys[0], pts[0], cnt[0]
			keys, pts, cnt = keys[1:], pts[1:], cnt[1:]
			id := "p" + strconv.Itoa(i-1)
			if table == "roll_player" {
				hist[histKey{key, p}]++
				return []any{key, id, p, c}
			}
			u := unitOf(i - 1)
			r := unitRoll[pk{key, u}]
			if r == nil {
				r = &store.UnitPoints{Unit: u}
				unitRoll[pk{key, u}] = r
			}
			r.Points += p
			r.Active++
			return []any{key, u, id, p, c}
		})
	}
	var ur []pk
	for key := range unitRoll {
		ur = append(ur, key)
	}
	var hk []histKey
	for key := range hist {
		hk = append(hk, key)
	}
	load("roll_hist", []string{"period", "points", "members"}, func() []any {
		if len(hk) == 0 {
			return nil
		}
		key := hk[0]
		hk = hk[1:]
		return []any{key.period, key.points, hist[key]}
	})
	load("roll_unit", []string{"period", "unit", "points", "active"}, func() []any {
		if len(ur) == 0 {
			return nil
		}
		key := ur[0]
		ur = ur[1:]
		r := unitRoll[key]
		return []any{key.period, key.unit, r.Points, r.Active}
	})
	if s.Backend() == "postgres" {
		// Autovacuum would gather the planner's statistics in time; a
		// benchmark straight after a bulk load asks for them.
		if err := store.Analyze(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	// The load leaves every page it wrote in the WAL; copy them back now,
	// or the first commits measured would.
	if err := store.Checkpoint(ctx, s); err != nil {
		b.Fatal(err)
	}
	logf("load: %v", time.Since(start).Round(time.Millisecond))
}

// runLedgerReads measures the reads alone, then again while awards arrive
// at rate per second for seconds.
func runLedgerReads(ctx context.Context, b *testing.B, s *store.SQL, members, units, rate, roomSize, seconds, districts int) {

	week, _ := store.PeriodKey(store.PeriodWeek, "2026-11-30")
	lastWeek, _ := store.PeriodKey(store.PeriodWeek, "2026-11-23")
	// The reads run on several goroutines at once in the paced phase.
	r := lockedRand{r: rand.New(rand.NewPCG(7, 7))}
	// The units board is served as GET /api/v1/leaderboard/units serves
	// it: read from the database at most once per web.BoardFresh (2 s).
	// LEITAI_BENCH_BOARD_FRESH_MS=1 reads it every time.
	boards := store.NewBoardCache(s, clock.Real{}, time.Duration(envInt("LEITAI_BENCH_BOARD_FRESH_MS", 2000))*time.Millisecond)
	// The paced load stands for a city of 500,000 members at the peak of
	// 2,000 awards a second (docs/benchmarks.md says why these rates):
	// 6,000 "me" cards open (each refreshes every 30 s), 30 lobby screens
	// (a players page and the units board every 3 s each) and organizers'
	// pages (a unit's players, a district's players, the weekly ranking).
	reads := []benchRead{
		{"city board page (50, offset < 5000)", 10, func() error {
			_, err := s.TopPlayers(ctx, week, "", 50*r.IntN(100), 50)
			return err
		}},
		{"units board (3,000 units)", 10, func() error {
			_, _, err := boards.Units(ctx, "city", week)
			return err
		}},
		{"unit board page (50)", 5, func() error {
			_, err := s.TopPlayers(ctx, week, fmt.Sprintf("u%04d", r.IntN(units)), 0, 50)
			return err
		}},
		{"district board page (50)", 2, func() error {
			_, err := s.TopPlayers(ctx, week, fmt.Sprintf("d%02d", r.IntN(districts)), 0, 50)
			return err
		}},
		{"member rank in unit and city", 200, func() error {
			_, err := s.Rank(ctx, week, fmt.Sprintf("p%d", r.IntN(members)))
			return err
		}},
	}
	weekly := func() error {
		_, err := buildWeekly(ctx, s, "city", week, lastWeek)
		return err
	}
	measure := func(phase string, until func(n int) bool) {
		for _, rd := range reads {
			var lat []time.Duration
			for n := 0; until(n); n++ {
				t := time.Now()
				if err := rd.fn(); err != nil {
					b.Fatalf("%s: %v", rd.name, err)
				}
				lat = append(lat, time.Since(t))
			}
			report(b, phase, rd.name, lat)
		}
		var lat []time.Duration
		for n := 0; n < 5; n++ {
			t := time.Now()
			if err := weekly(); err != nil {
				b.Fatalf("weekly: %v", err)
			}
			lat = append(lat, time.Since(t))
		}
		report(b, phase, "weekly ranking of all units", lat)
	}
	measure("reads alone", func(n int) bool { return n < 500 })

	mode := os.Getenv("LEITAI_BENCH_READS")
	if mode == "" {
		mode = "both"
	}
	// LEITAI_BENCH_REPEAT runs the awarding phases that many times on the
	// one loaded database (a PostgreSQL run cannot keep its load).
	for range envInt("LEITAI_BENCH_REPEAT", 1) {
		awardPhases(ctx, b, s, mode, members, rate, roomSize, seconds, reads, weekly)
	}
}

// awardPhases offers awards beside the paced reads, then beside readers
// flat out (or one of them, as mode says).
func awardPhases(ctx context.Context, b *testing.B, s *store.SQL, mode string, members, rate, roomSize, seconds int, reads []benchRead, weekly func() error) {
	if mode == "paced" || mode == "both" {
		awardWhile(ctx, b, s, "paced reads", members, rate, roomSize, seconds, func(deadline time.Time, done func() bool) {
			pacedReads(ctx, b, s, reads, weekly, deadline, done)
		})
	}
	if mode == "flat" || mode == "both" {
		awardWhile(ctx, b, s, "flat-out reads", members, rate, roomSize, seconds, func(deadline time.Time, done func() bool) {
			perRead := time.Until(deadline) / time.Duration(len(reads)+1)
			for _, rd := range reads {
				var lat []time.Duration
				end := time.Now().Add(perRead)
				for time.Now().Before(end) {
					t := time.Now()
					if err := rd.fn(); err != nil {
						b.Fatalf("%s: %v", rd.name, err)
					}
					lat = append(lat, time.Since(t))
				}
				report(b, "flat out", rd.name, lat)
			}
			var lat []time.Duration
			for time.Now().Before(deadline) || !done() {
				t := time.Now()
				if err := weekly(); err != nil {
					b.Fatalf("weekly: %v", err)
				}
				lat = append(lat, time.Since(t))
			}
			report(b, "flat out", "weekly ranking of all units", lat)
		})
	}
}

// benchRead is one kind of read of the leaderboards, and how often the
// paced load asks for it.
type benchRead struct {
	name   string
	perSec float64
	fn     func() error
}

// pacedReads runs each read at its rate until deadline and until done,
// each kind on a goroutine of its own. A read's latency is counted from when it fell
// due, so a read that waits behind a slow one shows it.
func pacedReads(ctx context.Context, b *testing.B, s *store.SQL, reads []benchRead, weekly func() error, deadline time.Time, done func() bool) {
	all := append(slices.Clone(reads), benchRead{"weekly ranking of all units", 0.2, weekly})
	var wg sync.WaitGroup
	lats := make([][]time.Duration, len(all))
	for k, rd := range all {
		wg.Go(func() {
			every := time.Duration(float64(time.Second) / rd.perSec)
			due := time.Now()
			for due.Before(deadline) || !done() {
				time.Sleep(time.Until(due))
				if err := rd.fn(); err != nil {
					b.Errorf("%s: %v", rd.name, err)
					return
				}
				lats[k] = append(lats[k], time.Since(due))
				due = due.Add(every)
			}
		})
	}
	wg.Wait()
	for k, rd := range all {
		report(b, "paced", fmt.Sprintf("%s (%g/s)", rd.name, rd.perSec), lats[k])
	}
}

// awardWhile offers awards as the product does while reads runs: rooms
// finish at rate/roomSize a second, evenly spaced, and each finished room
// pays its roomSize players with one Store.Award call of its own, made
// when the room finishes whether or not earlier calls have returned (an
// open loop: the store's group commit gathers the calls that queue behind
// a commit into the next transaction). It reports the rate the store
// achieved and each call's latency from when its room finished to when
// its awards were committed. Offering stops at the deadline; the reads go
// on until the calls still queued have been answered, and those count in
// the achieved rate (awards over the time until the last was committed).
func awardWhile(ctx context.Context, b *testing.B, s *store.SQL, phase string, members, rate, roomSize, seconds int, reads func(deadline time.Time, done func() bool)) {
	caps := store.Caps{store.SourceDuel: 2, store.SourceFour: 2, store.SourceTeam: 2}
	rooms := float64(rate) / float64(roomSize)
	start := time.Now()
	deadline := start.Add(time.Duration(seconds) * time.Second)
	var mu sync.Mutex
	var lat []time.Duration
	var paid atomic.Int64
	var calls sync.WaitGroup
	var offered atomic.Int64
	var gen sync.WaitGroup
	gen.Go(func() {
		wr := rand.New(rand.NewPCG(9, uint64(start.UnixNano())))
		for room := 0; ; room++ {
			due := start.Add(time.Duration(float64(room) / rooms * float64(time.Second)))
			if !due.Before(deadline) {
				return
			}
			time.Sleep(time.Until(due))
			offered.Add(int64(roomSize))
			batch := make([]store.Award, roomSize)
			ref := fmt.Sprintf("live:%d:%d", start.UnixNano(), room)
			for j := range batch {
				p := fmt.Sprintf("p%d", wr.IntN(members))
				batch[j] = store.Award{Ref: ref + ":" + strconv.Itoa(j), Player: p, Source: store.SourceDuel, Points: 5, Day: "2026-12-04", At: due}
			}
			calls.Go(func() {
				if _, err := s.Award(ctx, caps, batch); err != nil {
					b.Errorf("award: %v", err)
					return
				}
				l := time.Since(due)
				paid.Add(int64(len(batch)))
				mu.Lock()
				lat = append(lat, l)
				mu.Unlock()
			})
		}
	})
	var stats struct{ before store.AwardStats }
	stats.before = store.AwardGroupStats(s)
	// LEITAI_BENCH_CPUPROFILE=file profiles the process while awards
	// and reads run together.
	if f := os.Getenv("LEITAI_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f + "." + strings.Fields(phase)[0])
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			b.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			out.Close()
		}()
	}
	cpu0 := processCPU()
	var atDeadline atomic.Int64
	var last atomic.Int64 // when the last call was answered, ns after start
	allDone := make(chan struct{})
	go func() {
		time.Sleep(time.Until(deadline))
		atDeadline.Store(paid.Load())
		gen.Wait()
		calls.Wait()
		last.Store(int64(time.Since(start)))
		close(allDone)
	}()
	reads(deadline, func() bool {
		select {
		case <-allDone:
			return true
		default:
			return false
		}
	})
	<-allDone
	el := time.Duration(last.Load())
	cpu := processCPU() - cpu0 // the reads' last moments after el included
	after := store.AwardGroupStats(s)
	txs := after.Transactions - stats.before.Transactions
	per := 0.0
	if txs > 0 {
		per = float64(after.Awards-stats.before.Awards) / float64(txs)
	}
	logf("%s: awards offered %d at %d/s; committed by the deadline %d (%.0f/s); all %d committed in %v = %.0f/s; %d transactions (%.0f awards each); room latency %s; process CPU %.2f cores",
		phase, offered.Load(), rate, atDeadline.Load(), float64(atDeadline.Load())/float64(seconds), paid.Load(), el.Round(time.Millisecond), float64(paid.Load())/el.Seconds(),
		txs, per, pct(lat), cpu.Seconds()/el.Seconds())
	b.ReportMetric(float64(paid.Load())/el.Seconds(), strings.ReplaceAll(phase, " ", "-")+"-awards/s")
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// buildWeekly is what the weekly ranking endpoint does: the tree with two
// weeks' rollups, each unit's top three.
func buildWeekly(ctx context.Context, s *store.SQL, root, week, last string) (org.Weekly, error) {
	orgs, err := s.Orgs(ctx, root)
	if err != nil {
		return org.Weekly{}, err
	}
	trees := [2]*org.Tree{}
	for i, period := range []string{week, last} {
		pts, err := s.UnitPoints(ctx, period)
		if err != nil {
			return org.Weekly{}, err
		}
		by := map[string]store.UnitPoints{}
		for _, p := range pts {
			by[p.Unit] = p
		}
		nodes := make([]org.Node, len(orgs))
		for j, o := range orgs {
			nodes[j] = org.Node{Code: o.Code, Name: o.Name, Parent: o.Parent, Expected: o.Expected, Members: o.Members, Registered: o.Registered, Points: by[o.Code].Points, Active: by[o.Code].Active}
		}
		trees[i] = org.NewTree(nodes)
	}
	leaves := trees[0].Leaves(root)
	top, err := s.TopMembers(ctx, week, leaves, 3)
	if err != nil {
		return org.Weekly{}, err
	}
	learners := map[string][]org.Learner{}
	for u, list := range top {
		for _, st := range list {
			learners[u] = append(learners[u], org.Learner{Player: st.Player, Name: st.Name, Points: st.Points})
		}
	}
	return org.BuildWeekly(trees[0], trees[1], root, week[1:], org.DefaultTarget, learners), nil
}

// lockedRand is a random source several goroutines share.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

func pct(lat []time.Duration) string {
	if len(lat) == 0 {
		return "no samples"
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return fmt.Sprintf("n=%d p50 %v p99 %v max %v", len(lat), at(0.5).Round(10*time.Microsecond), at(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}

func report(b *testing.B, phase, name string, lat []time.Duration) {
	logf("%-12s %-38s %s", phase, name, pct(lat))
}

// logf prints as it goes: a long benchmark's progress should be visible.
func logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
