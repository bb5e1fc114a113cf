package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Award records awards in one transaction, each exactly once: an award
// whose Ref is in the ledger already changes nothing and comes back with
// Replay set and the Paid of the first time. A new award pays its Points
// unless the player has had caps[Source] awards of that source on that Day
// already (it is then recorded with Paid 0), adds Paid to the player's
// all-time points, and, for a member, to the rollups of the member and of
// their current unit for the day, its week, its month and all time. It
// returns the awards with Unit, Paid and Replay filled in. ErrNotFound if a
// player does not exist; nothing is written then.
func (s *SQL) Award(ctx context.Context, caps Caps, awards []Award) ([]Award, error) {
	if err := checkAwards(awards); err != nil {
		return nil, err
	}
	return s.awards.award(ctx, s, caps, awards)
}

// awardAlone writes one call's awards in a transaction of their own.
func (s *SQL) awardAlone(ctx context.Context, caps Caps, awards []Award) ([]Award, error) {
	out := make([]Award, len(awards))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		copy(out, awards)
		return s.awardsTx(ctx, tx, caps, out)
	})
	if err != nil {
		return nil, s.fail(err, "award")
	}
	return out, nil
}

func checkAwards(awards []Award) error {
	for _, a := range awards {
		if a.Ref == "" || a.Player == "" || a.Source == "" {
			return fmt.Errorf("award: ref, player and source are required (%+v): %w", a, ErrInvalid)
		}
		if a.Points < 0 {
			return fmt.Errorf("award %s: negative points %d: %w", a.Ref, a.Points, ErrInvalid)
		}
		if _, err := time.Parse(time.DateOnly, a.Day); err != nil {
			return fmt.Errorf("award %s: day %q is not YYYY-MM-DD: %w", a.Ref, a.Day, ErrInvalid)
		}
	}
	return nil
}

// awardQueries are the statements of an award, prepared when the store
// opens (prepareAward) because inside a transaction on SQLite the write
// pool has no connection to spare for preparing.
var awardQueries = []string{
	`UPDATE players SET points = points + $1 WHERE id = $2`,
	// A quick match's room header and end (CreateRoom, FinishMatch), run
	// thousands of times a minute.
	qCreateRoom, qSetRating, qFinishRoom, qStoreResult,
	// A guest's record and resume token (CreatePlayer), one per hello.
	qCreatePlayer, qPutToken,
}

const qSetRating = `UPDATE players SET rating = $1 WHERE id = $2`

// FinishMatch stores a finished match in one transaction: the room's
// result, each player's new rating, and each player's award (source the
// room's kind, ref "<kind>:<room>:<player>", under caps). A match finished
// again (a replayed room) pays nothing twice. It returns the points paid by
// player.
func (s *SQL) FinishMatch(ctx context.Context, r Result, day string, caps Caps, players []PlayerResult) (map[string]int64, error) {
	if r.FinishedAt.IsZero() {
		return nil, fmt.Errorf("finish match %s: zero FinishedAt", r.Room)
	}
	awards := make([]Award, len(players))
	for i, p := range players {
		awards[i] = Award{Ref: r.Kind + ":" + r.Room + ":" + p.Player, Player: p.Player, Source: r.Kind, Points: p.Points, Day: day, At: r.FinishedAt}
	}
	if err := checkAwards(awards); err != nil {
		return nil, fmt.Errorf("finish match %s: %w", r.Room, err)
	}
	// In one transaction with the other matches finished (and rooms
	// opened) meanwhile, their awards paid in one batch.
	out, err := s.rooms.do(ctx, s, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.finishRoomTx(ctx, tx, r); err != nil {
			return err
		}
		for _, p := range players {
			if err := mustAffect(s.txStmt(ctx, tx, qSetRating).ExecContext(ctx, p.Rating, p.Player)); err != nil {
				return fmt.Errorf("player %s: %w", p.Player, err)
			}
		}
		return nil
	}, caps, awards)
	if err != nil {
		return nil, s.fail(err, "finish match %s", r.Room)
	}
	awarded := make(map[string]int64, len(players))
	for _, a := range out {
		awarded[a.Player] = a.Paid
	}
	return awarded, nil
}

// Ledger returns a player's awards, newest first, at most limit.
func (s *SQL) Ledger(ctx context.Context, player string, limit int) ([]Award, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT ref, source, asked, points, unit, day, awarded_at FROM ledger WHERE player = $1
		ORDER BY awarded_at DESC, ref DESC LIMIT $2`, player, limit)
	if err != nil {
		return nil, s.fail(err, "ledger of %s", player)
	}
	defer rows.Close()
	var out []Award
	for rows.Next() {
		a := Award{Player: player}
		var at int64
		if err := rows.Scan(&a.Ref, &a.Source, &a.Points, &a.Paid, &a.Unit, &a.Day, &at); err != nil {
			return nil, s.fail(err, "ledger of %s", player)
		}
		a.At = fromMS(at)
		out = append(out, a)
	}
	return out, s.fail(rows.Err(), "ledger of %s", player)
}

// TopPlayers returns the first limit members of a period (a PeriodKey) by
// points, after skipping offset. With root "" they are ranked by all their
// points; under a node, by the points they earned in its subtree. Ties
// share a rank and are listed by player id, descending (the
// order the rank index gives without a sort).
func (s *SQL) TopPlayers(ctx context.Context, period, root string, offset, limit int) ([]Standing, error) {
	// The page, then how many are above its first row: ranks within the
	// page follow from the order, ties sharing a rank.
	var page, above string
	args := []any{period}
	if root == "" {
		// The page is cut before the joins, so an offset skips index
		// entries only, not names and units looked up for nothing.
		page = `SELECT x.player, x.points, COALESCE(p.name, ''), COALESCE(m.unit, '')
		FROM (SELECT player, points FROM roll_player WHERE period = $1 ORDER BY points DESC, player DESC LIMIT $2 OFFSET $3) x
		LEFT JOIN players p ON p.id = x.player LEFT JOIN members m ON m.player = x.player AND m.player <> ''
		ORDER BY x.points DESC, x.player DESC`
		above = `SELECT COALESCE(SUM(members), 0) FROM roll_hist WHERE period = $1 AND points > $2`
	} else {
		o, err := s.Org(ctx, root)
		if err != nil {
			return nil, err
		}
		// orgs drives the join (CROSS JOIN keeps that order on SQLite):
		// a subtree's units first, then each one's rows by index.
		sub := `SELECT rm.player, SUM(rm.points) AS points FROM orgs o CROSS JOIN roll_member rm
			WHERE rm.period = $1 AND rm.unit = o.code AND ` + subtree("o.path", 2) + ` GROUP BY rm.player`
		page = `SELECT t.player, t.points, COALESCE(p.name, ''), COALESCE(m.unit, '')
		FROM (` + sub + ` ORDER BY points DESC, rm.player DESC LIMIT $4 OFFSET $5) t
		LEFT JOIN players p ON p.id = t.player LEFT JOIN members m ON m.player = t.player AND m.player <> ''
		ORDER BY t.points DESC, t.player DESC`
		above = `SELECT COUNT(*) FROM (` + sub + ` HAVING SUM(rm.points) > $4) t`
		args = append(args, prefixArgs(o.Path)...)
	}
	n := len(args)
	rows, err := s.read.QueryContext(ctx, page, append(args, limit, offset)...)
	if err != nil {
		return nil, s.fail(err, "top players")
	}
	defer rows.Close()
	var out []Standing
	for rows.Next() {
		var st Standing
		if err := rows.Scan(&st.Player, &st.Points, &st.Name, &st.Unit); err != nil {
			return nil, s.fail(err, "top players")
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "top players")
	}
	if len(out) == 0 {
		return nil, nil
	}
	rank := offset + 1
	if offset > 0 {
		var c int64
		if err := s.read.QueryRowContext(ctx, above, append(args[:n:n], out[0].Points)...).Scan(&c); err != nil {
			return nil, s.fail(err, "top players")
		}
		rank = int(c) + 1
	}
	for i := range out {
		if i > 0 && out[i].Points != out[i-1].Points {
			rank = offset + i + 1
		}
		out[i].Rank = rank
	}
	return out, nil
}

// Rank returns a member's points and rank in a period, in the whole city
// (all their points, among every member with points) and in their current
// unit (the points earned there). ErrNotFound if the player is no member.
func (s *SQL) Rank(ctx context.Context, period, player string) (MemberRank, error) {
	m, err := s.MemberByPlayer(ctx, player)
	if err != nil {
		return MemberRank{}, err
	}
	r := MemberRank{Player: player, Unit: m.Unit}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return r, s.fail(err, "rank")
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(points), 0) FROM roll_player WHERE period = $1 AND player = $2`, period, player).Scan(&r.Points)
	if err == nil {
		var above int64
		err = tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(members), 0) FROM roll_hist WHERE period = $1 AND points > $2`, period, r.Points).Scan(&above)
		r.CityRank = int(above) + 1
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(members), 0) FROM roll_hist WHERE period = $1`, period).Scan(&r.CityOf)
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(points), 0) FROM roll_member WHERE period = $1 AND unit = $2 AND player = $3`, period, m.Unit, player).Scan(&r.UnitPoints)
	}
	if err == nil {
		var above int64
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roll_member WHERE period = $1 AND unit = $2 AND points > $3`+weekRanked(period),
			period, m.Unit, r.UnitPoints).Scan(&above)
		r.UnitRank = int(above) + 1
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roll_member WHERE period = $1 AND unit = $2`, period, m.Unit).Scan(&r.UnitOf)
	}
	return r, s.fail(err, "rank of %s", player)
}

// weekRanked is the condition to add to a query of roll_member for period
// when period is a week: the condition of the points index on a unit's
// weekly rows (roll_member_week_rank), which SQLite and PostgreSQL use for
// a query only when they see it in the query. Other periods have no such
// index; their reads count or sort the unit's rows.
func weekRanked(period string) string {
	if strings.HasPrefix(period, "w") {
		return ` AND period >= 'w' AND period < 'x'`
	}
	return ""
}

// UnitPoints returns every unit's rollup for a period (units with no award
// in it are absent).
func (s *SQL) UnitPoints(ctx context.Context, period string) ([]UnitPoints, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT unit, points, active FROM roll_unit WHERE period = $1`, period)
	if err != nil {
		return nil, s.fail(err, "unit points")
	}
	defer rows.Close()
	var out []UnitPoints
	for rows.Next() {
		var u UnitPoints
		if err := rows.Scan(&u.Unit, &u.Points, &u.Active); err != nil {
			return nil, s.fail(err, "unit points")
		}
		out = append(out, u)
	}
	return out, s.fail(rows.Err(), "unit points")
}

// TopMembers returns, for each unit, its n members with the most points
// earned there in the period, best first.
func (s *SQL) TopMembers(ctx context.Context, period string, units []string, n int) (map[string][]Standing, error) {
	out := make(map[string][]Standing, len(units))
	stmt, err := s.read.PrepareContext(ctx,
		`SELECT rm.player, rm.points, COALESCE(p.name, '') FROM roll_member rm LEFT JOIN players p ON p.id = rm.player
		WHERE rm.period = $1 AND rm.unit = $2`+weekRanked(period)+` ORDER BY rm.points DESC, rm.player DESC LIMIT $3`)
	if err != nil {
		return nil, s.fail(err, "top members")
	}
	defer stmt.Close()
	for _, u := range units {
		rows, err := stmt.QueryContext(ctx, period, u, n)
		if err != nil {
			return nil, s.fail(err, "top members of %s", u)
		}
		var list []Standing
		for rows.Next() {
			st := Standing{Unit: u}
			if err := rows.Scan(&st.Player, &st.Points, &st.Name); err != nil {
				rows.Close()
				return nil, s.fail(err, "top members of %s", u)
			}
			st.Rank = len(list) + 1
			if len(list) > 0 && list[len(list)-1].Points == st.Points {
				st.Rank = list[len(list)-1].Rank
			}
			list = append(list, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.fail(err, "top members of %s", u)
		}
		out[u] = list
	}
	return out, nil
}

// prepareAward prepares awardQueries, and the batch's statements in each
// of their sizes, on the write pool.
func (s *SQL) prepareAward(ctx context.Context) error {
	for _, q := range awardQueries {
		st, err := s.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare award: %w", err)
		}
		s.stmts.Store(q, st)
	}
	s.batchStmts = map[batchKey]*sql.Stmt{}
	for _, q := range batchQueries {
		for _, n := range q.sizes() {
			st, err := s.write.PrepareContext(ctx, q.text(s.d.param, n))
			if err != nil {
				return fmt.Errorf("prepare award: %w", err)
			}
			s.batchStmts[batchKey{q.head, n}] = st
		}
	}
	return nil
}

// txStmt returns query bound to tx: prepared once when the store opened
// if it is one of awardQueries (an award runs the same few statements
// every time, and parsing them was most of its cost on SQLite), else
// prepared in tx.
func (s *SQL) txStmt(ctx context.Context, tx *sql.Tx, query string) boundStmt {
	if st, ok := s.stmts.Load(query); ok {
		return boundStmt{st: tx.StmtContext(ctx, st.(*sql.Stmt))}
	}
	s.txPrepares.Add(1)
	st, err := tx.PrepareContext(ctx, query)
	return boundStmt{st: st, err: err}
}

// boundStmt is a statement bound to a transaction, or why it could not be
// prepared.
type boundStmt struct {
	st  *sql.Stmt
	err error
}

func (b boundStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.st.ExecContext(ctx, args...)
}

func (b boundStmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.st.QueryContext(ctx, args...)
}

func (b boundStmt) QueryRowContext(ctx context.Context, args ...any) interface{ Scan(...any) error } {
	if b.err != nil {
		return errRow{b.err}
	}
	return b.st.QueryRowContext(ctx, args...)
}

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }
