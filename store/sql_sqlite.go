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

	// The writer keeps 64 MiB of pages (SQLite's default is 2 MiB): an
	// award batch updates rollup rows all over tables of millions of rows,
	// and each page it has to read again costs a system call and a decode.
	write, err := sql.Open("sqlite", sqliteDSN(path,
		"foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", "cache_size(-65536)"))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	// query_only guards against a write slipping into the read pool, where
	// it would race the writer for the lock instead of queueing.
	read, err := sql.Open("sqlite", sqliteDSN(path, "query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := newSQL(write, read, sqliteDialect, 1)
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
	return s, nil
}

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
