package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CreateEvent stores a new stage event. ErrExists if the id is taken or if
// a live (not ended) event already has this PIN; a partial unique index
// enforces the PIN rule, so two concurrent creates cannot both win. An
// empty PIN is not checked for uniqueness.
func (s *SQL) CreateEvent(ctx context.Context, e Event) error {
	_, err := s.exec(ctx,
		`INSERT INTO events (id, room, pin, title, config, created_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ID, e.Room, e.PIN, e.Title, jsonArg(e.Config), ms(e.CreatedAt), ms(e.EndedAt))
	return s.fail(err, "create event %s (pin %s)", e.ID, e.PIN)
}

// eventColumns matches scanEvent.
const eventColumns = `id, room, pin, title, config, created_at, ended_at`

// scanEvent reads one row of eventColumns.
func scanEvent(scan func(...any) error) (Event, error) {
	var e Event
	var created, ended int64
	var config sql.NullString
	if err := scan(&e.ID, &e.Room, &e.PIN, &e.Title, &config, &created, &ended); err != nil {
		return Event{}, err
	}
	e.Config, e.CreatedAt, e.EndedAt = fromJSON(config), fromMS(created), fromMS(ended)
	return e, nil
}

// Event returns the event, or ErrNotFound.
func (s *SQL) Event(ctx context.Context, id string) (Event, error) {
	e, err := scanEvent(s.read.QueryRowContext(ctx,
		`SELECT `+eventColumns+` FROM events WHERE id = $1`, id).Scan)
	if err != nil {
		return Event{}, s.fail(err, "event %s", id)
	}
	return e, nil
}

// Events lists every event, live and ended, oldest first.
func (s *SQL) Events(ctx context.Context) ([]Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "events")
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows.Scan)
		if err != nil {
			return nil, s.fail(err, "events")
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "events")
	}
	return out, nil
}

// EndEvent marks the event ended at at, which frees its PIN. Ending an
// ended event again succeeds and keeps the first end time, so a retried
// request is harmless. ErrNotFound if there is no such event.
func (s *SQL) EndEvent(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("end event %s: zero time", id)
	}
	err := mustAffect(s.exec(ctx,
		`UPDATE events SET ended_at = CASE WHEN ended_at = 0 THEN $1 ELSE ended_at END WHERE id = $2`,
		ms(at), id))
	return s.fail(err, "end event %s", id)
}
