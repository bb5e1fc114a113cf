package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FinishMatch stores a finished match in one transaction: the room's
// result, each player's new rating, and each player's profile points under
// the daily cap (as AwardPoints). It returns the points awarded by player.
func (s *SQL) FinishMatch(ctx context.Context, r Result, day string, dailyCap int, players []PlayerResult) (map[string]int64, error) {
	if r.FinishedAt.IsZero() {
		return nil, fmt.Errorf("finish match %s: zero FinishedAt", r.Room)
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return nil, fmt.Errorf("finish match %s: day %q is not YYYY-MM-DD", r.Room, day)
	}
	if dailyCap < 0 {
		return nil, fmt.Errorf("finish match %s: negative daily cap %d", r.Room, dailyCap)
	}
	awarded := make(map[string]int64, len(players))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := finishRoomTx(ctx, tx, r); err != nil {
			return err
		}
		for _, p := range players {
			if err := mustAffect(tx.ExecContext(ctx, `UPDATE players SET rating = $1 WHERE id = $2`, p.Rating, p.Player)); err != nil {
				return fmt.Errorf("player %s: %w", p.Player, err)
			}
			n, err := awardTx(ctx, tx, p.Player, day, p.Points, dailyCap)
			if err != nil {
				return fmt.Errorf("player %s: %w", p.Player, err)
			}
			awarded[p.Player] = n
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err, "finish match %s", r.Room)
	}
	return awarded, nil
}
