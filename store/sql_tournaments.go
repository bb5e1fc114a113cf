package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// CreateTournament implements Tournaments.
func (s *SQL) CreateTournament(ctx context.Context, t Tournament, rounds []TournamentRound) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO tournaments (id, title, config, created_at) VALUES ($1, $2, $3, $4)`,
			t.ID, t.Title, jsonArg(t.Config), ms(t.CreatedAt)); err != nil {
			return err
		}
		for _, r := range rounds {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO tournament_rounds (tournament, num, starts_at, state) VALUES ($1, $2, $3, $4)`,
				t.ID, r.Num, ms(r.StartsAt), RoundScheduled); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail(err, "create tournament %s", t.ID)
}

// Tournament implements Tournaments.
func (s *SQL) Tournament(ctx context.Context, id string) (Tournament, error) {
	t := Tournament{ID: id}
	var config sql.NullString
	var created int64
	err := s.read.QueryRowContext(ctx,
		`SELECT title, config, created_at FROM tournaments WHERE id = $1`, id).Scan(&t.Title, &config, &created)
	if err != nil {
		return Tournament{}, s.fail(err, "tournament %s", id)
	}
	t.Config, t.CreatedAt = fromJSON(config), fromMS(created)
	return t, nil
}

const roundColumns = `tournament, num, starts_at, state, fired_at, finished_at`

func (s *SQL) queryRounds(ctx context.Context, query string, args ...any) ([]TournamentRound, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []TournamentRound
	for rows.Next() {
		var r TournamentRound
		var starts, fired, finished int64
		if err := rows.Scan(&r.Tournament, &r.Num, &starts, &r.State, &fired, &finished); err != nil {
			return nil, err
		}
		r.StartsAt, r.FiredAt, r.FinishedAt = fromMS(starts), fromMS(fired), fromMS(finished)
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// TournamentRounds implements Tournaments.
func (s *SQL) TournamentRounds(ctx context.Context, tournament string) ([]TournamentRound, error) {
	rs, err := s.queryRounds(ctx, `SELECT `+roundColumns+` FROM tournament_rounds WHERE tournament = $1 ORDER BY num`, tournament)
	return rs, s.fail(err, "rounds of tournament %s", tournament)
}

// PendingRounds implements Tournaments.
func (s *SQL) PendingRounds(ctx context.Context, now time.Time) ([]TournamentRound, error) {
	rs, err := s.queryRounds(ctx, `SELECT `+roundColumns+` FROM tournament_rounds
		WHERE state = $1 OR (state = $2 AND starts_at <= $3) ORDER BY starts_at, tournament, num`,
		RoundStarted, RoundScheduled, ms(now))
	return rs, s.fail(err, "pending rounds")
}

// RecordAttempt implements Tournaments.
func (s *SQL) RecordAttempt(ctx context.Context, a Attempt, limit int) (int, error) {
	return s.recordAttempt(ctx, a, limit, nil)
}

// FinishAttempt implements Tournaments.
func (s *SQL) FinishAttempt(ctx context.Context, a Attempt, limit int, room Result) (int, error) {
	if room.FinishedAt.IsZero() {
		return 0, fmt.Errorf("finish room %s: zero FinishedAt", room.Room)
	}
	return s.recordAttempt(ctx, a, limit, &room)
}

// recordAttempt records a, and stores room's end if room is not nil, in
// one transaction. An attempt over the limit is not written but the
// room's end is, and the error is ErrInvalid.
func (s *SQL) recordAttempt(ctx context.Context, a Attempt, limit int, room *Result) (int, error) {
	if a.Total < 0 || a.FinishedAt.IsZero() {
		return 0, fmt.Errorf("record attempt of %s: %w (negative time or no finish)", a.Player, ErrInvalid)
	}
	var num int
	var over error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		num, over = 0, nil
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM tournament_attempts WHERE tournament = $1 AND player = $2`,
			a.Tournament, a.Player).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			over = fmt.Errorf("%w: %d of %d attempts made", ErrInvalid, n, limit)
			if room == nil {
				return over
			}
		} else {
			num = n + 1
			if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_attempts (tournament, player, num, score, total_ms, finished_at)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				a.Tournament, a.Player, num, a.Score, a.Total.Milliseconds(), ms(a.FinishedAt)); err != nil {
				return err
			}
		}
		if room != nil {
			return s.finishRoomTx(ctx, tx, *room)
		}
		return nil
	})
	if err == nil {
		err = over
	}
	if err != nil {
		return 0, s.fail(err, "record attempt of %s in %s", a.Player, a.Tournament)
	}
	return num, nil
}

// Attempts implements Tournaments.
func (s *SQL) Attempts(ctx context.Context, tournament string) ([]Attempt, error) {
	return s.attempts(ctx, tournament, `SELECT player, num, score, total_ms, finished_at FROM tournament_attempts
		WHERE tournament = $1 ORDER BY player, num`, tournament)
}

// PlayerAttempts implements Tournaments.
func (s *SQL) PlayerAttempts(ctx context.Context, tournament, player string) ([]Attempt, error) {
	return s.attempts(ctx, tournament, `SELECT player, num, score, total_ms, finished_at FROM tournament_attempts
		WHERE tournament = $1 AND player = $2 ORDER BY num`, tournament, player)
}

func (s *SQL) attempts(ctx context.Context, tournament, query string, args ...any) ([]Attempt, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(err, "attempts of %s", tournament)
	}
	defer rows.Close()
	var as []Attempt
	for rows.Next() {
		a := Attempt{Tournament: tournament}
		var total, fin int64
		if err := rows.Scan(&a.Player, &a.Num, &a.Score, &total, &fin); err != nil {
			return nil, s.fail(err, "attempts of %s", tournament)
		}
		a.Total, a.FinishedAt = time.Duration(total)*time.Millisecond, fromMS(fin)
		as = append(as, a)
	}
	return as, s.fail(rows.Err(), "attempts of %s", tournament)
}

// SetEntrants implements Tournaments.
func (s *SQL) SetEntrants(ctx context.Context, tournament string, es []Entrant) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tournament_entrants WHERE tournament = $1`, tournament).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: seeded already", ErrExists)
		}
		for _, e := range es {
			if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_entrants (tournament, player, seed) VALUES ($1, $2, $3)`,
				tournament, e.Player, e.Seed); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail(err, "seed tournament %s", tournament)
}

// Entrants implements Tournaments.
func (s *SQL) Entrants(ctx context.Context, tournament string) ([]Entrant, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT player, seed FROM tournament_entrants WHERE tournament = $1 ORDER BY seed`, tournament)
	if err != nil {
		return nil, s.fail(err, "entrants of %s", tournament)
	}
	defer rows.Close()
	var es []Entrant
	for rows.Next() {
		e := Entrant{Tournament: tournament}
		if err := rows.Scan(&e.Player, &e.Seed); err != nil {
			return nil, s.fail(err, "entrants of %s", tournament)
		}
		es = append(es, e)
	}
	return es, s.fail(rows.Err(), "entrants of %s", tournament)
}

// CheckIn implements Tournaments.
func (s *SQL) CheckIn(ctx context.Context, c CheckIn) error {
	_, err := s.exec(ctx, `INSERT INTO tournament_checkins (tournament, round, player, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tournament, round, player) DO NOTHING`, c.Tournament, c.Round, c.Player, ms(c.At))
	return s.fail(err, "check in %s for round %d of %s", c.Player, c.Round, c.Tournament)
}

// CheckIns implements Tournaments.
func (s *SQL) CheckIns(ctx context.Context, tournament string, round int) ([]CheckIn, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT player, at FROM tournament_checkins
		WHERE tournament = $1 AND round = $2 ORDER BY at, player`, tournament, round)
	if err != nil {
		return nil, s.fail(err, "check-ins of %s round %d", tournament, round)
	}
	defer rows.Close()
	var cs []CheckIn
	for rows.Next() {
		c := CheckIn{Tournament: tournament, Round: round}
		var at int64
		if err := rows.Scan(&c.Player, &at); err != nil {
			return nil, s.fail(err, "check-ins of %s round %d", tournament, round)
		}
		c.At = fromMS(at)
		cs = append(cs, c)
	}
	return cs, s.fail(rows.Err(), "check-ins of %s round %d", tournament, round)
}

// FireRound implements Tournaments.
func (s *SQL) FireRound(ctx context.Context, tournament string, round int, at time.Time, matches []TournamentMatch) (bool, error) {
	fired := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		fired = false
		res, err := tx.ExecContext(ctx, `UPDATE tournament_rounds SET state = $1, fired_at = $2
			WHERE tournament = $3 AND num = $4 AND state = $5`, RoundStarted, ms(at), tournament, round, RoundScheduled)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			var state string
			return tx.QueryRowContext(ctx, `SELECT state FROM tournament_rounds WHERE tournament = $1 AND num = $2`,
				tournament, round).Scan(&state)
		}
		for _, m := range matches {
			seats, err := json.Marshal(m.Seats)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_matches (tournament, round, slot, seats, state, room, outcome)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, tournament, round, m.Slot, string(seats), m.State, m.Room, jsonArg(m.Outcome)); err != nil {
				return err
			}
		}
		fired = true
		return nil
	})
	if err != nil {
		return false, s.fail(err, "fire round %d of %s", round, tournament)
	}
	return fired, nil
}

// FinishRound implements Tournaments.
func (s *SQL) FinishRound(ctx context.Context, tournament string, round int, at time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE tournament_rounds SET state = $1, finished_at = $2
		WHERE tournament = $3 AND num = $4 AND state = $5`, RoundFinished, ms(at), tournament, round, RoundStarted)
	if err != nil {
		return false, s.fail(err, "finish round %d of %s", round, tournament)
	}
	n, err := res.RowsAffected()
	return n > 0, s.fail(err, "finish round %d of %s", round, tournament)
}

// Matches implements Tournaments.
func (s *SQL) Matches(ctx context.Context, tournament string, round int) ([]TournamentMatch, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT round, slot, seats, state, room, outcome FROM tournament_matches
		WHERE tournament = $1 AND ($2 = 0 OR round = $2) ORDER BY round, slot`, tournament, round)
	if err != nil {
		return nil, s.fail(err, "matches of %s round %d", tournament, round)
	}
	defer rows.Close()
	var ms []TournamentMatch
	for rows.Next() {
		m := TournamentMatch{Tournament: tournament}
		var seats string
		var outcome sql.NullString
		if err := rows.Scan(&m.Round, &m.Slot, &seats, &m.State, &m.Room, &outcome); err != nil {
			return nil, s.fail(err, "matches of %s round %d", tournament, round)
		}
		if err := json.Unmarshal([]byte(seats), &m.Seats); err != nil {
			return nil, fmt.Errorf("matches of %s round %d: seats: %w", tournament, round, err)
		}
		m.Outcome = fromJSON(outcome)
		ms = append(ms, m)
	}
	return ms, s.fail(rows.Err(), "matches of %s round %d", tournament, round)
}

// UpdateMatch implements Tournaments.
func (s *SQL) UpdateMatch(ctx context.Context, m TournamentMatch, from string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE tournament_matches SET state = $1, room = $2, outcome = $3
		WHERE tournament = $4 AND round = $5 AND slot = $6 AND state = $7`,
		m.State, m.Room, jsonArg(m.Outcome), m.Tournament, m.Round, m.Slot, from)
	if err != nil {
		return false, s.fail(err, "update match %s/%d/%d", m.Tournament, m.Round, m.Slot)
	}
	n, err := res.RowsAffected()
	return n > 0, s.fail(err, "update match %s/%d/%d", m.Tournament, m.Round, m.Slot)
}

// UpdateMatches implements Tournaments.
func (s *SQL) UpdateMatches(ctx context.Context, ms []TournamentMatch, from string) ([]bool, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	var done []bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		done = make([]bool, len(ms))
		stmt, err := tx.PrepareContext(ctx, `UPDATE tournament_matches SET state = $1, room = $2, outcome = $3
			WHERE tournament = $4 AND round = $5 AND slot = $6 AND state = $7`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, m := range ms {
			res, err := stmt.ExecContext(ctx, m.State, m.Room, jsonArg(m.Outcome), m.Tournament, m.Round, m.Slot, from)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			done[i] = n > 0
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err, "update %d matches of %s", len(ms), ms[0].Tournament)
	}
	return done, nil
}

// ListTournaments implements Tournaments.
func (s *SQL) ListTournaments(ctx context.Context) ([]Tournament, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, title, config, created_at FROM tournaments ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, s.fail(err, "list tournaments")
	}
	defer rows.Close()
	var ts []Tournament
	for rows.Next() {
		var t Tournament
		var config sql.NullString
		var created int64
		if err := rows.Scan(&t.ID, &t.Title, &config, &created); err != nil {
			return nil, s.fail(err, "list tournaments")
		}
		t.Config, t.CreatedAt = fromJSON(config), fromMS(created)
		ts = append(ts, t)
	}
	return ts, s.fail(rows.Err(), "list tournaments")
}

// UpdateTournament implements Tournaments.
func (s *SQL) UpdateTournament(ctx context.Context, t Tournament, rounds []TournamentRound) (bool, error) {
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ok = false
		var n, fired int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tournaments WHERE id = $1`, t.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("tournament %s: %w", t.ID, ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tournament_rounds WHERE tournament = $1 AND state <> $2`,
			t.ID, RoundScheduled).Scan(&fired); err != nil {
			return err
		}
		if fired > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tournaments SET title = $1, config = $2 WHERE id = $3`,
			t.Title, jsonArg(t.Config), t.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tournament_rounds WHERE tournament = $1`, t.ID); err != nil {
			return err
		}
		for _, r := range rounds {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO tournament_rounds (tournament, num, starts_at, state) VALUES ($1, $2, $3, $4)`,
				t.ID, r.Num, ms(r.StartsAt), RoundScheduled); err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, s.fail(err, "update tournament %s", t.ID)
	}
	return ok, nil
}

// SetTeam implements Tournaments.
func (s *SQL) SetTeam(ctx context.Context, t TournamentTeam) error {
	raw, err := json.Marshal(t.Players)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO tournament_teams (tournament, unit, players, set_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tournament, unit) DO UPDATE SET players = excluded.players, set_at = excluded.set_at`,
		t.Tournament, t.Unit, string(raw), ms(t.SetAt))
	return s.fail(err, "set team of %s in %s", t.Unit, t.Tournament)
}

// Teams implements Tournaments.
func (s *SQL) Teams(ctx context.Context, tournament string) ([]TournamentTeam, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT unit, players, set_at FROM tournament_teams WHERE tournament = $1 ORDER BY unit`, tournament)
	if err != nil {
		return nil, s.fail(err, "teams of %s", tournament)
	}
	defer rows.Close()
	var ts []TournamentTeam
	for rows.Next() {
		t := TournamentTeam{Tournament: tournament}
		var raw string
		var at int64
		if err := rows.Scan(&t.Unit, &raw, &at); err != nil {
			return nil, s.fail(err, "teams of %s", tournament)
		}
		if err := json.Unmarshal([]byte(raw), &t.Players); err != nil {
			return nil, fmt.Errorf("team of %s in %s: %w", t.Unit, tournament, err)
		}
		t.SetAt = fromMS(at)
		ts = append(ts, t)
	}
	return ts, s.fail(rows.Err(), "teams of %s", tournament)
}
