package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leitai/leitai/store"
)

// faultStore fails every AppendJournal call that holds an entry of a room
// in bad, as a database does for a batch with one room's seq taken, and
// keeps the entries of the calls that succeed.
type faultStore struct {
	store.Store
	bad map[string]error

	mu      sync.Mutex
	calls   int
	written []store.JournalEntry
}

func (f *faultStore) AppendJournal(_ context.Context, entries []store.JournalEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, e := range entries {
		if err := f.bad[e.Room]; err != nil {
			return err
		}
	}
	f.written = append(f.written, entries...)
	return nil
}

// submitBatch submits entries for each room, in rounds, before Run starts
// so that they share the first batch, runs the committer, flushes, and
// returns each room's callback errors and what Then and ThenFor got.
func submitBatch(t *testing.T, s store.Store, rooms []string, per int, epoch func(room string) int64) (got map[string][]error, then error, thenFor map[string]error) {
	t.Helper()
	c := store.NewCommitter(s, store.CommitterOptions{})
	got = map[string][]error{}
	thenFor = map[string]error{}
	for i := range per {
		for _, r := range rooms {
			e := store.JournalEntry{Room: r, Seq: int64(i + 1), Kind: "answer", At: time.Now(), Epoch: epoch(r)}
			c.Submit(e, func(err error) { got[r] = append(got[r], err) })
		}
	}
	c.Then(func(err error) { then = err })
	for _, r := range rooms {
		c.ThenFor(r, func(err error) { thenFor[r] = err })
	}
	startCommitter(t, c)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return got, then, thenFor
}

// TestCommitterFailsOnlyTheFaultyRoom gives a batch of many rooms to a
// store that fails any write holding one of two bad rooms: the committer
// writes the others apart, and only the bad rooms' callbacks get an error.
func TestCommitterFailsOnlyTheFaultyRoom(t *testing.T) {
	taken := fmt.Errorf("seq taken: %w", store.ErrExists)
	f := &faultStore{bad: map[string]error{"r3": taken, "r6": taken}}
	var rooms []string
	for i := range 8 {
		rooms = append(rooms, fmt.Sprintf("r%d", i))
	}
	got, then, thenFor := submitBatch(t, f, rooms, 3, func(string) int64 { return 0 })
	for _, r := range rooms {
		if len(got[r]) != 3 {
			t.Fatalf("room %s: %d callbacks, want 3", r, len(got[r]))
		}
		for _, err := range got[r] {
			if bad := f.bad[r] != nil; bad != errors.Is(err, store.ErrExists) {
				t.Errorf("room %s: callback error %v", r, err)
			}
		}
		if bad := f.bad[r] != nil; bad != (thenFor[r] != nil) {
			t.Errorf("room %s: ThenFor got %v", r, thenFor[r])
		}
	}
	if !errors.Is(then, store.ErrExists) {
		t.Errorf("Then after a failed room got %v, want that room's error", then)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var wrote []string
	for _, e := range f.written {
		if !slices.Contains(wrote, e.Room) {
			wrote = append(wrote, e.Room)
		}
	}
	slices.Sort(wrote)
	if want := []string{"r0", "r1", "r2", "r4", "r5", "r7"}; !slices.Equal(wrote, want) {
		t.Fatalf("rooms written %v, want %v", wrote, want)
	}
	if len(f.written) != 6*3 {
		t.Fatalf("%d entries written, want 18", len(f.written))
	}
	// One batch, then halving: far fewer writes than one per room.
	t.Logf("%d AppendJournal calls for 8 rooms, 2 bad", f.calls)
}

// TestCommitterDatabaseFailureFailsAll checks that an error that is not a
// room's fault fails the whole batch at once, without writing room by room
// against a database that is down.
func TestCommitterDatabaseFailureFailsAll(t *testing.T) {
	down := errors.New("connection refused")
	f := &faultStore{bad: map[string]error{"a": down, "b": down, "c": down}}
	got, then, _ := submitBatch(t, f, []string{"a", "b", "c"}, 2, func(string) int64 { return 0 })
	for r, errs := range got {
		for _, err := range errs {
			if !errors.Is(err, down) {
				t.Errorf("room %s: %v, want %v", r, err, down)
			}
		}
	}
	if !errors.Is(then, down) {
		t.Errorf("Then: %v", then)
	}
	if f.calls != 1 {
		t.Fatalf("%d AppendJournal calls for a failed database, want 1", f.calls)
	}
}

// testCommitterStaleRoom runs a batch with a stale room, a room with a
// taken seq and good rooms through a Committer on a real store: the good
// rooms' entries are written and acked, each bad room fails alone.
func testCommitterStaleRoom(t *testing.T, s *store.SQL) {
	ctx := t.Context()
	for _, r := range []string{"good1", "stale", "dup", "good2"} {
		if err := s.CreateRoom(ctx, store.Room{ID: r, Kind: "duel", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FenceRoom(ctx, "stale", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendJournal(ctx, []store.JournalEntry{{Room: "dup", Seq: 2, Kind: "answer", At: time.Now(), Epoch: 1}}); err != nil {
		t.Fatal(err)
	}
	got, _, thenFor := submitBatch(t, s, []string{"good1", "stale", "dup", "good2"}, 3, func(string) int64 { return 1 })
	want := map[string]error{"good1": nil, "good2": nil, "stale": store.ErrStaleEpoch, "dup": store.ErrExists}
	for r, w := range want {
		if len(got[r]) != 3 {
			t.Fatalf("room %s: %d callbacks", r, len(got[r]))
		}
		for _, err := range got[r] {
			if (w == nil) != (err == nil) || (w != nil && !errors.Is(err, w)) {
				t.Errorf("room %s: callback got %v, want %v", r, err, w)
			}
		}
		if (w == nil) != (thenFor[r] == nil) {
			t.Errorf("room %s: ThenFor got %v, want %v", r, thenFor[r], w)
		}
		j, err := s.Journal(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		wantLen := map[string]int{"good1": 3, "good2": 3, "stale": 0, "dup": 1}[r]
		if len(j) != wantLen {
			t.Errorf("room %s: %d entries stored, want %d", r, len(j), wantLen)
		}
	}
}

func TestCommitterStaleRoomSQLite(t *testing.T)   { testCommitterStaleRoom(t, openSQLite(t)) }
func TestCommitterStaleRoomPostgres(t *testing.T) { testCommitterStaleRoom(t, openPostgres(t)) }

// TestCommitterMetrics registers a committer's collector and checks that
// it counts batches, entries and failures under its backend's label.
func TestCommitterMetrics(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	if err := s.CreateRoom(ctx, store.Room{ID: "r", Kind: "duel", CreatedAt: time.Now(), Epoch: 3}); err != nil {
		t.Fatal(err)
	}
	c := store.NewCommitter(s, store.CommitterOptions{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Collector())
	startCommitter(t, c)
	for i := range int64(4) {
		epoch := int64(3)
		if i == 3 {
			epoch = 2 // stale
		}
		c.Submit(store.JournalEntry{Room: "r", Seq: i + 1, Kind: "answer", At: time.Now(), Epoch: epoch}, nil)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b, e := c.Stats()
	for name, want := range map[string]float64{
		"leitai_journal_batches_total":        float64(b),
		"leitai_journal_entries_total":        float64(e),
		"leitai_journal_failed_entries_total": 1,
		"leitai_journal_stale_entries_total":  1,
	} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			found = true
			m := mf.GetMetric()[0]
			if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "backend" || l[0].GetValue() != "sqlite" {
				t.Errorf("%s labels %v", name, l)
			}
			if got := m.GetCounter().GetValue(); got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		if !found {
			t.Errorf("%s not gathered", name)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "leitai_journal_commit_seconds" {
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != b {
				t.Errorf("commit latency histogram has %d samples for %d batches", n, b)
			}
		}
	}
	if b == 0 || e != 4 {
		t.Fatalf("Stats() = %d batches, %d entries", b, e)
	}
}

// BenchmarkAppendFourRooms times one AppendJournal of 8 entries over 4
// rooms on SQLite, fsync included: a small batch paying four epoch fences,
// the case where they weigh the most. cpu-ns/op is the process's CPU per
// call, the checkpointer's included.
func BenchmarkAppendFourRooms(b *testing.B) { benchAppend(b, openSQLite(b), 4, 8, `{"option":"A"}`) }

// BenchmarkAppendStage is one AppendJournal of 15 answers of one room on
// SQLite: the batch a node writes every linger at a 15,000-contestant stage
// event, where the commit's fixed cost is shared by few entries.
func BenchmarkAppendStage(b *testing.B) { benchAppend(b, openSQLite(b), 1, 15, stageAnswer) }

// BenchmarkAppendStagePostgres is BenchmarkAppendStage on the test
// binary's PostgreSQL (no fsync: see internal/pgtest). Its cpu-ns/op is
// this process's share only, the driver's; the server's is not counted.
func BenchmarkAppendStagePostgres(b *testing.B) { benchAppend(b, openPostgres(b), 1, 15, stageAnswer) }

const stageAnswer = `{"player":"p123456","option":"B","ms":2345}`

func benchAppend(b *testing.B, s *store.SQL, rooms, entries int, data string) {
	ctx := context.Background()
	ids := make([]string, rooms)
	// A match room's row holds its config, the questions drawn for it
	// included: about 1.6 KB for a duel of five.
	config := json.RawMessage(`{"kind":"duel","questions":"` + strings.Repeat("q", 1600) + `"}`)
	for r := range ids {
		ids[r] = fmt.Sprint(r)
		if err := s.CreateRoom(ctx, store.Room{ID: ids[r], Kind: "duel", Config: config, CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	batch := make([]store.JournalEntry, entries)
	b.ResetTimer()
	cpu := processCPU()
	for i := range b.N {
		for j := range batch {
			batch[j] = store.JournalEntry{Room: ids[j%rooms], Seq: int64(i*entries + j), Kind: "answer", At: time.Now(), Data: json.RawMessage(data)}
		}
		if err := s.AppendJournal(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
