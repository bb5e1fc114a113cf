package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/store"
)

// TestAwardOnceAcrossRestart pays an award, closes the store as a stopping
// node would, opens the database again and awards the same ref: it is a
// replay and nothing changes. On SQLite and on PostgreSQL.
func TestAwardOnceAcrossRestart(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "leitai.db")
			if backend == "postgres" {
				dsn = pgtest.URL(t)
			}
			ctx := t.Context()
			at := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
			a := store.Award{Ref: "duel:r1:p", Player: "p", Source: store.SourceDuel, Points: 5, Day: "2026-12-04", At: at}
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddOrgs(ctx, []store.Org{{Code: "u", Name: "U", CreatedAt: at}}); err != nil {
				t.Fatal(err)
			}
			if err := s.JoinMember(ctx, store.Member{ID: "m", Name: "p", Unit: "u", CreatedAt: at}, store.Player{ID: "p", Name: "p", CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if out, err := s.Award(ctx, nil, []store.Award{a}); err != nil || out[0].Paid != 5 || out[0].Replay {
				t.Fatalf("first award: %+v %v", out, err)
			}
			s.Close()

			s, err = store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out, err := s.Award(ctx, nil, []store.Award{a})
			if err != nil || !out[0].Replay || out[0].Paid != 5 {
				t.Fatalf("award after restart: %+v %v, want a replay reporting 5", out, err)
			}
			p, _ := s.Player(ctx, "p")
			pts, _ := s.UnitPoints(ctx, "all")
			if p.Points != 5 || len(pts) != 1 || pts[0].Points != 5 || pts[0].Active != 1 {
				t.Fatalf("after the replay: player %d points, unit rollup %+v; want 5 once", p.Points, pts)
			}
		})
	}
}

// TestAwardBatchPreparedAtOpen awards batches of many sizes, so that each
// statement of the batch is cut into full chunks and shorter ones of every
// size, with first awards, capped ones and replays of the batch before,
// and checks each outcome and each player's points, and that no statement
// was prepared inside an award's transaction: every one the batch ran was
// prepared when the store opened. On SQLite and on PostgreSQL.
func TestAwardBatchPreparedAtOpen(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var s *store.SQL
			if backend == "sqlite" {
				s = openSQLite(t)
			} else {
				s = openPostgres(t)
			}
			ctx := t.Context()
			at := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
			const players = 450
			if err := s.AddOrgs(ctx, []store.Org{{Code: "u0", Name: "U0", CreatedAt: at}, {Code: "u1", Name: "U1", CreatedAt: at}}); err != nil {
				t.Fatal(err)
			}
			for i := range players {
				p := store.Player{ID: fmt.Sprint("p", i), Name: "p", CreatedAt: at}
				if err := s.JoinMember(ctx, store.Member{ID: fmt.Sprint("m", i), Name: "p", Unit: fmt.Sprint("u", i%2), CreatedAt: at}, p); err != nil {
					t.Fatal(err)
				}
			}
			caps := store.Caps{store.SourceDuel: 1}
			points := map[string]int64{}  // each player's, as the awards should leave them
			paidRef := map[string]int64{} // what each ref paid
			var last []store.Award
			for k, n := range []int{1, 2, 3, 7, 50, 51, 99, 133, 401, 450} {
				day := fmt.Sprintf("2026-11-%02d", k+1)
				var batch []store.Award
				for i := range n {
					batch = append(batch, store.Award{Ref: fmt.Sprintf("b%d:%d", k, i), Player: fmt.Sprint("p", i),
						Source: store.SourceDuel, Points: int64(i%7 + 1), Day: day, At: at})
				}
				for i := range n / 3 { // a second duel the same day: over the cap
					batch = append(batch, store.Award{Ref: fmt.Sprintf("b%d:%d:again", k, i), Player: fmt.Sprint("p", i),
						Source: store.SourceDuel, Points: 5, Day: day, At: at})
				}
				batch = append(batch, last[:len(last)/2]...) // replays
				out, err := s.Award(ctx, caps, batch)
				if err != nil {
					t.Fatalf("batch of %d: %v", n, err)
				}
				for i, a := range out {
					want, replay := batch[i].Points, false
					switch {
					case i >= n+n/3:
						want, replay = paidRef[a.Ref], true
					case i >= n:
						want = 0
					}
					if a.Ref != batch[i].Ref || a.Paid != want || a.Replay != replay {
						t.Fatalf("batch of %d, award %d: %+v, want paid %d, replay %v", n, i, a, want, replay)
					}
					if !replay {
						paidRef[a.Ref] = a.Paid
						points[a.Player] += a.Paid
					}
				}
				last = batch[:n]
			}
			for i := range players {
				id := fmt.Sprint("p", i)
				if p, err := s.Player(ctx, id); err != nil || p.Points != points[id] {
					t.Fatalf("player %s: %d points (%v), want %d", id, p.Points, err, points[id])
				}
			}
			if n := store.TxPrepares(s); n != 0 {
				t.Fatalf("%d statements prepared inside award transactions, want 0", n)
			}
		})
	}
}

// TestAwardCallsCommitTogether queues Award calls behind a held write
// slot: once it is free, the first call commits alone and the ten that
// queued meanwhile commit in one transaction, each told its own outcome
// (a ref sent by two of them paid once, the cap counted across calls).
func TestAwardCallsCommitTogether(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	if err := s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p"}); err != nil {
		t.Fatal(err)
	}
	caps := store.Caps{store.SourceDuel: 5}
	release := store.HoldWrites(s)
	type result struct {
		out []store.Award
		err error
	}
	results := make([]chan result, 11)
	call := func(i int, ref string) {
		results[i] = make(chan result, 1)
		go func() {
			out, err := s.Award(ctx, caps, []store.Award{{Ref: ref, Player: "p", Source: store.SourceDuel, Points: 1, Day: "2026-12-04"}})
			results[i] <- result{out, err}
		}()
	}
	waitQueued := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for store.QueuedAwardCalls(s) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d calls queued, want %d", store.QueuedAwardCalls(s), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	call(0, "first") // leads, and waits for the write slot
	for deadline := time.Now().Add(10 * time.Second); !store.AwardGroupRunning(s); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first call never started")
		}
	}
	waitQueued(0)
	for i := 1; i <= 10; i++ {
		ref := "r" + string(rune('0'+i%10))
		if i == 10 {
			ref = "r1" // the same ref as call 1: a replay
		}
		call(i, ref)
		waitQueued(i)
	}
	release()
	paid := int64(0)
	for i, ch := range results {
		r := <-ch
		if r.err != nil {
			t.Fatalf("call %d: %v", i, r.err)
		}
		paid += r.out[0].Paid
		if want := i == 10; r.out[0].Replay != want {
			t.Fatalf("call %d: replay %v, want %v", i, r.out[0].Replay, want)
		}
	}
	// Five duels a day: first, r1, r2, r3, r4 are paid; r5…r9 capped; the
	// replay of r1 reports r1's 1.
	if paid != 6 {
		t.Fatalf("paid %d in all, want 6", paid)
	}
	if n := store.GroupedAwardTxs(s); n != 1 {
		t.Fatalf("%d grouped transactions, want 1 (the ten queued calls)", n)
	}
	p, _ := s.Player(ctx, "p")
	if p.Points != 5 {
		t.Fatalf("player has %d points, want 5", p.Points)
	}
}

// TestAwardGroupFailsThenEachAlone queues calls behind a held write slot so
// that they commit as one group, and makes the group fail: one call names
// a player who does not exist. Nothing of the group stays; each call is
// written again on its own, in order, and pays exactly once: the unknown
// player's call fails alone, a ref sent twice is a replay the second
// time, and the day's cap counts the calls before it, not the failed
// group's attempt.
func TestAwardGroupFailsThenEachAlone(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	if err := s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p"}); err != nil {
		t.Fatal(err)
	}
	caps := store.Caps{store.SourceDuel: 2}
	type result struct {
		out []store.Award
		err error
	}
	var results []chan result
	call := func(ref, player string) {
		ch := make(chan result, 1)
		results = append(results, ch)
		go func() {
			out, err := s.Award(ctx, caps, []store.Award{{Ref: ref, Player: player, Source: store.SourceDuel, Points: 3, Day: "2026-12-04"}})
			ch <- result{out, err}
		}()
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 10 s for %s", what)
			}
		}
	}
	release := store.HoldWrites(s)
	call("first", "p") // leads, alone, once the slot is free
	waitFor("the first call to lead", func() bool { return store.AwardGroupRunning(s) })
	refs := []struct{ ref, player string }{{"a", "p"}, {"g", "ghost"}, {"a", "p"}, {"b", "p"}, {"c", "p"}}
	for i, r := range refs {
		call(r.ref, r.player)
		waitFor(fmt.Sprintf("%d queued calls", i+1), func() bool { return store.QueuedAwardCalls(s) == i+1 })
	}
	release()
	want := []struct {
		paid   int64
		replay bool
		err    error
	}{
		{3, false, nil},               // first: the day's first duel
		{3, false, nil},               // a: the second
		{0, false, store.ErrNotFound}, // ghost: fails alone
		{3, true, nil},                // a again: a replay of a
		{0, false, nil},               // b: the third duel, capped
		{0, false, nil},               // c: capped
	}
	for i, ch := range results {
		r := <-ch
		w := want[i]
		if w.err != nil {
			if !errors.Is(r.err, w.err) {
				t.Fatalf("call %d: error %v, want %v", i, r.err, w.err)
			}
			continue
		}
		if r.err != nil {
			t.Fatalf("call %d: %v", i, r.err)
		}
		if r.out[0].Paid != w.paid || r.out[0].Replay != w.replay {
			t.Fatalf("call %d: %+v, want paid %d replay %v", i, r.out[0], w.paid, w.replay)
		}
	}
	if n := store.GroupedAwardTxs(s); n != 1 {
		t.Fatalf("%d grouped transactions tried, want 1", n)
	}
	p, err := s.Player(ctx, "p")
	if err != nil || p.Points != 6 {
		t.Fatalf("player has %d points (%v), want 6: first and a, once each", p.Points, err)
	}
	led, err := s.Ledger(ctx, "p", 10)
	if err != nil || len(led) != 4 {
		t.Fatalf("ledger %+v (%v), want first, a, b and c once each", led, err)
	}
}

// TestBackgroundCheckpoint: the SQLite writer leaves its WAL to the
// background checkpointer (its own checkpoint waits for 65,536 pages), and
// the checkpointer copies what commits wrote into the database file soon
// after, without another write to prompt it.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "leitai.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := store.WriterPragma(ctx, s, "wal_autocheckpoint"); err != nil || v != "65536" {
		t.Fatalf("writer wal_autocheckpoint %q %v, want the 65536-page backstop", v, err)
	}
	if v, err := store.WriterPragma(ctx, s, "mmap_size"); err != nil || v == "0" {
		t.Fatalf("writer mmap_size %q %v, want the file mapped", v, err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	i := 0
	n, err := store.BulkInsert(ctx, s, "players", []string{"id", "name", "org", "rating", "points", "created_at"}, func() []any {
		if i == 20000 {
			return nil
		}
		i++
		return []any{fmt.Sprintf("p%d", i), strings.Repeat("n", 60), "", 1500.0, int64(0), int64(0)}
	})
	if err != nil || n != 20000 {
		t.Fatal(n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is still %d bytes (%d before the writes): nothing checkpointed", size(), before)
		}
		time.Sleep(20 * time.Millisecond) // real time: the checkpointer runs on a real ticker
	}
}

// TestRollupsWithoutRowidMigration: a database from before migration 0020
// keeps every rollup and day counter row when its tables become WITHOUT
// ROWID, and awards and leaderboards work on them after.
func TestRollupsWithoutRowidMigration(t *testing.T) {
	ctx := t.Context()
	path := oldSQLite(t, 6,
		`INSERT INTO players (id, name, org, rating, points, created_at) VALUES ('a', 'A', 'u1', 1500, 7, 0), ('b', 'B', 'u1', 1500, 3, 0)`,
		`INSERT INTO orgs (code, name, parent, path, expected, join_code, created_at) VALUES ('u1', 'U1', '', 'u1/', 2, '', 0)`,
		`INSERT INTO members (id, name, number, unit, invite, player, registered_at, created_at) VALUES ('m-a', 'A', '1', 'u1', '', 'a', 1, 0), ('m-b', 'B', '2', 'u1', '', 'b', 1, 0)`,
		`INSERT INTO roll_player VALUES ('all', 'a', 7, 2), ('all', 'b', 3, 1), ('w2026-11-30', 'a', 7, 2)`,
		`INSERT INTO roll_member VALUES ('all', 'u1', 'a', 7, 2), ('all', 'u1', 'b', 3, 1)`,
		`INSERT INTO roll_unit VALUES ('all', 'u1', 10, 2)`,
		`INSERT INTO roll_hist VALUES ('all', 7, 1), ('all', 3, 1)`,
		`INSERT INTO ledger_days VALUES ('a', '2026-12-01', 'duel', 2)`,
	)

	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for table, want := range map[string]int{"roll_player": 3, "roll_member": 2, "roll_unit": 1, "roll_hist": 2, "ledger_days": 1} {
		var n int
		if err := store.QueryRow(ctx, s, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
		}
		if err := store.QueryRow(ctx, s, "SELECT rowid FROM "+table).Scan(new(int64)); err == nil {
			t.Errorf("%s still has a rowid", table)
		}
	}
	r, err := s.Rank(ctx, "all", "b")
	if err != nil || r.Points != 3 || r.CityRank != 2 || r.UnitRank != 2 {
		t.Fatalf("rank of b after the migration: %+v %v", r, err)
	}
	out, err := s.Award(ctx, store.Caps{store.SourceDuel: 2}, []store.Award{
		{Ref: "x", Player: "a", Source: store.SourceDuel, Points: 5, Day: "2026-12-01", At: time.Unix(0, 0)},
		{Ref: "y", Player: "b", Source: store.SourceDuel, Points: 5, Day: "2026-12-01", At: time.Unix(0, 0)},
	})
	if err != nil || out[0].Paid != 0 || out[1].Paid != 5 {
		t.Fatalf("awards after the migration (a is at the day's cap): %+v %v", out, err)
	}
	top, err := s.TopPlayers(ctx, "all", "", 0, 10)
	if err != nil || len(top) != 2 || top[0].Player != "b" || top[0].Points != 8 {
		t.Fatalf("all-time board after the migration: %+v %v", top, err)
	}
}

// oldSQLite makes a database at the schema of migration version, runs
// stmts on it with nothing but the driver, and returns its path: what a
// database from before a migration holds.
func oldSQLite(t *testing.T, version int, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	if err := store.CreateOldSQLite(t.Context(), path, version); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range stmts {
		if _, err := raw.ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	return path
}
