package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CreateRoom stores a room's header; ErrExists if the id is taken. A room
// must exist before its journal is appended to.
func (s *SQL) CreateRoom(ctx context.Context, r Room) error {
	// In one transaction with the other rooms' headers and ends written
	// meanwhile (a tick of the matchmaker opens many rooms at once).
	_, err := s.rooms.do(ctx, s, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.txStmt(ctx, tx, qCreateRoom).ExecContext(ctx,
			r.ID, r.Kind, jsonArg(r.Config), ms(r.CreatedAt), ms(r.FinishedAt), r.Epoch)
		return err
	}, nil, nil)
	return s.fail(err, "create room %s", r.ID)
}

const qCreateRoom = `INSERT INTO rooms (id, kind, config, created_at, finished_at, epoch) VALUES ($1, $2, $3, $4, $5, $6)`

// journalChunks are the row counts of the prepared journal INSERTs, the
// powers of two up to 256. A batch is cut greedily into them, one
// statement per bit of its size (700 = 2×256 + 128 + 32 + 16 + 8 + 4), none
// of them parsed again: one multi-row INSERT costs far less than a row
// each, and parsing a 1000-argument statement would cost as much as
// executing it. Every statement is a round trip on PostgreSQL, so a
// stage event's batch of a few dozen answers takes two to four of them
// rather than up to ten with coarser sizes. 5 × 256 arguments stays far
// below both engines' limits (SQLite 32766, PostgreSQL 65535).
var journalChunks = [...]int{256, 128, 64, 32, 16, 8, 4, 2, 1}

// fenceQuery raises a room's epoch unless it is already higher. It matches
// no row when the room has seen a higher epoch or does not exist, and
// otherwise (on PostgreSQL) holds the room's row lock to the end of the
// transaction, so a new owner's FenceRoom waits for an append in flight
// and every append after it sees the new epoch.
const fenceQuery = `UPDATE rooms SET epoch = $1 WHERE id = $2 AND epoch <= $1`

// prepareJournal prepares the journal INSERTs and the fence on the write
// pool. It runs after migration, since SQLite checks the table exists when
// preparing.
func (s *SQL) prepareJournal(ctx context.Context) error {
	if s.d.journalArrays != "" {
		stmt, err := s.write.PrepareContext(ctx, s.d.journalArrays)
		if err != nil {
			return fmt.Errorf("prepare journal insert: %w", err)
		}
		s.journalArrays = stmt
	}
	for i, n := range journalChunks {
		if s.journalArrays != nil {
			break
		}
		stmt, err := s.write.PrepareContext(ctx, buildJournalInsert(s.d, n))
		if err != nil {
			return fmt.Errorf("prepare journal insert: %w", err)
		}
		s.journalStmts[i] = stmt
	}
	stmt, err := s.write.PrepareContext(ctx, fenceQuery)
	if err != nil {
		return fmt.Errorf("prepare journal fence: %w", err)
	}
	s.fenceStmt = stmt
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

// AppendJournal writes the entries in one transaction. First each room's
// epoch is fenced, one statement per (room, epoch) in the batch, highest
// epoch first: the entries of a pair whose room has seen a higher epoch
// (ErrStaleEpoch) or does not exist (ErrNotFound) are left out, the rest
// are written, and the error is a *RefusedError naming the pairs refused.
// Any other failure — a (room, seq) already stored or repeated inside the
// batch (ErrExists), a value the database refuses (ErrInvalid), the
// database itself — writes nothing. The commit is durable when this
// returns (synchronous=FULL on SQLite, synchronous_commit=on on
// PostgreSQL).
func (s *SQL) AppendJournal(ctx context.Context, entries []JournalEntry) error {
	if len(entries) == 0 {
		return nil
	}
	pairs := fencePairs(entries)
	var refused []Refusal
	// The journal goes ahead of every other write waiting at the gate.
	err := s.inTxIn(ctx, laneJournal, func(tx *sql.Tx) error {
		refused = refused[:0]
		fence := tx.StmtContext(ctx, s.fenceStmt)
		for _, p := range pairs {
			if err := fenceTx(ctx, tx, fence, p.room, p.epoch); err != nil {
				if !errors.Is(err, ErrStaleEpoch) && !errors.Is(err, ErrNotFound) {
					return err
				}
				refused = append(refused, Refusal{Room: p.room, Epoch: p.epoch, Err: err})
			}
		}
		write := entries
		if len(refused) > 0 {
			write = make([]JournalEntry, 0, len(entries))
			rerr := &RefusedError{Refused: refused}
			for i := range entries {
				if rerr.Of(&entries[i]) == nil {
					write = append(write, entries[i])
				}
			}
		}
		return s.insertJournal(ctx, tx, write)
	})
	if err != nil {
		return s.fail(err, "append journal (%d entries)", len(entries))
	}
	if len(refused) > 0 {
		return &RefusedError{Refused: refused}
	}
	return nil
}

// roomEpoch is one room's writer, as the fence sees it.
type roomEpoch struct {
	room  string
	epoch int64
}

// fencePairs lists the distinct (room, epoch) pairs of a batch by room,
// highest epoch first within a room: so a lower epoch in the same batch is
// refused after a higher one raised the room, and on PostgreSQL every
// transaction locks rooms in the same order and none deadlocks another.
// A batch of one room, the common case, costs a pass and no sort.
func fencePairs(entries []JournalEntry) []roomEpoch {
	pairs := []roomEpoch{{entries[0].Room, entries[0].Epoch}}
	for i := 1; i < len(entries); i++ {
		p := roomEpoch{entries[i].Room, entries[i].Epoch}
		if p != pairs[len(pairs)-1] {
			pairs = append(pairs, p)
		}
	}
	if len(pairs) == 1 {
		return pairs
	}
	slices.SortFunc(pairs, func(a, b roomEpoch) int {
		if c := strings.Compare(a.room, b.room); c != 0 {
			return c
		}
		return cmp.Compare(b.epoch, a.epoch)
	})
	return slices.Compact(pairs)
}

// fenceTx runs the prepared fence for one room inside tx. When it matches
// no row it finds out why: ErrStaleEpoch or ErrNotFound.
func fenceTx(ctx context.Context, tx *sql.Tx, fence *sql.Stmt, room string, epoch int64) error {
	res, err := fence.ExecContext(ctx, epoch, room)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var have int64
	err = tx.QueryRowContext(ctx, `SELECT epoch FROM rooms WHERE id = $1`, room).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("room %s: %w", room, ErrNotFound)
	case err != nil:
		return err
	}
	return fmt.Errorf("room %s is at epoch %d, the writer at %d: %w", room, have, epoch, ErrStaleEpoch)
}

// insertJournal writes entries with the prepared multi-row INSERTs, or
// with the one array INSERT where the dialect has it.
func (s *SQL) insertJournal(ctx context.Context, tx *sql.Tx, entries []JournalEntry) error {
	if s.journalArrays != nil {
		return s.insertJournalArrays(ctx, tx, entries)
	}
	// Sized to the batch: most batches are small, and a buffer for the
	// biggest chunk on every call was most of the allocation of a busy
	// answer window.
	args := make([]any, 0, 5*min(len(entries), journalChunks[0]))
	var stmts [len(journalChunks)]*sql.Stmt // bound to tx on first use
	// A batch is mostly one room's answers: box its name and the kind once
	// for the run of entries that share them, not once per entry.
	var room, kind any
	for rest := entries; len(rest) > 0; {
		i := 0
		for journalChunks[i] > len(rest) {
			i++
		}
		chunk := rest[:journalChunks[i]]
		rest = rest[len(chunk):]
		args = args[:0]
		for j := range chunk {
			e := &chunk[j]
			if room == nil || room.(string) != e.Room {
				room = e.Room
			}
			if kind == nil || kind.(string) != e.Kind {
				kind = e.Kind
			}
			args = append(args, room, e.Seq, kind, ms(e.At), jsonArg(e.Data))
		}
		if stmts[i] == nil {
			stmts[i] = tx.StmtContext(ctx, s.journalStmts[i])
		}
		if _, err := stmts[i].ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// insertJournalArrays writes entries in one statement, their columns
// passed as five arrays; a nil Data is a NULL element.
func (s *SQL) insertJournalArrays(ctx context.Context, tx *sql.Tx, entries []JournalEntry) error {
	n := len(entries)
	rooms, kinds := make([]string, n), make([]string, n)
	seqs, ats := make([]int64, n), make([]int64, n)
	data := make([][]byte, n) // sent as the text it holds; nil is NULL
	for i := range entries {
		e := &entries[i]
		rooms[i], seqs[i], kinds[i], ats[i], data[i] = e.Room, e.Seq, e.Kind, ms(e.At), e.Data
	}
	_, err := tx.StmtContext(ctx, s.journalArrays).ExecContext(ctx, rooms, seqs, kinds, ats, data)
	return err
}

// FenceRoom raises the room's epoch to epoch; see Store.
func (s *SQL) FenceRoom(ctx context.Context, room string, epoch int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return fenceTx(ctx, tx, tx.StmtContext(ctx, s.fenceStmt), room, epoch)
	})
	return s.fail(err, "fence room %s", room)
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
		`SELECT id, kind, config, created_at, epoch FROM rooms WHERE finished_at = 0 ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "open rooms")
	}
	defer rows.Close()
	var out []Room
	for rows.Next() {
		var r Room
		var created int64
		var config sql.NullString
		if err := rows.Scan(&r.ID, &r.Kind, &config, &created, &r.Epoch); err != nil {
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
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.finishRoomTx(ctx, tx, r) })
	return s.fail(err, "finish room %s", r.Room)
}

const (
	qFinishRoom  = `UPDATE rooms SET finished_at = $1 WHERE id = $2`
	qStoreResult = `INSERT INTO results (room, kind, finished_at, standings) VALUES ($1, $2, $3, $4)
		ON CONFLICT (room) DO UPDATE SET kind = excluded.kind, finished_at = excluded.finished_at,
			standings = excluded.standings`
)

func (s *SQL) finishRoomTx(ctx context.Context, tx *sql.Tx, r Result) error {
	err := mustAffect(s.txStmt(ctx, tx, qFinishRoom).ExecContext(ctx, ms(r.FinishedAt), r.Room))
	if err != nil {
		return err
	}
	_, err = s.txStmt(ctx, tx, qStoreResult).ExecContext(ctx, r.Room, r.Kind, ms(r.FinishedAt), jsonArg(r.Standings))
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
