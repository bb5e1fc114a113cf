package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// With a metrics listener of its own, /metrics is served there and only
// there; the listener closes when the server stops.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	committer := store.NewCommitter(st, store.CommitterOptions{})
	jctx, stopJ := context.WithCancel(ctx)
	jdone := make(chan struct{})
	go func() { _ = committer.Run(jctx); close(jdone) }()
	defer func() { stopJ(); <-jdone }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{}, web.Deps{Store: st, Committer: committer, Bank: questionbank.NewBank(), Log: zerolog.Nop(), MetricsListener: mln})
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(sctx, ln) }()
	stopped := false
	defer func() {
		if !stopped {
			stop()
			<-done
		}
	}()

	get := func(addr, path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	main, metrics := ln.Addr().String(), mln.Addr().String()
	if code, _ := get(main, "/healthz"); code != 200 {
		t.Fatalf("main /healthz: %d", code)
	}
	if code, body := get(main, "/metrics"); code != 404 || strings.Contains(body, "leitai_") {
		t.Fatalf("main /metrics: %d %.200s", code, body)
	}
	if code, body := get(metrics, "/metrics"); code != 200 || !strings.Contains(body, "leitai_connections") {
		t.Fatalf("metrics listener /metrics: %d %.200s", code, body)
	}
	for _, path := range []string{"/", "/healthz", "/admin", "/api/v1/events"} {
		if code, _ := get(metrics, path); code != 404 {
			t.Errorf("metrics listener serves %s: %d", path, code)
		}
	}

	stop()
	stopped = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", metrics); err == nil {
		c.Close()
		t.Fatal("the metrics listener is still open after Run returned")
	}
}

// Every metric of a node carries its id, so one Prometheus can tell the
// nodes of a cluster apart.
func TestMetricsNameTheNode(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Node = "n-test7" })
	resp, err := http.Get(h.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := 0
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		if !strings.Contains(line, `node="n-test7"`) {
			t.Fatalf("a metric without the node: %s", line)
		}
	}
	if lines == 0 {
		t.Fatal("no metrics")
	}
}
