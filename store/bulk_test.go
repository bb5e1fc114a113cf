package store

import (
	"context"
	"database/sql"
	"strings"
)

// BulkInsert writes rows into table in one transaction, many rows per
// statement, for benchmarks that need millions of rows fast. next returns
// the next row, or nil at the end.
func BulkInsert(ctx context.Context, s *SQL, table string, cols []string, next func() []any) (int, error) {
	const per = 200
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		stmt := func(rows int) (*sql.Stmt, error) {
			if st, ok := stmts[rows]; ok {
				return st, nil
			}
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
			k := 0
			for r := 0; r < rows; r++ {
				if r > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(")
				for c := range cols {
					if c > 0 {
						b.WriteString(", ")
					}
					k++
					b.WriteString(s.d.param(k))
				}
				b.WriteString(")")
			}
			st, err := tx.PrepareContext(ctx, b.String())
			stmts[rows] = st
			return st, err
		}
		args := make([]any, 0, per*len(cols))
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			st, err := stmt(len(args) / len(cols))
			if err != nil {
				return err
			}
			_, err = st.ExecContext(ctx, args...)
			args = args[:0]
			return err
		}
		for row := next(); row != nil; row = next() {
			args = append(args, row...)
			n++
			if len(args) == per*len(cols) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	return n, err
}

// Analyze gathers PostgreSQL's planner statistics.
func Analyze(ctx context.Context, s *SQL) error {
	_, err := s.write.ExecContext(ctx, "ANALYZE")
	return err
}

// Checkpoint copies the WAL back into an SQLite database and truncates it;
// on PostgreSQL it does nothing.
func Checkpoint(ctx context.Context, s *SQL) error {
	if s.Backend() != "sqlite" {
		return nil
	}
	_, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
