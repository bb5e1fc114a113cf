package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

type readyBody struct {
	Status string `json:"status"`
	Parts  map[string]struct {
		OK      bool   `json:"ok"`
		Backend string `json:"backend"`
		Error   string `json:"error"`
	} `json:"parts"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// readyServer serves a node over st and bus (nil: the in-process bus).
func readyServer(t *testing.T, st *store.SQL, bus cluster.Bus) string {
	t.Helper()
	return clusterServer(t, st, web.Config{}, web.Deps{Bus: bus})
}

// clusterServer serves a node over st with deps (a bus, collectors).
func clusterServer(t *testing.T, st *store.SQL, cfg web.Config, deps web.Deps) string {
	t.Helper()
	committer := store.NewCommitter(st, store.CommitterOptions{})
	jctx, stopJ := context.WithCancel(context.Background())
	jdone := make(chan struct{})
	go func() { _ = committer.Run(jctx); close(jdone) }()
	deps.Store, deps.Committer, deps.Bank, deps.Log = st, committer, questionbank.NewBank(), zerolog.Nop()
	srv := web.New(cfg, deps)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); stopJ(); <-jdone })
	return hs.URL
}

func getReady(t *testing.T, base string) (int, readyBody) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b readyBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("/readyz body %q: %v", raw, err)
	}
	return resp.StatusCode, b
}

// waitReady polls /readyz until it answers want (the pools reconnect on
// their own after a restart), and returns the body.
func waitReady(t *testing.T, base string, want int) readyBody {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b := getReady(t, base)
		if code == want {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz stayed %d (%+v); want %d", code, b, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReadyzOnSQLiteListsTheStoreOnly(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	code, b := getReady(t, readyServer(t, st, nil))
	if code != 200 || b.Status != "ready" || len(b.Parts) != 1 || !b.Parts["store"].OK || b.Parts["store"].Backend != "sqlite" {
		t.Fatalf("/readyz: %d %+v", code, b)
	}
}

// TestReadyzReportsPostgresAndRedis stops each server under a node and
// sees /readyz answer 503 naming it, then 200 once it is back.
func TestReadyzReportsPostgresAndRedis(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.StartServer(t)
	rd := redistest.StartServer(t)
	st, err := store.OpenPostgres(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bus, err := cluster.NewRedisBus(ctx, cluster.RedisConfig{URL: rd.URL() + "?timeout=500ms"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	base := readyServer(t, st, bus)

	b := waitReady(t, base, 200)
	if b.Status != "ready" || !b.Parts["store"].OK || b.Parts["store"].Backend != "postgres" || !b.Parts["redis"].OK {
		t.Fatalf("all up: %+v", b)
	}

	pg.Stop(t)
	b = waitReady(t, base, 503)
	if b.Status != "unavailable" || b.Parts["store"].OK || b.Parts["store"].Error == "" || !b.Parts["redis"].OK || b.Error == nil || b.Error.Code != "unavailable" {
		t.Fatalf("PostgreSQL down: %+v", b)
	}
	pg.Start(t)
	if b = waitReady(t, base, 200); !b.Parts["store"].OK {
		t.Fatalf("PostgreSQL back: %+v", b)
	}

	rd.Stop(t)
	b = waitReady(t, base, 503)
	if b.Status != "unavailable" || b.Parts["redis"].OK || b.Parts["redis"].Error == "" || !b.Parts["store"].OK {
		t.Fatalf("Redis down: %+v", b)
	}
	rd.Start(t)
	if b = waitReady(t, base, 200); !b.Parts["redis"].OK || !b.Parts["store"].OK {
		t.Fatalf("Redis back: %+v", b)
	}
}
