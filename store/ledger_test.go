package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/store"
)

// TestAwardOnceAcrossRestart pays an award, closes the store as a stopping
// node would, opens the database again and awards the same ref: it is a
// replay and nothing changes. On SQLite and on PostgreSQL.
func TestAwardOnceAcrossRestart(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "leitai.db")
			if backend == "postgres" {
				dsn = pgtest.URL(t)
			}
			ctx := t.Context()
			at := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
			a := store.Award{Ref: "duel:r1:p", Player: "p", Source: store.SourceDuel, Points: 5, Day: "2026-12-04", At: at}
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddOrgs(ctx, []store.Org{{Code: "u", Name: "U", CreatedAt: at}}); err != nil {
				t.Fatal(err)
			}
			if err := s.JoinMember(ctx, store.Member{ID: "m", Name: "p", Unit: "u", CreatedAt: at}, store.Player{ID: "p", Name: "p", CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if out, err := s.Award(ctx, nil, []store.Award{a}); err != nil || out[0].Paid != 5 || out[0].Replay {
				t.Fatalf("first award: %+v %v", out, err)
			}
			s.Close()

			s, err = store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out, err := s.Award(ctx, nil, []store.Award{a})
			if err != nil || !out[0].Replay || out[0].Paid != 5 {
				t.Fatalf("award after restart: %+v %v, want a replay reporting 5", out, err)
			}
			p, _ := s.Player(ctx, "p")
			pts, _ := s.UnitPoints(ctx, "all")
			if p.Points != 5 || len(pts) != 1 || pts[0].Points != 5 || pts[0].Active != 1 {
				t.Fatalf("after the replay: player %d points, unit rollup %+v; want 5 once", p.Points, pts)
			}
		})
	}
}
