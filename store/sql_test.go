package store_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/store/storetest"
)

// openSQLite opens a fresh database file under a new directory (which
// OpenSQLite must create) and closes it when the test ends.
func openSQLite(t testing.TB) *store.SQL {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "data", "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

func TestSQLitePragmas(t *testing.T) {
	s := openSQLite(t)
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"cache_size":   "-16384",
		"cache_spill":  "65536",
		"temp_store":   "2", // MEMORY
	} {
		got, err := store.WriterPragma(t.Context(), s, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
}

// TestSQLiteWriterHoldsLargeTx writes a transaction of 10,000 pages,
// more than the writer keeps between transactions, and checks that SQLite
// wrote none of them into the WAL before the commit (cache_spill above
// cache_size; the WAL's file would have grown), and all of them at it.
func TestSQLiteWriterHoldsLargeTx(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "leitai.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	const pages = 10000 // 40 MiB: over the 16 MiB kept, under the 256 MiB held
	var before, during int64
	err = store.WriterTx(ctx, s, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE big (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)`); err != nil {
			return err
		}
		before = walSize()
		for range pages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO big (pad) VALUES (zeroblob(3000))`); err != nil {
				return err
			}
		}
		during = walSize()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if during != before {
		t.Errorf("the WAL grew from %d to %d bytes inside the transaction: dirty pages were spilled before the commit", before, during)
	}
	// The commit may have started the WAL over from its beginning (when
	// the checkpointer had copied all of it back), so only its size is
	// known: at least the pages written.
	if after := walSize(); after < pages*4096 {
		t.Errorf("the WAL is %d bytes after the commit, want at least the %d written", after, pages*4096)
	}
}

func TestSQLiteRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "a?b.db"} {
		if s, err := store.OpenSQLite(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q) succeeded", p)
		}
	}
}

// TestSQLiteReopen checks that migrations run once and data survives a
// clean close.
func TestSQLiteReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "leitai.db")
	for i := range 3 {
		s, err := store.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := store.SchemaVersions(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if want := store.MigrationCount(); n != want {
			t.Fatalf("open %d: %d schema versions recorded, want %d", i, n, want)
		}
		if i == 0 {
			err = s.CreatePlayer(ctx, store.Player{ID: "p", Name: "p"})
		} else {
			_, err = s.Player(ctx, "p")
		}
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		s.Close()
	}
}

// TestCommitterDurable writes through a Committer from many goroutines,
// shuts down, reopens the file and finds every acknowledged entry.
func TestCommitterDurable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "leitai.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRoom(ctx, store.Room{ID: "r", Kind: "stage", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c := store.NewCommitter(s, store.CommitterOptions{})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx) }()

	const submitters, each = 50, 100
	var wg sync.WaitGroup
	errs := make(chan error, submitters*each)
	for w := range submitters {
		wg.Go(func() {
			var acked sync.WaitGroup
			for i := range each {
				acked.Add(1)
				e := store.JournalEntry{Room: "r", Seq: int64(w*each + i), Kind: "answer", At: time.Now(),
					Data: []byte(`{"option":"A"}`)}
				c.Submit(e, func(err error) { errs <- err; acked.Done() })
			}
			acked.Wait()
		})
	}
	wg.Wait()
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j, err := s.Journal(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != submitters*each {
		t.Fatalf("reopened journal has %d entries, want %d", len(j), submitters*each)
	}
}

// killChildEnv names the database (a SQLite path or a PostgreSQL URL) a
// re-executed test binary writes to until it is killed; see
// TestCommitterSurvivesSIGKILL.
const killChildEnv = "LEITAI_STORE_KILL_CHILD"

// TestCommitterSurvivesSIGKILL runs a writer in a child process, reads the
// seqs it acknowledges, kills it with SIGKILL mid-stream and checks that
// every acknowledged entry is in the file. (Power loss is beyond a test;
// synchronous=FULL, checked in TestSQLitePragmas, is what covers it.)
func TestCommitterSurvivesSIGKILL(t *testing.T) {
	if dsn := os.Getenv(killChildEnv); dsn != "" {
		killChild(dsn)
		return
	}
	survivesSIGKILL(t, filepath.Join(t.TempDir(), "leitai.db"), "^TestCommitterSurvivesSIGKILL$")
}

// TestCommitterSurvivesSIGKILLPostgres is the same on PostgreSQL: an ack
// means the commit returned, which with synchronous_commit=on (checked in
// TestPostgresDurableCommit) means the WAL was flushed.
func TestCommitterSurvivesSIGKILLPostgres(t *testing.T) {
	if dsn := os.Getenv(killChildEnv); dsn != "" {
		killChild(dsn)
		return
	}
	survivesSIGKILL(t, pgtest.URL(t), "^TestCommitterSurvivesSIGKILLPostgres$")
}

// survivesSIGKILL re-runs the test binary (the test named by run) as a
// writer on dsn, kills it and checks the acknowledged entries.
func survivesSIGKILL(t *testing.T, dsn, run string) {
	cmd := exec.Command(os.Args[0], "-test.run="+run)
	cmd.Env = append(os.Environ(), killChildEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]bool{}
	sc := bufio.NewScanner(out)
	for len(acked) < 3000 && sc.Scan() {
		if seq, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			acked[seq] = true
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < 3000 {
		t.Fatalf("child acknowledged only %d entries before exiting", len(acked))
	}

	s, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j, err := s.Journal(t.Context(), "r")
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, e := range j {
		have[e.Seq] = true
	}
	for seq := range acked {
		if !have[seq] {
			t.Fatalf("acknowledged seq %d lost after SIGKILL (%d acked, %d stored)", seq, len(acked), len(j))
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(j))
}

// killChild writes entries forever from many goroutines, printing each seq
// once it is acknowledged, until the parent kills the process.
func killChild(dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := s.CreateRoom(ctx, store.Room{ID: "r", Kind: "stage", CreatedAt: time.Now()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c := store.NewCommitter(s, store.CommitterOptions{})
	go c.Run(ctx)
	acks := make(chan int64, 1<<16)
	for w := range int64(64) {
		go func() {
			for i := int64(0); ; i++ {
				done := make(chan error, 1)
				seq := i*64 + w
				c.Submit(store.JournalEntry{Room: "r", Seq: seq, Kind: "answer", At: time.Now()},
					func(err error) { done <- err })
				if err := <-done; err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				acks <- seq
			}
		}()
	}
	w := bufio.NewWriter(os.Stdout)
	for seq := range acks {
		fmt.Fprintln(w, seq)
		if len(acks) == 0 {
			w.Flush()
		}
	}
}
