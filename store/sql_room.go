package store

import (
	"context"
	"database/sql"
	"errors"
)

// Room returns one room's header, finished or not.
func (s *SQL) Room(ctx context.Context, id string) (Room, error) {
	var r Room
	var created, finished int64
	var config sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT id, kind, config, created_at, finished_at, epoch FROM rooms WHERE id = $1`, id).
		Scan(&r.ID, &r.Kind, &config, &created, &finished, &r.Epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, ErrNotFound
	}
	if err != nil {
		return Room{}, s.fail(err, "room %s", id)
	}
	r.Config, r.CreatedAt = fromJSON(config), fromMS(created)
	if finished != 0 {
		r.FinishedAt = fromMS(finished)
	}
	return r, nil
}
