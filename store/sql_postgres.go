package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresDialect is PostgreSQL through pgx's database/sql driver.
var postgresDialect = dialect{
	name:  "postgres",
	param: func(n int) string { return "$" + strconv.Itoa(n) },
	isUnique: func(err error) bool {
		return pgCode(err) == "23505"
	},
	isForeignKey: func(err error) bool {
		return pgCode(err) == "23503"
	},
	// Class 22 is a data exception (a value the column cannot hold), class
	// 23 an integrity violation: both are the fault of the rows written,
	// not of the server.
	isData: func(err error) bool {
		c := pgCode(err)
		return strings.HasPrefix(c, "22") || strings.HasPrefix(c, "23")
	},
	// A deadlock or a serialization failure aborts a transaction that
	// would succeed if run again.
	isRetryable: func(err error) bool {
		c := pgCode(err)
		return c == "40P01" || c == "40001"
	},
	journalArrays: `INSERT INTO journal (room, seq, kind, happened_at, data)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])`,
	// Nodes starting together take turns; the key is arbitrary but fixed.
	migrateLock: `SELECT pg_advisory_xact_lock(7146021893)`,
}

// pgCode returns the SQLSTATE carried by err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Pool sizes for PostgreSQL. Writes take turns through the store's gate,
// first come first served, a few at a time: the journal's group commit is
// one of them, so a burst of other writes can delay a batch by at most a
// few transactions. Reads have a pool of their own so they never wait
// behind writes.
const (
	pgWriteConns = 4
	pgReadConns  = 8
	// pgConnIdle closes connections idle this long, so a quiet node does
	// not pin server processes; pgConnLifetime recycles every connection
	// now and then, so a failed-over or restarted server is picked up.
	pgConnIdle     = 5 * time.Minute
	pgConnLifetime = 30 * time.Minute
)

// OpenPostgres connects to the PostgreSQL database at url
// (postgres://user:password@host:port/dbname?sslmode=…, as libpq reads it)
// and brings its schema up to date. Several nodes may share the database
// and start at the same time: migrations take an advisory lock.
//
// Every session runs with synchronous_commit=on whatever the server's
// default, so a commit returns only once its WAL is flushed (and, with
// synchronous replication configured, replicated): an acknowledged answer
// survives the loss of the server process or the machine's power.
//
// The store keeps two pools: pgWriteConns connections for writes and
// pgReadConns for queries, idle ones closed after five minutes and every
// one recycled after thirty.
func OpenPostgres(ctx context.Context, url string) (*SQL, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres url: %w", err)
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["application_name"] = "leitai"
	pool := func(n int) *sql.DB {
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(pgConnIdle)
		db.SetConnMaxLifetime(pgConnLifetime)
		return db
	}
	s := newSQL(pool(pgWriteConns), pool(pgReadConns), postgresDialect, pgWriteConns)
	where := cfg.Host + "/" + cfg.Database
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: postgres %s: %w", where, err)
	}
	if err := s.setUp(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: postgres %s: %w", where, err)
	}
	return s, nil
}

// IsPostgresURL reports whether dsn names a PostgreSQL database rather
// than a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the store named by dsn: a postgres:// or postgresql:// URL
// opens PostgreSQL (OpenPostgres), anything else is taken as the path of a
// SQLite file (OpenSQLite).
func Open(ctx context.Context, dsn string) (*SQL, error) {
	if IsPostgresURL(dsn) {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, dsn)
}
