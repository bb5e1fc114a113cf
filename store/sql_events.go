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
		`INSERT INTO events (id, room, pin, title, config, created_at, ended_at, awarded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.Room, e.PIN, e.Title, jsonArg(e.Config), ms(e.CreatedAt), ms(e.EndedAt), ms(e.AwardedAt))
	return s.fail(err, "create event %s (pin %s)", e.ID, e.PIN)
}

// eventColumns matches scanEvent; the queries name the table e.
const eventColumns = `e.id, e.room, e.pin, e.title, e.config, e.created_at, e.ended_at, e.awarded_at`

// scanEvent reads one row of eventColumns.
func scanEvent(scan func(...any) error) (Event, error) {
	var e Event
	var created, ended, awarded int64
	var config sql.NullString
	if err := scan(&e.ID, &e.Room, &e.PIN, &e.Title, &config, &created, &ended, &awarded); err != nil {
		return Event{}, err
	}
	e.Config, e.CreatedAt, e.EndedAt, e.AwardedAt = fromJSON(config), fromMS(created), fromMS(ended), fromMS(awarded)
	return e, nil
}

// Event returns the event, or ErrNotFound.
func (s *SQL) Event(ctx context.Context, id string) (Event, error) {
	e, err := scanEvent(s.read.QueryRowContext(ctx,
		`SELECT `+eventColumns+` FROM events e WHERE e.id = $1`, id).Scan)
	if err != nil {
		return Event{}, s.fail(err, "event %s", id)
	}
	return e, nil
}

// Events lists every event, live and ended, oldest first.
func (s *SQL) Events(ctx context.Context) ([]Event, error) {
	out, err := queryList(ctx, s.read, scanEvent, `SELECT `+eventColumns+` FROM events e ORDER BY e.created_at, e.id`)
	return out, s.fail(err, "events")
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

// UnawardedEvents lists, oldest first and at most limit, the events whose
// room's result is stored (finished at or before finishedBy) but whose
// points are not noted paid (MarkEventAwarded). An event whose result is
// not stored yet is not listed: its room is restored and finishes again.
func (s *SQL) UnawardedEvents(ctx context.Context, finishedBy time.Time, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("unawarded events: limit %d: %w", limit, ErrInvalid)
	}
	out, err := queryList(ctx, s.read, scanEvent, `SELECT `+eventColumns+` FROM events e
		JOIN results r ON r.room = e.room
		WHERE e.awarded_at = 0 AND r.finished_at <= $1
		ORDER BY e.created_at, e.id LIMIT $2`, ms(finishedBy), limit)
	return out, s.fail(err, "unawarded events")
}

// MarkEventAwarded notes that every point of the event played in room was
// paid at at. Marking it again keeps the first time, so two nodes that both
// paid (the second a replay) are harmless. ErrNotFound if no event is
// played in room.
func (s *SQL) MarkEventAwarded(ctx context.Context, room string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("mark event of room %s awarded: zero time: %w", room, ErrInvalid)
	}
	err := mustAffect(s.exec(ctx,
		`UPDATE events SET awarded_at = CASE WHEN awarded_at = 0 THEN $1 ELSE awarded_at END WHERE room = $2`,
		ms(at), room))
	return s.fail(err, "mark event of room %s awarded", room)
}
