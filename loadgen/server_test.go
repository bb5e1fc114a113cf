package loadgen_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// startServer runs a real server on a loopback port, with a real SQLite
// store, the real clock and short match timings, and returns its /ws URL.
// It stops when the test ends.
func startServer(tb testing.TB) (wsURL string, srv *web.Server) {
	tb.Helper()
	wsURL, srv, _ = startServerWith(tb, nil)
	return wsURL, srv
}

// startServerWith is startServer with its configuration changed by edit
// (if not nil); it also returns the server's store.
func startServerWith(tb testing.TB, edit func(*web.Config)) (wsURL string, srv *web.Server, st store.Store) {
	tb.Helper()
	ctx := context.Background()
	sq, err := store.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "leitai.db"))
	if err != nil {
		tb.Fatal(err)
	}
	bank := questionbank.NewBank()
	sample, err := questionbank.Sample()
	if err != nil {
		tb.Fatal(err)
	}
	bank.Add("sample", sample)
	st = sq
	committer := store.NewCommitter(sq, store.CommitterOptions{})
	jctx, stopJ := context.WithCancel(ctx)
	jdone := make(chan struct{})
	go func() { _ = committer.Run(jctx); close(jdone) }()
	cfg := web.Config{
		MatchCountdown: 200 * time.Millisecond,
		RevealFor:      200 * time.Millisecond,
		MatchTimeLimit: 2 * time.Second,
		Match:          match.Config{Tick: 50 * time.Millisecond},
	}
	if edit != nil {
		edit(&cfg)
	}
	srv = web.New(cfg, web.Deps{Store: st, Committer: committer, Bank: bank, Log: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	sctx, stopS := context.WithCancel(ctx)
	sdone := make(chan struct{})
	go func() { _ = srv.Run(sctx, ln); close(sdone) }()
	tb.Cleanup(func() {
		stopS()
		<-sdone
		stopJ()
		<-jdone
		sq.Close()
	})
	return "ws://" + ln.Addr().String() + "/ws", srv, st
}
