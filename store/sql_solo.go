package store

import (
	"context"
	"fmt"
	"time"
)

// ChallengeBest is a player's best challenge run: its length (right
// answers in a row), the room it was set in and when.
type ChallengeBest struct {
	Player string
	Name   string
	Best   int
	Room   string
	At     time.Time
}

// RecordChallenge keeps run as the player's best if it is longer than the
// best so far (an equal run keeps the earlier one), and returns the best
// after it. Recording the same run again changes nothing.
func (s *SQL) RecordChallenge(ctx context.Context, run ChallengeBest) (int, error) {
	if run.Player == "" || run.Room == "" || run.Best < 0 {
		return 0, fmt.Errorf("record challenge: player, room and a length >= 0 are required: %w", ErrInvalid)
	}
	_, err := s.exec(ctx, `INSERT INTO challenge_best (player, best, room, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (player) DO UPDATE SET best = excluded.best, room = excluded.room, at = excluded.at
		WHERE excluded.best > challenge_best.best`,
		run.Player, run.Best, run.Room, ms(run.At))
	if err != nil {
		return 0, s.fail(err, "record challenge %s", run.Room)
	}
	b, err := s.ChallengeBestOf(ctx, run.Player)
	return b.Best, err
}

// ChallengeBestOf returns a player's best run, ErrNotFound if none.
func (s *SQL) ChallengeBestOf(ctx context.Context, player string) (ChallengeBest, error) {
	b := ChallengeBest{Player: player}
	var at int64
	err := s.read.QueryRowContext(ctx, `SELECT c.best, c.room, c.at, p.name FROM challenge_best c
		JOIN players p ON p.id = c.player WHERE c.player = $1`, player).Scan(&b.Best, &b.Room, &at, &b.Name)
	if err != nil {
		return ChallengeBest{}, s.fail(err, "challenge best %s", player)
	}
	b.At = time.UnixMilli(at)
	return b, nil
}

// ChallengeLeaderboard lists the longest runs, longest first, the earlier
// first among equals.
func (s *SQL) ChallengeLeaderboard(ctx context.Context, limit int) ([]ChallengeBest, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT c.player, p.name, c.best, c.room, c.at FROM challenge_best c
		JOIN players p ON p.id = c.player ORDER BY c.best DESC, c.at, c.player LIMIT $1`, limit)
	if err != nil {
		return nil, s.fail(err, "challenge leaderboard")
	}
	defer rows.Close()
	var out []ChallengeBest
	for rows.Next() {
		var b ChallengeBest
		var at int64
		if err := rows.Scan(&b.Player, &b.Name, &b.Best, &b.Room, &at); err != nil {
			return nil, s.fail(err, "challenge leaderboard")
		}
		b.At = time.UnixMilli(at)
		out = append(out, b)
	}
	return out, s.fail(rows.Err(), "challenge leaderboard")
}
