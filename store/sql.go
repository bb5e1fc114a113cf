package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// SQL is the Store over database/sql. The statements are plain SQL that
// SQLite (modernc.org/sqlite) and PostgreSQL (pgx stdlib) both accept:
// $N placeholders, ON CONFLICT upserts, RETURNING, partial indexes. What
// still differs between them lives in a dialect, chosen by the Open function
// (OpenSQLite, OpenPostgres, or Open by the URL's scheme).
//
// Times are stored as unix milliseconds and come back in UTC, truncated to
// the millisecond; the zero time is stored as 0 and comes back as the zero
// time. JSON documents are stored as text; a nil document comes back nil.
type SQL struct {
	// Static after construction.
	write *sql.DB // every write; one connection on SQLite, which has one writer anyway
	read  *sql.DB // queries; a pool of its own on SQLite so reads never queue behind a commit
	d     dialect

	journalStmts  [len(journalChunks)]*sql.Stmt // set by prepareJournal, unless journalArrays is
	journalArrays *sql.Stmt                     // d.journalArrays prepared, if the dialect has it

	fenceStmt *sql.Stmt // the journal's epoch fence, set by prepareJournal

	stmts      sync.Map               // query text → *sql.Stmt on the write pool (txStmt)
	batchStmts map[batchKey]*sql.Stmt // the award batch's statements, set by prepareAward

	txPrepares atomic.Int64 // statements prepared inside a transaction (txStmt), for tests

	// gate admits as many writes at a time as the write pool has
	// connections (one on SQLite): the journal's first, then the others in
	// the order they came (see writeGate).
	gate *writeGate

	awards awardGroup // concurrent Award calls, committed together
	rooms  txGroup    // concurrent CreateRoom, FinishMatch and CreatePlayer calls, committed together

	ckpt *checkpointer // SQLite's background checkpoints; nil on PostgreSQL

	// readers is the SQLite read pool's size (0 on PostgreSQL, whose reads
	// run in the server's processes): an award group takes one of them
	// while it writes (see reserveReader).
	readers int
}

var _ Store = (*SQL)(nil)

// dialect is everything that differs between the SQL engines. Keeping it in
// one struct is what lets a PostgreSQL Open reuse the rest unchanged.
type dialect struct {
	// name labels the backend in errors and metrics: "sqlite", "postgres".
	name string
	// isUnique reports whether err is a primary-key or unique violation
	// (SQLite 1555/2067, PostgreSQL SQLSTATE 23505).
	isUnique func(error) bool
	// isForeignKey reports whether err is a foreign-key violation (SQLite
	// 787, PostgreSQL 23503); it means a referenced row is missing.
	isForeignKey func(error) bool
	// param returns the placeholder for the nth argument (from 1) of a
	// statement that uses each argument once, in order. Statements with a
	// few arguments just write $N, which both engines read; long generated
	// ones ask here because SQLite resolves $N as a name, by linear search,
	// which makes a 1000-argument INSERT cost more than its fsync, while
	// its positional '?' costs nothing. PostgreSQL knows only $N.
	param func(n int) string
	// isData reports whether err is the fault of the rows written (a
	// constraint, a value the column cannot hold) rather than of the
	// database: another batch without those rows would succeed.
	isData func(error) bool
	// isRetryable, if set, reports whether err aborted a transaction that
	// may succeed when run again (a deadlock on PostgreSQL). SQLite waits
	// for its lock instead (busy_timeout) and needs no retry.
	isRetryable func(error) bool
	// journalArrays, if set, inserts a whole journal batch in one
	// statement from five arrays (rooms, seqs, kinds, times, data), in
	// place of the multi-row INSERTs: on PostgreSQL every statement is a
	// round trip.
	journalArrays string
	// migrateLock, if set, runs first in every migration transaction to
	// serialize nodes migrating one database at the same time.
	migrateLock string
}

// newSQL wraps opened pools; read may be the same *sql.DB as write.
// writers is how many writes may run at once: the write pool's size.
func newSQL(write, read *sql.DB, d dialect, writers int) *SQL {
	s := &SQL{write: write, read: read, d: d, gate: newWriteGate(writers),
		rooms: txGroup{gather: gather[*txCall]{most: txGroupMost}}}
	s.rooms.setLinger(DefaultLinger, clock.Real{})
	return s
}

// SetGroupLinger sets how long, under load, the starts of two commits of
// room and player records (CreateRoom, FinishMatch, CreatePlayer) are
// apart at least, timed on clk; DefaultLinger unless set, 0 for none.
// Call it before the store is used.
func (s *SQL) SetGroupLinger(d time.Duration, clk clock.Clock) {
	s.rooms.setLinger(d, clk)
}

// Backend names the database engine: "sqlite" or "postgres".
func (s *SQL) Backend() string { return s.d.name }

// setUp readies an opened store: schema first, then the statements that
// need the tables to exist.
func (s *SQL) setUp(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.prepareJournal(ctx); err != nil {
		return err
	}
	return s.prepareAward(ctx)
}

// Close closes the pools. Callers must stop the Committer first so nothing
// is written after Close.
func (s *SQL) Close() error {
	var err error
	for _, stmt := range append(s.journalStmts[:], s.journalArrays, s.fenceStmt) {
		if stmt != nil {
			err = errors.Join(err, stmt.Close())
		}
	}
	for _, stmt := range s.batchStmts {
		err = errors.Join(err, stmt.Close())
	}
	s.stmts.Range(func(_, v any) bool {
		err = errors.Join(err, v.(*sql.Stmt).Close())
		return true
	})
	if s.ckpt != nil {
		err = errors.Join(err, s.ckpt.close())
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// enter waits for the write gate in the ordinary lane; leave with
// s.leave.
func (s *SQL) enter(ctx context.Context) error { return s.gate.enter(ctx, laneOrdinary) }

func (s *SQL) leave() { s.gate.leave() }

// exec runs one write statement through the gate.
func (s *SQL) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.write.ExecContext(ctx, query, args...)
}

// txAttempts bounds how often inTx runs a transaction that the database
// aborted as retryable (a deadlock between nodes on PostgreSQL).
const txAttempts = 3

// inTx runs fn in a write transaction and commits it, or rolls it back if
// fn fails. A transaction the dialect calls retryable is run again, so fn
// must only write through tx and set results it overwrites on each run.
func (s *SQL) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.inTxIn(ctx, laneOrdinary, fn)
}

// inTxIn is inTx waiting at the write gate in lane l.
func (s *SQL) inTxIn(ctx context.Context, l lane, fn func(tx *sql.Tx) error) error {
	if err := s.gate.enter(ctx, l); err != nil {
		return err
	}
	defer s.leave()
	for attempt := 1; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || attempt == txAttempts || s.d.isRetryable == nil || !s.d.isRetryable(err) {
			return err
		}
	}
}

// runTx is one attempt of inTx.
func (s *SQL) runTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// fail turns a driver error into the package's sentinels, keeping the
// driver's text (it names the violated constraint), and says what failed.
func (s *SQL) fail(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrExists), errors.Is(err, ErrStaleEpoch), errors.Is(err, ErrInvalid):
	case errors.Is(err, sql.ErrNoRows):
		err = ErrNotFound
	case s.d.isUnique(err):
		err = fmt.Errorf("%w (%v)", ErrExists, err)
	case s.d.isForeignKey(err):
		err = fmt.Errorf("%w (%v)", ErrNotFound, err)
	case s.d.isData(err):
		err = fmt.Errorf("%w (%v)", ErrInvalid, err)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// mustAffect returns ErrNotFound when an UPDATE or DELETE matched no row.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ms encodes a time as unix milliseconds, the zero time as 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS decodes what ms encoded.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// jsonArg binds a JSON document as text: pgx would send []byte as bytea,
// and SQLite would store it as a blob.
func jsonArg(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// fromJSON decodes what jsonArg encoded.
func fromJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}

// CreatePlayer stores a new player and its tokens in one transaction;
// ErrExists if the id or a token's hash is taken. The transaction is shared
// with the other players, room headers and match ends written meanwhile
// (s.rooms): thousands of guests saying hello at once would otherwise
// queue a commit and an fsync each at the write gate, ahead of the rooms'
// first writes. It returns once the player's rows have committed; a
// shared transaction that fails is run again call by call, so a taken id
// fails only its own call.
func (s *SQL) CreatePlayer(ctx context.Context, p Player, tokens ...Token) error {
	_, err := s.rooms.do(ctx, s, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.txStmt(ctx, tx, qCreatePlayer).ExecContext(ctx,
			p.ID, p.Name, p.Org, p.Rating, p.Points, ms(p.CreatedAt))
		for _, t := range tokens {
			if err != nil {
				break
			}
			_, err = s.txStmt(ctx, tx, qPutToken).ExecContext(ctx,
				t.Hash, t.Kind, t.Subject, ms(t.ExpiresAt), ms(t.CreatedAt))
		}
		return err
	}, nil, nil)
	return s.fail(err, "create player %s", p.ID)
}

const (
	qCreatePlayer = `INSERT INTO players (id, name, org, rating, points, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	qPutToken     = `INSERT INTO tokens (hash, kind, subject, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`
)

func createPlayerTx(ctx context.Context, tx *sql.Tx, p Player, tokens []Token) error {
	_, err := tx.ExecContext(ctx, qCreatePlayer, p.ID, p.Name, p.Org, p.Rating, p.Points, ms(p.CreatedAt))
	for _, t := range tokens {
		if err != nil {
			break
		}
		err = putTokenTx(ctx, tx, t)
	}
	return err
}

// Player returns the player, or ErrNotFound.
func (s *SQL) Player(ctx context.Context, id string) (Player, error) {
	p := Player{ID: id}
	var created int64
	err := s.read.QueryRowContext(ctx,
		`SELECT name, org, rating, points, created_at FROM players WHERE id = $1`, id).
		Scan(&p.Name, &p.Org, &p.Rating, &p.Points, &created)
	if err != nil {
		return Player{}, s.fail(err, "player %s", id)
	}
	p.CreatedAt = fromMS(created)
	return p, nil
}

// UpdateRating sets the player's matchmaking rating; ErrNotFound if there
// is no such player.
func (s *SQL) UpdateRating(ctx context.Context, id string, rating float64) error {
	err := mustAffect(s.exec(ctx, `UPDATE players SET rating = $1 WHERE id = $2`, rating, id))
	return s.fail(err, "update rating %s", id)
}

// PutToken stores a new token; ErrExists if its hash is already stored.
func (s *SQL) PutToken(ctx context.Context, t Token) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return putTokenTx(ctx, tx, t) })
	return s.fail(err, "put token")
}

func putTokenTx(ctx context.Context, tx *sql.Tx, t Token) error {
	_, err := tx.ExecContext(ctx, qPutToken, t.Hash, t.Kind, t.Subject, ms(t.ExpiresAt), ms(t.CreatedAt))
	return err
}

// Token returns the token with this hash, or ErrNotFound. Expired tokens
// are returned too: expiry is judged by the caller against its own clock.
func (s *SQL) Token(ctx context.Context, hash string) (Token, error) {
	t := Token{Hash: hash}
	var expires, created, used int64
	err := s.read.QueryRowContext(ctx,
		`SELECT kind, subject, expires_at, created_at, used_at FROM tokens WHERE hash = $1`, hash).
		Scan(&t.Kind, &t.Subject, &expires, &created, &used)
	if err != nil {
		return Token{}, s.fail(err, "token")
	}
	t.ExpiresAt, t.CreatedAt, t.UsedAt = fromMS(expires), fromMS(created), fromMS(used)
	return t, nil
}

// DeleteToken removes the token. It returns ErrNotFound if there was none,
// so that deleting is also an atomic "use once": of two concurrent
// deleters of a one-time token, exactly one gets nil.
// ReplaceSubjectTokens deletes every token of t's kind and subject and
// stores t, in one transaction: the old secrets stop working as the new one
// starts.
func (s *SQL) ReplaceSubjectTokens(ctx context.Context, t Token) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE kind = $1 AND subject = $2`, t.Kind, t.Subject); err != nil {
			return err
		}
		return putTokenTx(ctx, tx, t)
	})
	return s.fail(err, "replace %s tokens of %s", t.Kind, t.Subject)
}

func (s *SQL) DeleteToken(ctx context.Context, hash string) error {
	err := mustAffect(s.exec(ctx, `DELETE FROM tokens WHERE hash = $1`, hash))
	return s.fail(err, "delete token")
}

// ReplaceTokens makes t the only token of its kind: it deletes every other
// token of t.Kind and stores t if it is not stored yet, in one transaction.
func (s *SQL) ReplaceTokens(ctx context.Context, t Token) (int, error) {
	var revoked int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE kind = $1 AND hash <> $2`, t.Kind, t.Hash)
		if err != nil {
			return err
		}
		if revoked, err = res.RowsAffected(); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE hash = $1`, t.Hash).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		return putTokenTx(ctx, tx, t)
	})
	return int(revoked), s.fail(err, "replace %s tokens", t.Kind)
}

// SaveQuestionSet creates the set or replaces the stored one with the same
// id (a re-import).
func (s *SQL) SaveQuestionSet(ctx context.Context, q QuestionSet) error {
	_, err := s.exec(ctx,
		`INSERT INTO question_sets (id, name, question_count, created_at, questions) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, question_count = excluded.question_count,
			created_at = excluded.created_at, questions = excluded.questions`,
		q.ID, q.Name, q.Count, ms(q.CreatedAt), jsonArg(q.Questions))
	return s.fail(err, "save question set %s", q.ID)
}

// QuestionSets lists every set, oldest first, without their Questions so a
// listing stays small however large the banks are.
func (s *SQL) QuestionSets(ctx context.Context) ([]QuestionSet, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id, name, question_count, created_at FROM question_sets ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "question sets")
	}
	defer rows.Close()
	var out []QuestionSet
	for rows.Next() {
		var q QuestionSet
		var created int64
		if err := rows.Scan(&q.ID, &q.Name, &q.Count, &created); err != nil {
			return nil, s.fail(err, "question sets")
		}
		q.CreatedAt = fromMS(created)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "question sets")
	}
	return out, nil
}

// QuestionSet returns the set with its Questions, or ErrNotFound.
func (s *SQL) QuestionSet(ctx context.Context, id string) (QuestionSet, error) {
	q := QuestionSet{ID: id}
	var created int64
	var questions sql.NullString
	err := s.read.QueryRowContext(ctx,
		`SELECT name, question_count, created_at, questions FROM question_sets WHERE id = $1`, id).
		Scan(&q.Name, &q.Count, &created, &questions)
	if err != nil {
		return QuestionSet{}, s.fail(err, "question set %s", id)
	}
	q.CreatedAt, q.Questions = fromMS(created), fromJSON(questions)
	return q, nil
}

// queryList runs a query on db and reads each row with scan, in order: nil
// and the error if the query, a row or the iteration fails.
func queryList[T any](ctx context.Context, db *sql.DB, scan func(func(...any) error) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
