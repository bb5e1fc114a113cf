package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openPostgres opens a store on a fresh database of the test server and
// closes it when the test ends.
func openPostgres(t testing.TB) *store.SQL {
	t.Helper()
	url := pgtest.URL(t)
	s, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

// TestPostgresDurableCommit checks that the store's sessions commit with
// synchronous_commit on, whatever the server's default: a commit returns
// only once its WAL is flushed.
func TestPostgresDurableCommit(t *testing.T) {
	s := openPostgres(t)
	got, err := store.WriterSetting(t.Context(), s, "synchronous_commit")
	if err != nil {
		t.Fatal(err)
	}
	if got != "on" {
		t.Fatalf("synchronous_commit = %s, want on", got)
	}
	if s.Backend() != "postgres" {
		t.Fatalf("Backend() = %q", s.Backend())
	}
}

// TestPostgresReopen checks that migrations run once and concurrent opens
// of one database (nodes starting together) all succeed.
func TestPostgresReopen(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := store.Open(ctx, url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := store.SchemaVersions(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if want := store.MigrationCount(); n != want {
		t.Fatalf("%d schema versions recorded, want %d", n, want)
	}
}

// TestOpenChoosesByScheme checks that Open takes a postgres:// or
// postgresql:// URL for PostgreSQL and anything else for a SQLite path,
// and that a malformed URL is a clear error.
func TestOpenChoosesByScheme(t *testing.T) {
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != "sqlite" {
		t.Fatalf("a file path opened %q", s.Backend())
	}
	for _, u := range []string{"postgres://%zz", "postgresql://u@127.0.0.1:1/x?connect_timeout=1&sslmode=disable"} {
		if s, err := store.Open(t.Context(), u); err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", u)
		} else if !strings.Contains(err.Error(), "postgres") {
			t.Fatalf("Open(%q): %v does not say it was PostgreSQL", u, err)
		}
	}
	for dsn, want := range map[string]bool{"postgres://h/db": true, "postgresql://h/db": true, "/var/lib/leitai.db": false, "pg.db": false} {
		if store.IsPostgresURL(dsn) != want {
			t.Errorf("IsPostgresURL(%q) = %v", dsn, !want)
		}
	}
}
