package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations live beside the code that reads the tables, one file per
// version ("0001_init.sql"), so a binary always carries the schema it
// expects and a fresh node needs no separate setup step.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema step. A file named
// "NNNN_what.sqlite.sql" (or ".postgres.sql") is for that backend only:
// the others record its version without running anything, so versions
// stay one sequence on every backend.
type migration struct {
	version int
	name    string
	only    string // "" for every backend, else the one backend it is for
	stmts   []string
}

// loadMigrations parses the embedded files, in version order. Versions are
// unique; a gap is allowed (branches number their migrations apart), since
// each version is applied by whether the database has it, not by whether
// a later one is there.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name is not NNNN_what.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: bad version %q", base, num)
		}
		text, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		only := ""
		if parts := strings.Split(base, "."); len(parts) == 3 {
			only = parts[1]
			if only != "sqlite" && only != "postgres" {
				return nil, fmt.Errorf("migration %s: unknown backend %q", base, only)
			}
		}
		ms = append(ms, migration{version: v, name: base, only: only, stmts: splitStatements(string(text))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// splitStatements cuts a migration into single statements. Drivers differ on
// whether one Exec may carry several statements (pgx with arguments may not),
// so each is run on its own. Migrations must not put ';' inside literals or
// comments.
func splitStatements(text string) []string {
	var kept []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		kept = append(kept, line)
	}
	var stmts []string
	for _, s := range strings.Split(strings.Join(kept, "\n"), ";") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// migrate brings the schema up to the newest embedded version. Each version
// is applied in its own transaction together with its schema_version row, so
// a crash mid-way leaves the database at a clean earlier version, and
// running it again is a no-op.
func (s *SQL) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	// Under the lock too: two PostgreSQL sessions creating the same table
	// at once can both pass IF NOT EXISTS, and one then fails.
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    BIGINT PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	latest := ms[len(ms)-1].version
	for _, m := range ms {
		if err := s.apply(ctx, m, latest); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// apply runs one migration unless the database already has it. latest is
// the newest version this binary knows, to refuse a database written by a
// newer binary instead of running against a schema it does not understand.
func (s *SQL) apply(ctx context.Context, m migration, latest int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Several nodes may start at once against one PostgreSQL; the lock
		// makes them take turns, and the versions are read under it.
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		var cur, have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return err
		}
		if cur > latest {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", cur, latest)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version WHERE version = $1`, m.version).Scan(&have); err != nil {
			return err
		}
		if have > 0 {
			return nil
		}
		for _, stmt := range m.stmts {
			if m.only != "" && m.only != s.d.name {
				break
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%w\n%s", err, stmt)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)`,
			m.version, time.Now().UnixMilli())
		return err
	})
}

// lockMigrations takes the dialect's migration lock, if it has one, for the
// rest of tx.
func (s *SQL) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.d.migrateLock == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.migrateLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}
