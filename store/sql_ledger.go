package store

import (
	"context"
	"database/sql"
	"fmt"
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
	out := make([]Award, len(awards))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		copy(out, awards)
		for i := range out {
			if err := awardTx(ctx, tx, caps, &out[i]); err != nil {
				return fmt.Errorf("award %s: %w", out[i].Ref, err)
			}
		}
		return nil
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

// awardTx writes one award inside tx. The ledger insert comes first and
// decides whether this is a replay; the cap counter is an upsert whose
// RETURNING holds the row lock, so concurrent awards on PostgreSQL count
// right.
func awardTx(ctx context.Context, tx *sql.Tx, caps Caps, a *Award) error {
	keys, err := periodKeys(a.Day)
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT unit FROM members WHERE player = $1`, a.Player).Scan(&a.Unit)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO ledger (ref, player, unit, source, points, asked, day, awarded_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)
		ON CONFLICT (ref) DO NOTHING`,
		a.Ref, a.Player, a.Unit, a.Source, a.Points, a.Day, ms(a.At))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		a.Replay = true
		return tx.QueryRowContext(ctx, `SELECT points, unit FROM ledger WHERE ref = $1`, a.Ref).Scan(&a.Paid, &a.Unit)
	}
	var count int64
	err = tx.QueryRowContext(ctx,
		`INSERT INTO ledger_days (player, day, source, awards) VALUES ($1, $2, $3, 1)
		ON CONFLICT (player, day, source) DO UPDATE SET awards = ledger_days.awards + 1
		RETURNING awards`, a.Player, a.Day, a.Source).Scan(&count)
	if err != nil {
		return err
	}
	a.Paid = a.Points
	if c := caps[a.Source]; c > 0 && count > int64(c) {
		a.Paid = 0
		if _, err := tx.ExecContext(ctx, `UPDATE ledger SET points = 0 WHERE ref = $1`, a.Ref); err != nil {
			return err
		}
	}
	// Run even when nothing is paid: it is what tells a missing player.
	if err := mustAffect(tx.ExecContext(ctx, `UPDATE players SET points = points + $1 WHERE id = $2`, a.Paid, a.Player)); err != nil {
		return fmt.Errorf("player %s: %w", a.Player, err)
	}
	if a.Unit == "" {
		return nil
	}
	for _, period := range keys {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO roll_player (period, player, points) VALUES ($1, $2, $3)
			ON CONFLICT (period, player) DO UPDATE SET points = roll_player.points + excluded.points`,
			period, a.Player, a.Paid); err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO roll_member (period, unit, player, points, awards) VALUES ($1, $2, $3, $4, 1)
			ON CONFLICT (period, unit, player) DO UPDATE SET points = roll_member.points + excluded.points,
				awards = roll_member.awards + 1
			RETURNING awards`,
			period, a.Unit, a.Player, a.Paid).Scan(&n); err != nil {
			return err
		}
		active := int64(0)
		if n == 1 {
			active = 1
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO roll_unit (period, unit, points, active) VALUES ($1, $2, $3, $4)
			ON CONFLICT (period, unit) DO UPDATE SET points = roll_unit.points + excluded.points,
				active = roll_unit.active + excluded.active`,
			period, a.Unit, a.Paid, active); err != nil {
			return err
		}
	}
	return nil
}

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
	awarded := make(map[string]int64, len(players))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := finishRoomTx(ctx, tx, r); err != nil {
			return err
		}
		for i, p := range players {
			if err := mustAffect(tx.ExecContext(ctx, `UPDATE players SET rating = $1 WHERE id = $2`, p.Rating, p.Player)); err != nil {
				return fmt.Errorf("player %s: %w", p.Player, err)
			}
			a := awards[i]
			if err := awardTx(ctx, tx, caps, &a); err != nil {
				return fmt.Errorf("player %s: %w", p.Player, err)
			}
			awarded[p.Player] = a.Paid
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err, "finish match %s", r.Room)
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
// share a rank and are listed by player id.
func (s *SQL) TopPlayers(ctx context.Context, period, root string, offset, limit int) ([]Standing, error) {
	var q string
	args := []any{period}
	if root == "" {
		q = `SELECT x.player, x.points, COALESCE(p.name, ''), COALESCE(m.unit, ''),
			(SELECT COUNT(*) FROM roll_player y WHERE y.period = $1 AND y.points > x.points)
		FROM roll_player x LEFT JOIN players p ON p.id = x.player LEFT JOIN members m ON m.player = x.player
		WHERE x.period = $1 ORDER BY x.points DESC, x.player LIMIT $2 OFFSET $3`
		args = append(args, limit, offset)
	} else {
		o, err := s.Org(ctx, root)
		if err != nil {
			return nil, err
		}
		q = `WITH t AS (SELECT rm.player, SUM(rm.points) AS points FROM roll_member rm JOIN orgs o ON o.code = rm.unit
			WHERE rm.period = $1 AND ` + subtree("o.path", 2) + ` GROUP BY rm.player)
		SELECT t.player, t.points, COALESCE(p.name, ''), COALESCE(m.unit, ''),
			(SELECT COUNT(*) FROM t y WHERE y.points > t.points)
		FROM t LEFT JOIN players p ON p.id = t.player LEFT JOIN members m ON m.player = t.player
		ORDER BY t.points DESC, t.player LIMIT $4 OFFSET $5`
		args = append(args, append(prefixArgs(o.Path), limit, offset)...)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "top players")
	}
	defer rows.Close()
	var out []Standing
	for rows.Next() {
		var st Standing
		var above int64
		if err := rows.Scan(&st.Player, &st.Points, &st.Name, &st.Unit, &above); err != nil {
			return nil, s.fail(err, "top players")
		}
		st.Rank = int(above) + 1
		out = append(out, st)
	}
	return out, s.fail(rows.Err(), "top players")
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
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roll_player WHERE period = $1 AND points > $2`, period, r.Points).Scan(&above)
		r.CityRank = int(above) + 1
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roll_player WHERE period = $1`, period).Scan(&r.CityOf)
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(points), 0) FROM roll_member WHERE period = $1 AND unit = $2 AND player = $3`, period, m.Unit, player).Scan(&r.UnitPoints)
	}
	if err == nil {
		var above int64
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roll_member WHERE period = $1 AND unit = $2 AND points > $3`, period, m.Unit, r.UnitPoints).Scan(&above)
		r.UnitRank = int(above) + 1
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roll_member WHERE period = $1 AND unit = $2`, period, m.Unit).Scan(&r.UnitOf)
	}
	return r, s.fail(err, "rank of %s", player)
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
		WHERE rm.period = $1 AND rm.unit = $2 ORDER BY rm.points DESC, rm.player LIMIT $3`)
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
