package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

func TestExpire(t *testing.T) { checkExpire(t, openSQLite(t)) }

// TestPostgresExpire runs the same on PostgreSQL: the statements are
// portable.
func TestPostgresExpire(t *testing.T) { checkExpire(t, openPostgres(t)) }

// checkExpire: a sweep removes exactly the guests who never played and the
// tokens whose time has come, in every rule, and nothing else.
func checkExpire(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tok := func(hash, kind, subject string, created time.Time, expires time.Time) store.Token {
		return store.Token{Hash: hash, Kind: kind, Subject: subject, CreatedAt: created, ExpiresAt: expires}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Guests: one never played, one played, one with a game on record, one
	// registered (a player token), one too new.
	must(s.CreatePlayer(ctx, store.Player{ID: "idle", Name: "idle", CreatedAt: t0}, tok("r-idle", store.TokenResume, "idle", t0, t0.Add(day))))
	must(s.CreatePlayer(ctx, store.Player{ID: "played", Name: "played", CreatedAt: t0}, tok("r-played", store.TokenResume, "played", t0, t0.Add(day))))
	must(s.CreatePlayer(ctx, store.Player{ID: "matched", Name: "matched", CreatedAt: t0}))
	must(s.CreatePlayer(ctx, store.Player{ID: "registered", Name: "registered", CreatedAt: t0}, tok("p-registered", store.TokenPlayer, "registered", t0, time.Time{})))
	must(s.CreatePlayer(ctx, store.Player{ID: "new", Name: "new", CreatedAt: t0.Add(45*day - time.Hour)}))
	must(s.CreatePlayer(ctx, store.Player{ID: "fresh", Name: "fresh", CreatedAt: t0}, tok("p-fresh", store.TokenPlayer, "fresh", t0.Add(40*day), time.Time{})))
	must(s.MarkPlayed(ctx, t0.Add(time.Hour), []string{"played", "nobody"}))
	if _, err := s.Award(ctx, nil, []store.Award{{Ref: "duel:r0:matched", Player: "matched", Source: "duel", Points: 10, Day: "2026-03-01", At: t0}}); err != nil {
		t.Fatal(err)
	}
	// Tokens: a player token used lately, one not; host and screen tokens of
	// an event that ended long ago and of one still running; the organizer's.
	must(s.CreatePlayer(ctx, store.Player{ID: "busy", Name: "busy", CreatedAt: t0}, tok("p-busy", store.TokenPlayer, "busy", t0, time.Time{})))
	must(s.MarkTokensUsed(ctx, t0.Add(40*day), []string{"p-busy", "nope"}))
	must(s.CreateEvent(ctx, store.Event{ID: "ev-old", Room: "r1", PIN: "111111", Title: "old", CreatedAt: t0}))
	must(s.EndEvent(ctx, "ev-old", t0.Add(time.Hour)))
	must(s.CreateEvent(ctx, store.Event{ID: "ev-live", Room: "r2", PIN: "222222", Title: "live", CreatedAt: t0}))
	for _, tk := range []store.Token{
		tok("h-old", store.TokenHost, "ev-old", t0, time.Time{}), tok("s-old", store.TokenScreen, "ev-old", t0, time.Time{}),
		tok("h-live", store.TokenHost, "ev-live", t0, time.Time{}), tok("org", store.TokenOrganizer, "organizer", t0, time.Time{}),
	} {
		must(s.PutToken(ctx, tk))
	}
	if got, err := s.Token(ctx, "p-busy"); err != nil || !got.UsedAt.Equal(t0.Add(40*day)) {
		t.Fatalf("used token: %+v %v", got, err)
	}

	now := t0.Add(45 * day)
	got, err := s.Expire(ctx, store.ExpireRules{Now: now, GuestsBefore: now.Add(-day), UnusedBefore: now.Add(-30 * day), EventsEndedBefore: now.Add(-7 * day)})
	must(err)
	// Gone: players idle and registered (its token unused for 45 days, it
	// never played); tokens r-idle, r-played (expired), p-registered, h-old,
	// s-old.
	if got != (store.Expired{Players: 2, Tokens: 5}) {
		t.Errorf("expired %+v, want 2 players and 5 tokens", got)
	}
	for id, want := range map[string]bool{"idle": false, "registered": false, "played": true, "matched": true, "new": true, "busy": true, "fresh": true} {
		_, err := s.Player(ctx, id)
		if have := err == nil; have != want || (err != nil && !errors.Is(err, store.ErrNotFound)) {
			t.Errorf("player %s: %v, want kept=%v", id, err, want)
		}
	}
	for h, want := range map[string]bool{"r-idle": false, "r-played": false, "p-registered": false, "p-busy": true, "p-fresh": true, "h-old": false, "s-old": false, "h-live": true, "org": true} {
		_, err := s.Token(ctx, h)
		if have := err == nil; have != want {
			t.Errorf("token %s: %v, want kept=%v", h, err, want)
		}
	}
	// Zero rules remove nothing; a second sweep finds nothing more.
	if got, err := s.Expire(ctx, store.ExpireRules{}); err != nil || got != (store.Expired{}) {
		t.Errorf("empty rules: %+v %v", got, err)
	}
	if got, err := s.Expire(ctx, store.ExpireRules{Now: now, GuestsBefore: now.Add(-day), UnusedBefore: now.Add(-30 * day), EventsEndedBefore: now.Add(-7 * day)}); err != nil || got != (store.Expired{}) {
		t.Errorf("second sweep: %+v %v", got, err)
	}
}
