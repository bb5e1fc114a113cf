package store

import "context"

// Ping reports whether the database answers a trivial query, on the read
// pool so it never waits behind a journal batch: what a node's /readyz
// asks of its store.
func (s *SQL) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}
