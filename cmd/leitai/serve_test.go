package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// TestClusterFlags: --redis starts cluster mode only beside a PostgreSQL
// --db; without one, or with a URL that is not Redis's, it is refused with
// a clear error.
func TestClusterFlags(t *testing.T) {
	if _, err := parseServe([]string{"--redis", "redis://127.0.0.1:6379"}); err == nil || !strings.Contains(err.Error(), "needs --db") {
		t.Fatalf("--redis without --db: err = %v", err)
	}
	const pg = "postgres://u@127.0.0.1:5432/leitai"
	if _, err := parseServe([]string{"--redis", "http://127.0.0.1:6379", "--db", pg}); err == nil || !strings.Contains(err.Error(), "--redis") {
		t.Fatalf("--redis http://: err = %v", err)
	}
	f, err := parseServe([]string{"--redis", "redis://127.0.0.1:6379", "--db", pg})
	if err != nil || f.redis != "redis://127.0.0.1:6379" {
		t.Fatalf("--redis with --db: %+v, %v", f, err)
	}
	t.Setenv("LEITAI_REDIS", "redis://127.0.0.1:6379")
	if _, err := parseServe(nil); err == nil {
		t.Fatal("LEITAI_REDIS without a --db was silently accepted")
	}
	t.Setenv("LEITAI_DB", pg)
	if f, err := parseServe(nil); err != nil || f.redis == "" {
		t.Fatalf("LEITAI_REDIS and LEITAI_DB: %+v, %v", f, err)
	}
}

// TestLeaseTTLFlag: --lease-ttl (LEITAI_LEASE_TTL) sets how long a room's
// lease lasts unrenewed, 2 s unless given; a value outside 500ms..1m is
// refused with a clear error.
func TestLeaseTTLFlag(t *testing.T) {
	f, err := parseServe(nil)
	if err != nil || f.leaseTTL != 2*time.Second {
		t.Fatalf("default: %+v, %v", f, err)
	}
	if f, err = parseServe([]string{"--lease-ttl", "10s"}); err != nil || f.leaseTTL != 10*time.Second {
		t.Fatalf("--lease-ttl 10s: %+v, %v", f, err)
	}
	for _, v := range []string{"0", "100ms", "2m"} {
		if _, err := parseServe([]string{"--lease-ttl", v}); err == nil || !strings.Contains(err.Error(), "--lease-ttl") {
			t.Fatalf("--lease-ttl %s: err = %v", v, err)
		}
	}
	t.Setenv("LEITAI_LEASE_TTL", "6s")
	if f, err = parseServe(nil); err != nil || f.leaseTTL != 6*time.Second {
		t.Fatalf("LEITAI_LEASE_TTL=6s: %+v, %v", f, err)
	}
}

// TestJournalLingerFlag: --journal-linger (LEITAI_JOURNAL_LINGER) sets the
// committer's linger, store.DefaultLinger unless given; 0 turns it off (the
// committer's negative), and a value below 0 or above 50ms is refused with
// a clear error.
func TestJournalLingerFlag(t *testing.T) {
	f, err := parseServe(nil)
	if err != nil || f.journalLinger != store.DefaultLinger || f.committerOptions(zerolog.Nop()).Linger != store.DefaultLinger {
		t.Fatalf("default: %+v, %v", f, err)
	}
	if f, err = parseServe([]string{"--journal-linger", "2ms"}); err != nil || f.committerOptions(zerolog.Nop()).Linger != 2*time.Millisecond {
		t.Fatalf("--journal-linger 2ms: %+v, %v", f, err)
	}
	if f, err = parseServe([]string{"--journal-linger", "0"}); err != nil || f.committerOptions(zerolog.Nop()).Linger >= 0 {
		t.Fatalf("--journal-linger 0: %+v, %v", f, err)
	}
	for _, v := range []string{"-1ms", "51ms", "1s"} {
		if _, err := parseServe([]string{"--journal-linger", v}); err == nil || !strings.Contains(err.Error(), "--journal-linger") {
			t.Fatalf("--journal-linger %s: err = %v", v, err)
		}
	}
	t.Setenv("LEITAI_JOURNAL_LINGER", "3ms")
	if f, err = parseServe(nil); err != nil || f.journalLinger != 3*time.Millisecond {
		t.Fatalf("LEITAI_JOURNAL_LINGER=3ms: %+v, %v", f, err)
	}
}

func TestDBFlag(t *testing.T) {
	for _, db := range []string{"postgres://u@127.0.0.1:5432/leitai", "postgresql://u@db/leitai?sslmode=disable"} {
		f, err := parseServe([]string{"--db", db})
		if err != nil || f.db != db {
			t.Fatalf("--db %s: %+v, %v", db, f, err)
		}
	}
	for _, db := range []string{"/var/lib/leitai.db", "mysql://x", "redis://127.0.0.1"} {
		if _, err := parseServe([]string{"--db", db}); err == nil || !strings.Contains(err.Error(), "PostgreSQL URL") {
			t.Fatalf("--db %s: err = %v", db, err)
		}
	}
	t.Setenv("LEITAI_DB", "postgres://u@127.0.0.1/leitai")
	if f, err := parseServe(nil); err != nil || f.db != "postgres://u@127.0.0.1/leitai" {
		t.Fatalf("LEITAI_DB: %+v, %v", f, err)
	}
}

func TestFlagsHaveEnvironmentTwins(t *testing.T) {
	t.Setenv("LEITAI_ADDR", "127.0.0.1:9999")
	t.Setenv("LEITAI_DATA", "/tmp/x")
	t.Setenv("LEITAI_ADMIN_TOKEN", "tok")
	f, err := parseServe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.addr != "127.0.0.1:9999" || f.data != "/tmp/x" || f.adminToken != "tok" {
		t.Fatalf("flags %+v", f)
	}
	f, _ = parseServe([]string{"--addr", ":1"})
	if f.addr != ":1" {
		t.Fatal("a flag should win over its environment twin")
	}
}

func TestRTTCreditMaxFlag(t *testing.T) {
	f, err := parseServe(nil)
	if err != nil || f.rttCreditMax != 350*time.Millisecond {
		t.Fatalf("default: %v, %v", f, err)
	}
	t.Setenv("LEITAI_RTT_CREDIT_MAX", "200ms")
	if f, err = parseServe(nil); err != nil || f.rttCreditMax != 200*time.Millisecond {
		t.Fatalf("from the environment: %v, %v", f, err)
	}
	for _, bad := range []string{"0s", "-1s", "3s"} {
		if _, err := parseServe([]string{"--rtt-credit-max", bad}); err == nil || !strings.Contains(err.Error(), "rtt-credit-max") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

func TestOrganizerTokenIsMadeOnceAndStoredHashed(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := openStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, created, _, err := organizerToken(ctx, st, dir, "")
	if err != nil || !created || len(tok) < 40 {
		t.Fatalf("token %q created %v err %v", tok, created, err)
	}
	again, created, _, _ := organizerToken(ctx, st, dir, "")
	if again != tok || created {
		t.Fatal("the token changed on the second start")
	}
	if _, err := st.Token(ctx, tok); err == nil {
		t.Fatal("the token is stored in clear")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	if strings.TrimSpace(string(b)) != tok {
		t.Fatal("the token file does not hold the token")
	}
}

// A restart with another organizer token revokes the one before it, whether
// that one was generated or given; the file keeps the token in force.
func TestChangedOrganizerTokenRevokesTheOldOne(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := openStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(web.New(web.Config{}, web.Deps{Store: st, Bank: questionbank.NewBank(), Log: zerolog.Nop()}).Handler())
	defer srv.Close()
	status := func(tok string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := func(given string) (string, int) {
		t.Helper()
		tok, _, revoked, err := organizerToken(ctx, st, dir, given)
		if err != nil {
			t.Fatal(err)
		}
		return tok, revoked
	}

	generated, _ := start("")
	if status(generated) != 200 {
		t.Fatal("the generated token does not work")
	}
	chosen, revoked := start("chosen-organizer-token-1")
	if revoked != 1 {
		t.Errorf("revoked %d tokens, want 1", revoked)
	}
	if got := status(generated); got != 401 {
		t.Fatalf("the generated token still answers %d after a new one was given", got)
	}
	if status(chosen) != 200 {
		t.Fatal("the given token does not work")
	}
	rotated, _ := start("chosen-organizer-token-2")
	if got := status(chosen); got != 401 {
		t.Fatalf("the rotated-out token still answers %d", got)
	}
	// A start without the flag keeps the token in force, from the file.
	if again, revoked := start(""); again != rotated || revoked != 0 {
		t.Fatalf("restart without the flag: token %q revoked %d", again, revoked)
	}
	if status(rotated) != 200 {
		t.Fatal("the rotated-in token does not work after a plain restart")
	}
	// Deleting the file and restarting makes a new token and revokes the old.
	_ = os.Remove(filepath.Join(dir, "admin-token"))
	fresh, revoked := start("")
	if fresh == rotated || revoked != 1 || status(rotated) != 401 || status(fresh) != 200 {
		t.Fatalf("regenerating: revoked %d, old %d, new %d", revoked, status(rotated), status(fresh))
	}
}

// The organizer token reaches the log once, when it is made, and only on
// a terminal; otherwise the banner says where it is kept.
func TestBannerShowsTheTokenOnceOnATerminal(t *testing.T) {
	const tok = "secret-organizer-token"
	for _, tc := range []struct {
		created, terminal, shown bool
	}{
		{true, true, true},
		{true, false, false},
		{false, true, false},
		{false, false, false},
	} {
		var b strings.Builder
		banner(&b, "http://localhost:8080", "/var/lib/leitai", "/var/lib/leitai", 10, tok, tc.created, tc.terminal)
		out := b.String()
		if strings.Contains(out, tok) != tc.shown {
			t.Errorf("created %v terminal %v: token shown %v, want %v:\n%s", tc.created, tc.terminal, !tc.shown, tc.shown, out)
		}
		if !tc.shown && !strings.Contains(out, "/var/lib/leitai/admin-token") {
			t.Errorf("created %v terminal %v: the banner does not say where the token is kept:\n%s", tc.created, tc.terminal, out)
		}
	}
}

// --metrics-addr (and its environment twin) moves /metrics off the main
// address onto its own.
func TestMetricsAddrFlag(t *testing.T) {
	t.Setenv("LEITAI_METRICS_ADDR", "127.0.0.1:9")
	if f, err := parseServe(nil); err != nil || f.metricsAddr != "127.0.0.1:9" {
		t.Fatalf("LEITAI_METRICS_ADDR: %+v %v", f, err)
	}
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	addr, metrics := free(), free()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--data", t.TempDir(), "--addr", addr, "--metrics-addr", metrics, "--log-level", "error"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	get := func(addr, path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(20 * time.Second); get(addr, "/healthz") != 200; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not come up")
		}
	}
	if code := get(addr, "/metrics"); code != 404 {
		t.Errorf("/metrics on the main address: %d, want 404", code)
	}
	if code := get(metrics, "/metrics"); code != 200 {
		t.Errorf("/metrics on the metrics address: %d, want 200", code)
	}
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(good, []byte("type,text,a,b,answer,category\nsingle,1+1=?,2,3,A,math\ntruefalse,地球是圆的,,,T,science\n"), 0o644)
	_ = os.WriteFile(bad, []byte("type,text,a,b,answer\nsingle,ok?,1,2,A\nsingle,,1,2,A\nsingle,x,1,2,Z\n"), 0o644)
	ctx := context.Background()
	err := importCmd(ctx, []string{"--data", dir, bad})
	if err == nil || !strings.Contains(err.Error(), "2 bad rows") {
		t.Fatalf("bad file: %v", err)
	}
	if err := importCmd(ctx, []string{"--data", dir, "--name", "算术", good}); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sets, _ := st.QuestionSets(ctx)
	if len(sets) != 1 || sets[0].Name != "算术" || sets[0].Count != 2 {
		t.Fatalf("stored sets %+v (the bad file must have stored nothing)", sets)
	}
}

func TestAddrMaxConnsFlag(t *testing.T) {
	f, err := parseServe(nil)
	if err != nil || f.maxConns != 2000 {
		t.Fatalf("default: %v, %v", f, err)
	}
	t.Setenv("LEITAI_ADDR_MAX_CONNS", "50000")
	if f, err = parseServe(nil); err != nil || f.maxConns != 50000 {
		t.Fatalf("from the environment: %v, %v", f, err)
	}
	for _, bad := range []string{"0", "-1"} {
		if _, err := parseServe([]string{"--addr-max-conns", bad}); err == nil || !strings.Contains(err.Error(), "addr-max-conns") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
