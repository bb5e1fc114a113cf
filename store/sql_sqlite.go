package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect is SQLite through modernc.org/sqlite (pure Go, no cgo).
var sqliteDialect = dialect{
	name:  "sqlite",
	param: func(int) string { return "?" },
	isUnique: func(err error) bool {
		code := sqliteCode(err)
		return code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	},
	isForeignKey: func(err error) bool {
		return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	isData: func(err error) bool {
		switch sqliteCode(err) & 0xff { // the primary result code
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
			return true
		}
		return false
	},
}

// sqliteCode returns the extended result code carried by err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// busyTimeoutMS is how long a connection waits for a lock before failing
// with SQLITE_BUSY: long enough to ride out a WAL checkpoint or another
// process (a backup, the CLI) holding the file for a moment.
const busyTimeoutMS = 10000

// OpenSQLite opens (creating it and its directory if needed) the SQLite
// database at path and brings its schema up to date.
//
// Writes go through a single connection, because SQLite has one writer
// anyway and a Go-side queue is fairer than busy-waiting on the file lock;
// its transactions BEGIN IMMEDIATE so they never fail midway on a lock
// upgrade. The file is in WAL mode with synchronous=FULL: every commit is
// fsynced before it returns, so an acknowledged answer survives SIGKILL and
// power loss, and readers (a separate pool) never wait for the writer.
func OpenSQLite(ctx context.Context, path string) (*SQL, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		// An in-memory database would be a different one per connection,
		// and '?' would be read as the start of the DSN's options.
		return nil, fmt.Errorf("store: sqlite path %q: want a file name without '?' or '#'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}

	// A transaction of the writer may dirty 256 MiB of pages before
	// SQLite writes any of them into the WAL ahead of the commit
	// (cache_spill): a large group commit of awards dirties tens of
	// thousands of pages all over the rollup tables, and spilled early
	// many of them would be written again at the commit. Between
	// transactions the writer keeps only 16 MiB of them (cache_size; most
	// pages it reads again come from the mapped file, see below): a
	// larger cache would cost every commit after a page split (see
	// writerCacheKiB). Its statement journals (an upsert of many rows
	// keeps one, to undo just that statement) are kept in memory
	// (temp_store) rather than in a temporary file written with a system
	// call per page.
	// Every connection also maps the file (up to mmapBytes) and reads its
	// pages straight from the kernel's cache, without a read system call
	// and a copy each; the WAL is still read and written the usual way.
	// The writer does not copy the WAL back into the database after its
	// commits (a checkpoint): a goroutine of its own does, on another
	// connection, so a commit never waits for one (see checkpointer). The
	// writer's own checkpoint is only a backstop, should that goroutine
	// fall far behind.
	write, err := sql.Open("sqlite", sqliteDSN(path,
		"foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", "temp_store(MEMORY)", mmapPragma,
		fmt.Sprintf("cache_size(%d)", -writerCacheKiB), fmt.Sprintf("cache_spill(%d)", writerSpillPages),
		fmt.Sprintf("wal_autocheckpoint(%d)", walBackstopPages)))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	// query_only guards against a write slipping into the read pool, where
	// it would race the writer for the lock instead of queueing.
	read, err := sql.Open("sqlite", sqliteDSN(path, "query_only(1)", mmapPragma))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	n := readConns()
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := newSQL(write, read, sqliteDialect, 1)
	s.readers = n
	// The writer connection opens first so that it, not a reader, creates
	// the file and switches it to WAL.
	if err := write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	if err := s.setUp(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	ckpt, err := sql.Open("sqlite", sqliteDSN(path, mmapPragma))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	s.ckpt = newCheckpointer(ckpt, checkpointEvery)
	return s, nil
}

// readConns is the size of the read pool: one connection per P (one per
// core by default). A read on SQLite is CPU work on the caller's goroutine
// from start to end, so more readers than Ps do not finish sooner; they
// only queue for the Ps, and the award writer's goroutine with them, which
// then waits behind every reader in turn. Readers beyond this many wait
// for a connection (parked, taking no P) instead. No read holds one
// connection while it asks for another (TestSQLiteOneReader), so any size
// from 1 up is safe.
func readConns() int { return max(1, runtime.GOMAXPROCS(0)) }

const (
	// writerCacheKiB bounds the writer's page cache between transactions
	// (cache_size, in KiB): 16 MiB, about 4,000 pages.
	//
	// A commit costs SQLite a walk over the whole cache whenever its
	// transaction split a B-tree page and had to put the new siblings in
	// page order: SQLite swaps two of them through page number 262,145 (the
	// page of the 1 GiB lock byte, never used), which leaves the cache
	// believing it may hold a page that far past the end of the file, and
	// the commit, to drop the cached pages past the end, visits every page
	// in the cache (pcache1TruncateUnsafe). Inserts under random keys (room ids, award
	// refs, the rollups) split such pages in a sixth to two thirds of the
	// commits, so with 256 MiB cached (60,000 pages) that walk was 4–6 % of
	// the server's CPU at 2,000 duels, and it grows with the cache, up to
	// the 1 GiB database where page 262,145 is no longer past the end
	// (BenchmarkWriterCommit). The walk still visits every slot of SQLite's
	// table of pages, which grows with the most pages ever held at once (a
	// large transaction's) and never shrinks.
	writerCacheKiB = 16 << 10
	// writerSpillPages is how many pages a writer's transaction may hold
	// (dirty ones included) before SQLite spills dirty pages into the WAL
	// ahead of the commit (cache_spill, in pages): 256 MiB of 4 KiB pages.
	writerSpillPages = 65536

	// checkpointEvery is how often the checkpointer looks at the WAL.
	checkpointEvery = 500 * time.Millisecond
	// walBackstopPages is the WAL size (in 4 KiB pages, 256 MiB) at which
	// a commit checkpoints by itself, as SQLite does at 1,000 pages by
	// default. A group of thousands of awards writes 10,000–20,000 frames.
	walBackstopPages = 65536
)

// checkpointer copies the WAL back into the database file in the
// background (PRAGMA wal_checkpoint(PASSIVE), on a connection of its own):
// it neither waits for nor blocks the writer or the readers, and it copies
// a page written by several commits once. Without it every commit that
// found the WAL over 1,000 pages would do that copy (and its fsync) before
// returning: at full size that is an eighth of an award batch's time.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	wake chan struct{} // a large commit asks for a checkpoint now
	runs atomic.Int64  // checkpoints run, for tests
}

func newCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go func() {
		defer close(c.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.run()
			case <-c.wake:
				c.run()
			}
		}
	}()
	return c
}

// nudge asks for a checkpoint as soon as the goroutine is free, without
// waiting for it. An award group's commit writes thousands of frames at
// once; copying them back while the writer builds its next transaction
// keeps the WAL under the writer's backstop, so its commits do not do that
// copy themselves.
func (c *checkpointer) nudge() {
	select {
	case c.wake <- struct{}{}:
	default: // one is already asked for
	}
}

// run checkpoints once. A failure (the database busy, the disk full) is
// left for the next round or, failing that, for the writer's backstop.
func (c *checkpointer) run() {
	var busy, log, done int64
	if err := c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err == nil {
		c.runs.Add(1)
	}
}

// close stops the goroutine and closes its connection, after a last
// checkpoint.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	c.run()
	return c.db.Close()
}

// mmapBytes is how much of the database file each connection maps: 2 GiB
// (this SQLite build caps it just below). Mapping costs address space, not
// memory: the pages live in the kernel's cache, shared by every connection.
const mmapBytes = 2 << 30

var mmapPragma = fmt.Sprintf("mmap_size(%d)", mmapBytes)

// sqliteDSN builds a modernc.org/sqlite DSN for path with the given
// pragmas, plus a busy timeout and immediate transactions. The driver runs
// the pragmas on every new connection, so they hold for the pool's life.
func sqliteDSN(path string, pragmas ...string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}
