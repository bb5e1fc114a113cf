package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

func TestClusterFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"--redis", "redis://127.0.0.1:6379"}, {"--db", "postgres://x"}} {
		if _, err := parseServe(args); err == nil || !strings.Contains(err.Error(), "not available") {
			t.Fatalf("%v: err = %v", args, err)
		}
	}
	t.Setenv("LEITAI_REDIS", "redis://127.0.0.1:6379")
	if _, err := parseServe(nil); err == nil {
		t.Fatal("LEITAI_REDIS was silently ignored")
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
	st, err := openStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, created, err := organizerToken(ctx, st, dir, "")
	if err != nil || !created || len(tok) < 40 {
		t.Fatalf("token %q created %v err %v", tok, created, err)
	}
	again, created, _ := organizerToken(ctx, st, dir, "")
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
