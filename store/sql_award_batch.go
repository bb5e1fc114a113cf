package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// awardChunk bounds the rows of one multi-row statement, so the
// placeholders stay well under SQLite's limit.
const awardChunk = 400

// awardsTx writes a batch of awards inside tx with a few multi-row
// statements per table instead of several statements per award. The
// outcome is the one of writing the awards one after another in order:
// the first of a Ref pays (under its cap), a later one in the batch or
// one already in the ledger is a Replay with the first's Paid; the n-th
// new award of a player, day and source counts n on top of the awards
// already stored. Rollup deltas are summed per row before they are
// written, so each rollup row is updated once per batch.
func (s *SQL) awardsTx(ctx context.Context, tx *sql.Tx, caps Caps, out []Award) error {
	if len(out) == 0 {
		return nil
	}
	// The members' units and which players exist.
	type who struct {
		unit   string
		exists bool
	}
	players := map[string]*who{}
	var ids []string
	for _, a := range out {
		if players[a.Player] == nil {
			players[a.Player] = &who{}
			ids = append(ids, a.Player)
		}
	}
	err := qAwardPlayers.chunks(len(ids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		rows, err := s.batchStmt(ctx, tx, qAwardPlayers, len(args)).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, unit string
			if err := rows.Scan(&id, &unit); err != nil {
				return err
			}
			if w := players[id]; w != nil {
				w.unit, w.exists = unit, true
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	// The first of each Ref in the batch is a candidate; later ones copy
	// its outcome at the end.
	first := map[string]int{}
	var cand []int
	for i := range out {
		out[i].Unit = players[out[i].Player].unit
		out[i].Paid, out[i].Replay = 0, false
		if _, ok := first[out[i].Ref]; ok {
			continue
		}
		first[out[i].Ref] = i
		cand = append(cand, i)
	}
	// The ledger rows: those that insert are new, the others replays.
	// They go in in the order of their refs, as do the rows of every
	// table below, so concurrent batches on PostgreSQL take their row
	// locks in one order.
	ordered := slices.Clone(cand)
	slices.SortFunc(ordered, func(i, j int) int { return strings.Compare(out[i].Ref, out[j].Ref) })
	inserted := map[string]bool{}
	err = qAwardLedger.chunks(len(cand), func(lo, hi int) error {
		args := make([]any, 0, 8*(hi-lo))
		for _, i := range ordered[lo:hi] {
			a := out[i]
			args = append(args, a.Ref, a.Player, a.Unit, a.Source, a.Points, a.Points, a.Day, ms(a.At))
		}
		rows, err := s.batchStmt(ctx, tx, qAwardLedger, hi-lo).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				return err
			}
			inserted[ref] = true
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	var fresh, replays []int
	for _, i := range cand {
		if inserted[out[i].Ref] {
			fresh = append(fresh, i)
		} else {
			replays = append(replays, i)
		}
	}
	// A replay of an earlier batch: the Paid and the unit of the first time.
	if len(replays) > 0 {
		byRef := map[string]int{}
		for _, i := range replays {
			byRef[out[i].Ref] = i
		}
		err = qAwardReplays.chunks(len(replays), func(lo, hi int) error {
			args := make([]any, 0, hi-lo)
			for _, i := range replays[lo:hi] {
				args = append(args, out[i].Ref)
			}
			rows, err := s.batchStmt(ctx, tx, qAwardReplays, len(args)).QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var ref, unit string
				var paid int64
				if err := rows.Scan(&ref, &paid, &unit); err != nil {
					return err
				}
				if i, ok := byRef[ref]; ok {
					out[i].Paid, out[i].Unit, out[i].Replay = paid, unit, true
				}
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
	}
	for _, i := range fresh {
		if !players[out[i].Player].exists {
			return fmt.Errorf("award %s: player %s: %w", out[i].Ref, out[i].Player, ErrNotFound)
		}
	}
	// The day's cap counters, one upsert per player, day and source.
	type daySrc struct{ player, day, source string }
	counts := map[daySrc]int64{}
	var dkeys []daySrc
	for _, i := range fresh {
		k := daySrc{out[i].Player, out[i].Day, out[i].Source}
		if counts[k] == 0 {
			dkeys = append(dkeys, k)
		}
		counts[k]++
	}
	slices.SortFunc(dkeys, func(x, y daySrc) int {
		return cmp.Or(strings.Compare(x.player, y.player), strings.Compare(x.day, y.day), strings.Compare(x.source, y.source))
	})
	before := map[daySrc]int64{}
	err = qAwardDays.chunks(len(dkeys), func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, d := range dkeys[lo:hi] {
			args = append(args, d.player, d.day, d.source, counts[d])
		}
		rows, err := s.batchStmt(ctx, tx, qAwardDays, hi-lo).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d daySrc
			var n int64
			if err := rows.Scan(&d.player, &d.day, &d.source, &n); err != nil {
				return err
			}
			before[d] = n - counts[d]
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	var capped []any
	for _, i := range fresh {
		a := &out[i]
		k := daySrc{a.Player, a.Day, a.Source}
		before[k]++
		a.Paid = a.Points
		if c := caps[a.Source]; c > 0 && before[k] > int64(c) {
			a.Paid = 0
			capped = append(capped, a.Ref)
		}
	}
	err = qAwardCapped.chunks(len(capped), func(lo, hi int) error {
		_, err := s.batchStmt(ctx, tx, qAwardCapped, hi-lo).ExecContext(ctx, capped[lo:hi]...)
		return err
	})
	if err != nil {
		return err
	}
	// The players' all-time points.
	paid := map[string]int64{}
	var payees []string
	for _, i := range fresh {
		a := out[i]
		if _, ok := paid[a.Player]; !ok {
			payees = append(payees, a.Player)
		}
		paid[a.Player] += a.Paid
	}
	slices.Sort(payees)
	for _, p := range payees {
		if paid[p] == 0 {
			continue
		}
		if err := mustAffect(s.txStmt(ctx, tx, awardQueries[0]).ExecContext(ctx, paid[p], p)); err != nil {
			return fmt.Errorf("player %s: %w", p, err)
		}
	}
	// The rollups of members: per player and period, per unit, player and
	// period, per unit and period.
	type pp struct{ period, player string }
	type upp struct{ period, unit, player string }
	type up struct{ period, unit string }
	type sum struct{ points, awards int64 }
	byPlayer, byMember, byUnit := map[pp]*sum{}, map[upp]*sum{}, map[up]*sum{}
	var pkeys []pp
	var mkeys []upp
	var ukeys []up
	for _, i := range fresh {
		a := out[i]
		if a.Unit == "" {
			continue
		}
		keys, err := periodKeys(a.Day)
		if err != nil {
			return err
		}
		for _, period := range keys {
			k1 := pp{period, a.Player}
			if byPlayer[k1] == nil {
				byPlayer[k1] = &sum{}
				pkeys = append(pkeys, k1)
			}
			byPlayer[k1].points += a.Paid
			byPlayer[k1].awards++
			k2 := upp{period, a.Unit, a.Player}
			if byMember[k2] == nil {
				byMember[k2] = &sum{}
				mkeys = append(mkeys, k2)
			}
			byMember[k2].points += a.Paid
			byMember[k2].awards++
			k3 := up{period, a.Unit}
			if byUnit[k3] == nil {
				byUnit[k3] = &sum{}
				ukeys = append(ukeys, k3)
			}
			byUnit[k3].points += a.Paid
		}
	}
	// Sorted field by field, without building a key string per comparison.
	slices.SortFunc(pkeys, func(x, y pp) int {
		return cmp.Or(strings.Compare(x.period, y.period), strings.Compare(x.player, y.player))
	})
	slices.SortFunc(mkeys, func(x, y upp) int {
		return cmp.Or(strings.Compare(x.period, y.period), strings.Compare(x.unit, y.unit), strings.Compare(x.player, y.player))
	})
	slices.SortFunc(ukeys, func(x, y up) int {
		return cmp.Or(strings.Compare(x.period, y.period), strings.Compare(x.unit, y.unit))
	})
	// The histogram moves each member from their old total to the new
	// one (or adds them, on their first award of the period).
	type hp struct {
		period string
		points int64
	}
	hist := map[hp]int64{}
	err = qAwardRollPlayer.chunks(len(pkeys), func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, key := range pkeys[lo:hi] {
			args = append(args, key.period, key.player, byPlayer[key].points, byPlayer[key].awards)
		}
		rows, err := s.batchStmt(ctx, tx, qAwardRollPlayer, hi-lo).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key pp
			var points, n int64
			if err := rows.Scan(&key.period, &key.player, &points, &n); err != nil {
				return err
			}
			d := byPlayer[key]
			if d == nil {
				return fmt.Errorf("roll_player returned %v, not written", key)
			}
			isNew := n == d.awards
			if !isNew && d.points == 0 {
				continue
			}
			if !isNew {
				hist[hp{key.period, points - d.points}]--
			}
			hist[hp{key.period, points}]++
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	var hkeys []hp
	for k, n := range hist {
		if n != 0 {
			hkeys = append(hkeys, k)
		}
	}
	slices.SortFunc(hkeys, func(x, y hp) int {
		if c := strings.Compare(x.period, y.period); c != 0 {
			return c
		}
		return int(x.points - y.points)
	})
	err = qAwardHist.chunks(len(hkeys), func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, key := range hkeys[lo:hi] {
			args = append(args, key.period, key.points, hist[key])
		}
		_, err := s.batchStmt(ctx, tx, qAwardHist, hi-lo).ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return err
	}
	// A member's first award in a unit and period makes them active there.
	active := map[up]int64{}
	err = qAwardRollMember.chunks(len(mkeys), func(lo, hi int) error {
		args := make([]any, 0, 5*(hi-lo))
		for _, key := range mkeys[lo:hi] {
			args = append(args, key.period, key.unit, key.player, byMember[key].points, byMember[key].awards)
		}
		rows, err := s.batchStmt(ctx, tx, qAwardRollMember, hi-lo).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key upp
			var n int64
			if err := rows.Scan(&key.period, &key.unit, &key.player, &n); err != nil {
				return err
			}
			if d := byMember[key]; d != nil && n == d.awards {
				active[up{key.period, key.unit}]++
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	err = qAwardRollUnit.chunks(len(ukeys), func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, key := range ukeys[lo:hi] {
			args = append(args, key.period, key.unit, byUnit[key].points, active[key])
		}
		_, err := s.batchStmt(ctx, tx, qAwardRollUnit, hi-lo).ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return err
	}
	// Later awards of a Ref in the batch: replays of the first.
	for i := range out {
		if j := first[out[i].Ref]; j != i {
			out[i].Paid, out[i].Unit, out[i].Replay = out[j].Paid, out[j].Unit, true
		}
	}
	return nil
}

// chunks calls f on consecutive [lo, hi) ranges covering [0, n), each
// as long as one of q's sizes: full chunks of q.rows rows, then the
// largest power of two that fits in what is left, and so on (449 rows of
// a 400-row query are 400 + 32 + 16 + 1), so that every statement is one
// prepared when the store opened. The rows of a batch are apart (its keys
// are unique), so where they are cut makes no difference to the outcome.
func (q batchQuery) chunks(n int, f func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := q.rows
		if rest := n - lo; rest < size {
			size = 1 << (bits.Len(uint(rest)) - 1)
		}
		if err := f(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// sizes are the row counts q is prepared for: q.rows and every power of
// two below it, largest first.
func (q batchQuery) sizes() []int {
	out := []int{q.rows}
	for n := 1 << (bits.Len(uint(q.rows)) - 1); n >= 1; n >>= 1 {
		if n < q.rows {
			out = append(out, n)
		}
	}
	return out
}

// batchQuery is a statement of the award batch over a list of rows: head,
// then rows of width arguments (each in parentheses for a VALUES list, or
// bare for an IN list), then tail. Its placeholders are the dialect's:
// SQLite's '?' is bound by position, where "$N" would be looked up by name,
// once when the statement is parsed and again for every argument bound.
// Its statement for each of its sizes is prepared when the store opens
// (prepareAward), and a batch is cut into those sizes (chunks), so an
// award parses no SQL.
type batchQuery struct {
	head, tail string
	width      int
	tuple      bool
	rows       int // rows per statement: at most awardChunk arguments
}

var (
	qAwardPlayers = batchQuery{head: `SELECT p.id, COALESCE(m.unit, '') FROM players p
			LEFT JOIN members m ON m.player = p.id AND m.player <> '' WHERE p.id IN (`, tail: `)`, width: 1, rows: awardChunk}
	qAwardLedger = batchQuery{head: `INSERT INTO ledger (ref, player, unit, source, points, asked, day, awarded_at) VALUES `,
		tail: ` ON CONFLICT (ref) DO NOTHING RETURNING ref`, width: 8, tuple: true, rows: awardChunk / 8}
	qAwardReplays = batchQuery{head: `SELECT ref, points, unit FROM ledger WHERE ref IN (`, tail: `)`, width: 1, rows: awardChunk}
	qAwardDays    = batchQuery{head: `INSERT INTO ledger_days (player, day, source, awards) VALUES `,
		tail: ` ON CONFLICT (player, day, source) DO UPDATE SET awards = ledger_days.awards + excluded.awards
			RETURNING player, day, source, awards`, width: 4, tuple: true, rows: awardChunk / 4}
	qAwardCapped     = batchQuery{head: `UPDATE ledger SET points = 0 WHERE ref IN (`, tail: `)`, width: 1, rows: awardChunk}
	qAwardRollPlayer = batchQuery{head: `INSERT INTO roll_player (period, player, points, awards) VALUES `,
		tail: ` ON CONFLICT (period, player) DO UPDATE SET points = roll_player.points + excluded.points, awards = roll_player.awards + excluded.awards
			RETURNING period, player, points, awards`, width: 4, tuple: true, rows: awardChunk / 4}
	qAwardHist = batchQuery{head: `INSERT INTO roll_hist (period, points, members) VALUES `,
		tail: ` ON CONFLICT (period, points) DO UPDATE SET members = roll_hist.members + excluded.members`, width: 3, tuple: true, rows: awardChunk / 3}
	qAwardRollMember = batchQuery{head: `INSERT INTO roll_member (period, unit, player, points, awards) VALUES `,
		tail: ` ON CONFLICT (period, unit, player) DO UPDATE SET points = roll_member.points + excluded.points,
			awards = roll_member.awards + excluded.awards RETURNING period, unit, player, awards`, width: 5, tuple: true, rows: awardChunk / 5}
	qAwardRollUnit = batchQuery{head: `INSERT INTO roll_unit (period, unit, points, active) VALUES `,
		tail: ` ON CONFLICT (period, unit) DO UPDATE SET points = roll_unit.points + excluded.points,
			active = roll_unit.active + excluded.active`, width: 4, tuple: true, rows: awardChunk / 4}

	batchQueries = []batchQuery{qAwardPlayers, qAwardLedger, qAwardReplays, qAwardDays, qAwardCapped,
		qAwardRollPlayer, qAwardHist, qAwardRollMember, qAwardRollUnit}
)

// text is the statement for n rows, with the placeholders param writes.
func (q batchQuery) text(param func(int) string, n int) string {
	var b strings.Builder
	b.Grow(len(q.head) + len(q.tail) + n*q.width*6)
	b.WriteString(q.head)
	k := 0
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		if q.tuple {
			b.WriteByte('(')
		}
		for c := range q.width {
			if c > 0 {
				b.WriteString(", ")
			}
			k++
			b.WriteString(param(k))
		}
		if q.tuple {
			b.WriteByte(')')
		}
	}
	b.WriteString(q.tail)
	return b.String()
}

// batchKey names the statement of a batchQuery for a number of rows.
type batchKey struct {
	head string
	rows int
}

// batchStmt is q for n rows (one of q's sizes) bound to tx: the statement
// prepared when the store opened, or failing that (a size chunks does not
// make) one prepared now on the transaction's connection.
func (s *SQL) batchStmt(ctx context.Context, tx *sql.Tx, q batchQuery, n int) boundStmt {
	if st := s.batchStmts[batchKey{q.head, n}]; st != nil {
		return boundStmt{st: tx.StmtContext(ctx, st)}
	}
	return s.txStmt(ctx, tx, q.text(s.d.param, n))
}
