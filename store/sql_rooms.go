package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// CreateRoom stores a room's header; ErrExists if the id is taken. A room
// must exist before its journal is appended to.
func (s *SQL) CreateRoom(ctx context.Context, r Room) error {
	_, err := s.exec(ctx,
		`INSERT INTO rooms (id, kind, config, created_at, finished_at) VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.Kind, jsonArg(r.Config), ms(r.CreatedAt), ms(r.FinishedAt))
	return s.fail(err, "create room %s", r.ID)
}

// journalChunks are the row counts of the prepared journal INSERTs. A
// batch is cut greedily into them (700 = 3×200 + 2×50), so any batch takes
// a few statements, none of them parsed again: one multi-row INSERT costs
// far less than a row each, and parsing a 1000-argument statement would
// cost as much as executing it. 5 × 200 arguments stays far below both
// engines' limits (SQLite 32766, PostgreSQL 65535).
var journalChunks = [...]int{200, 50, 10, 1}

// prepareJournal prepares the journal INSERTs on the write pool. It runs
// after migration, since SQLite checks the table exists when preparing.
func (s *SQL) prepareJournal(ctx context.Context) error {
	for i, n := range journalChunks {
		stmt, err := s.write.PrepareContext(ctx, buildJournalInsert(s.d, n))
		if err != nil {
			return fmt.Errorf("prepare journal insert: %w", err)
		}
		s.journalStmts[i] = stmt
	}
	return nil
}

// buildJournalInsert returns the INSERT of n journal rows in d's placeholders.
func buildJournalInsert(d dialect, n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO journal (room, seq, kind, happened_at, data) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		p := 5*i + 1
		fmt.Fprintf(&b, "(%s, %s, %s, %s, %s)", d.param(p), d.param(p+1), d.param(p+2), d.param(p+3), d.param(p+4))
	}
	return b.String()
}

// AppendJournal writes the entries in one transaction: all of them or, on
// any error, none. A (room, seq) already stored, or repeated inside the
// batch, fails the batch with ErrExists; an entry for a room never created
// fails it with ErrNotFound. The commit is durable when this returns
// (synchronous=FULL on SQLite).
func (s *SQL) AppendJournal(ctx context.Context, entries []JournalEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Sized to the batch: most batches are small, and a buffer for
		// the biggest chunk on every call was most of the allocation
		// of a busy answer window.
		args := make([]any, 0, 5*min(len(entries), journalChunks[0]))
		for rest := entries; len(rest) > 0; {
			i := 0
			for journalChunks[i] > len(rest) {
				i++
			}
			chunk := rest[:journalChunks[i]]
			rest = rest[len(chunk):]
			args = args[:0]
			for _, e := range chunk {
				args = append(args, e.Room, e.Seq, e.Kind, ms(e.At), jsonArg(e.Data))
			}
			if _, err := tx.StmtContext(ctx, s.journalStmts[i]).ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail(err, "append journal (%d entries)", len(entries))
}

// Journal returns the room's entries in seq order, or ErrNotFound if there
// is no such room. A room with no entries yet has an empty journal.
func (s *SQL) Journal(ctx context.Context, room string) ([]JournalEntry, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT seq, kind, happened_at, data FROM journal WHERE room = $1 ORDER BY seq`, room)
	if err != nil {
		return nil, s.fail(err, "journal %s", room)
	}
	defer rows.Close()
	var out []JournalEntry
	for rows.Next() {
		e := JournalEntry{Room: room}
		var at int64
		var data sql.NullString
		if err := rows.Scan(&e.Seq, &e.Kind, &at, &data); err != nil {
			return nil, s.fail(err, "journal %s", room)
		}
		e.At, e.Data = fromMS(at), fromJSON(data)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "journal %s", room)
	}
	if len(out) == 0 {
		// Tell "no room" from "no entries yet"; only paid when empty.
		var one int
		err := s.read.QueryRowContext(ctx, `SELECT 1 FROM rooms WHERE id = $1`, room).Scan(&one)
		if err != nil {
			return nil, s.fail(err, "journal %s", room)
		}
	}
	return out, nil
}

// OpenRooms lists rooms not yet finished, oldest first: the rooms a
// starting node must replay from their journals.
func (s *SQL) OpenRooms(ctx context.Context) ([]Room, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id, kind, config, created_at FROM rooms WHERE finished_at = 0 ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "open rooms")
	}
	defer rows.Close()
	var out []Room
	for rows.Next() {
		var r Room
		var created int64
		var config sql.NullString
		if err := rows.Scan(&r.ID, &r.Kind, &config, &created); err != nil {
			return nil, s.fail(err, "open rooms")
		}
		r.Config, r.CreatedAt = fromJSON(config), fromMS(created)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "open rooms")
	}
	return out, nil
}

// FinishRoom marks the room finished at r.FinishedAt and stores r as its
// result, in one transaction so a room is never finished without a result.
// Finishing again replaces the result. ErrNotFound if there is no such
// room. FinishedAt must be set: a zero time would leave the room open.
func (s *SQL) FinishRoom(ctx context.Context, r Result) error {
	if r.FinishedAt.IsZero() {
		return fmt.Errorf("finish room %s: zero FinishedAt", r.Room)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return finishRoomTx(ctx, tx, r) })
	return s.fail(err, "finish room %s", r.Room)
}

func finishRoomTx(ctx context.Context, tx *sql.Tx, r Result) error {
	err := mustAffect(tx.ExecContext(ctx, `UPDATE rooms SET finished_at = $1 WHERE id = $2`,
		ms(r.FinishedAt), r.Room))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO results (room, kind, finished_at, standings) VALUES ($1, $2, $3, $4)
		ON CONFLICT (room) DO UPDATE SET kind = excluded.kind, finished_at = excluded.finished_at,
			standings = excluded.standings`,
		r.Room, r.Kind, ms(r.FinishedAt), jsonArg(r.Standings))
	return err
}

// Result returns a finished room's result, or ErrNotFound.
func (s *SQL) Result(ctx context.Context, room string) (Result, error) {
	r := Result{Room: room}
	var finished int64
	var standings sql.NullString
	err := s.read.QueryRowContext(ctx,
		`SELECT kind, finished_at, standings FROM results WHERE room = $1`, room).
		Scan(&r.Kind, &finished, &standings)
	if err != nil {
		return Result{}, s.fail(err, "result %s", room)
	}
	r.FinishedAt, r.Standings = fromMS(finished), fromJSON(standings)
	return r, nil
}
