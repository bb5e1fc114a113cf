package store

import (
	"context"
	"database/sql"
)

// WriterPragma reads a pragma on the writer connection, for tests that
// check the durability settings really took effect.
func WriterPragma(ctx context.Context, s *SQL, name string) (string, error) {
	var v string
	err := s.write.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// SchemaVersions counts applied migrations.
func SchemaVersions(ctx context.Context, s *SQL) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&n)
	return n, err
}

// WriterSetting reads a PostgreSQL setting on a writer connection.
func WriterSetting(ctx context.Context, s *SQL, name string) (string, error) {
	var v string
	err := s.write.QueryRowContext(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// MigrationCount is how many migrations the binary carries.
func MigrationCount() int {
	ms, err := loadMigrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// HoldWrites takes the write slot until the returned func is called, so a
// test can queue writes behind it.
func HoldWrites(s *SQL) func() {
	s.enter(context.Background())
	return s.leave
}

// QueuedAwardCalls is how many Award calls wait for the next group.
func QueuedAwardCalls(s *SQL) int {
	s.awards.mu.Lock()
	defer s.awards.mu.Unlock()
	return len(s.awards.pending)
}

// GroupedAwardTxs counts transactions that held several Award calls.
func GroupedAwardTxs(s *SQL) int64 { return s.awards.grouped.Load() }

// AwardStats counts the transactions Award's group commit wrote.
type AwardStats struct{ Transactions, Awards int64 }

func AwardGroupStats(s *SQL) AwardStats {
	return AwardStats{s.awards.txs.Load(), s.awards.written.Load()}
}

// AwardGroupRunning tells whether an Award call is leading a group.
func AwardGroupRunning(s *SQL) bool {
	s.awards.mu.Lock()
	defer s.awards.mu.Unlock()
	return s.awards.running
}

// CreateOldSQLite writes a new SQLite database at path with the schema an
// older binary made: the migrations up to version upTo, and their
// schema_version rows.
func CreateOldSQLite(ctx context.Context, path string, upTo int) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	for _, m := range ms {
		if m.version > upTo || (m.only != "" && m.only != "sqlite") {
			continue
		}
		for _, stmt := range m.stmts {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_version VALUES ($1, 0)`, m.version); err != nil {
			return err
		}
	}
	return nil
}

// QueryRow runs a query on the read pool.
func QueryRow(ctx context.Context, s *SQL, query string, args ...any) *sql.Row {
	return s.read.QueryRowContext(ctx, query, args...)
}

// SetReadConns resizes the SQLite read pool, so a test can run reads
// against the smallest pool.
func SetReadConns(s *SQL, n int) {
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
}

// ReadersInUse is how many connections of the read pool are taken.
func ReadersInUse(s *SQL) int { return s.read.Stats().InUse }

// SetReaders tells the store its read pool's size, as OpenSQLite does.
func SetReaders(s *SQL, n int) { s.readers = n }

// QueuedRoomWrites is how many CreateRoom and FinishMatch calls wait for
// the next group; RoomWritesRunning whether a group is being written.
func QueuedRoomWrites(s *SQL) int {
	s.rooms.mu.Lock()
	defer s.rooms.mu.Unlock()
	return len(s.rooms.pending)
}

func RoomWritesRunning(s *SQL) bool {
	s.rooms.mu.Lock()
	defer s.rooms.mu.Unlock()
	return s.rooms.running
}

// RoomWriteTxs counts the transactions the room writes' group wrote.
func RoomWriteTxs(s *SQL) int64 { return s.rooms.txs.Load() }

// WriterTx runs fn in a write transaction on the writer connection and
// commits it.
func WriterTx(ctx context.Context, s *SQL, fn func(tx *sql.Tx) error) error {
	return s.inTx(ctx, fn)
}

// TxPrepares counts the statements prepared inside a transaction, rather
// than once when the store opened.
func TxPrepares(s *SQL) int64 { return s.txPrepares.Load() }

// QueuedWrites is how many writes wait at the write gate: the journal's
// and the others.
func QueuedWrites(s *SQL) (journal, ordinary int) { return s.gate.queued() }

// TxGroupMost bounds the calls of one room writes' transaction.
const TxGroupMost = txGroupMost
