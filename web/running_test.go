package web_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// Running is closed only once Run has begun, so a test that serves
// Handler on a listener of its own (a second door) waits for it.
func TestRunningClosesWhenRunBegins(t *testing.T) {
	ctx := context.Background()
	sq, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	committer := store.NewCommitter(sq, store.CommitterOptions{})
	jctx, stopJ := context.WithCancel(ctx)
	jdone := make(chan struct{})
	go func() { _ = committer.Run(jctx); close(jdone) }()
	defer func() { stopJ(); <-jdone }()
	srv := web.New(web.Config{}, web.Deps{Store: sq, Committer: committer, Bank: questionbank.NewBank(), Log: zerolog.Nop()})
	select {
	case <-srv.Running():
		t.Fatal("Running closed before Run")
	default:
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = srv.Run(rctx, ln); close(done) }()
	defer func() { stop(); <-done }()
	select {
	case <-srv.Running():
	case <-done:
		t.Fatal("Run returned before it was running")
	case <-time.After(10 * time.Second):
		t.Fatal("Running not closed 10 s after Run began")
	}
}
