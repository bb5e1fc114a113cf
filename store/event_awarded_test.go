package store_test

import (
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// TestEventAwardedMigration: on a database from before migration 0030 an
// event that had ended counts as paid (the binary before paid it at its
// end), so the sweep does not pay it; one whose result is stored but that
// had not ended (its end failed to store) is left for the sweep.
func TestEventAwardedMigration(t *testing.T) {
	ctx := t.Context()
	ended := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	path := oldSQLite(t, 25,
		`INSERT INTO rooms (id, kind, config, created_at, finished_at) VALUES ('r1', 'event', '{}', 0, 1796155200000), ('r2', 'event', '{}', 0, 1796155200000)`,
		`INSERT INTO results (room, kind, finished_at, standings) VALUES ('r1', 'event', 1796155200000, '{}'), ('r2', 'event', 1796155200000, '{}')`,
		`INSERT INTO events (id, room, pin, title, config, created_at, ended_at) VALUES ('e1', 'r1', '111111', 'one', '{}', 1, 1796155200000), ('e2', 'r2', '222222', 'two', '{}', 2, 0)`,
	)

	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e1, err := s.Event(ctx, "e1")
	if err != nil || !e1.AwardedAt.Equal(ended) {
		t.Fatalf("ended event after the migration: awarded at %v (%v), want %v", e1.AwardedAt, err, ended)
	}
	evs, err := s.UnawardedEvents(ctx, ended.Add(time.Hour), 10)
	if err != nil || len(evs) != 1 || evs[0].ID != "e2" || !evs[0].AwardedAt.IsZero() {
		t.Fatalf("events to pay after the migration: %+v %v; want e2 alone", evs, err)
	}
}
