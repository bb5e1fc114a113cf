package stage_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/doortest"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/loadgen/stage"
)

// TestEventSpreadOverNodeURLs runs the event bench with its contestants
// spread over two URLs, the server's CPU summed over two process ids and a
// real Redis's CPU read beside it.
func TestEventSpreadOverNodeURLs(t *testing.T) {
	url, srv := startWebServer(t)
	second, count := doortest.Second(t, srv.Handler())
	rd := redistest.StartServer(t)
	var log strings.Builder
	rep, err := stage.Run(context.Background(), stage.Config{
		URLs: []string{url, second}, AdminToken: organizerToken, Contestants: 40, Workers: 2, Questions: 3,
		ServerPIDs: []int{os.Getpid(), os.Getpid()}, RedisURL: rd.URL(),
		AnswerWithin: 200 * time.Millisecond, TimeLimit: 30 * time.Second,
		Settle: 50 * time.Millisecond, Wait: 20 * time.Second, ConnectTimeout: 30 * time.Second,
		SkipBare: true, Spawn: stage.InProcessWorkers(), Log: &log,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log(out.String())
	if !rep.Checks.OK() || rep.Leitai.Ready != 40 {
		t.Fatalf("checks %+v, ready %d", rep.Checks, rep.Leitai.Ready)
	}
	// Each worker sends every other contestant to the second URL; the
	// host and the sentinel use the first.
	if n := count(); n != 20 {
		t.Errorf("%d of 40 contestants came through the second URL; want 20", n)
	}
	if rep.Nodes != 2 || rep.URL != url+","+second {
		t.Errorf("report: %d nodes, URL %q", rep.Nodes, rep.URL)
	}
	if len(rep.RedisCPUPerAnswerUS) != 3 {
		t.Fatalf("Redis CPU per answer for %d questions, want 3", len(rep.RedisCPUPerAnswerUS))
	}
	for i, w := range rep.Answering {
		if w.RedisCores < 0 || rep.RedisCPUPerAnswerUS[i] < 0 || w.ServerCores < 0 {
			t.Errorf("question %d: redis %v cores, %v µs per answer; server %v cores", i, w.RedisCores, rep.RedisCPUPerAnswerUS[i], w.ServerCores)
		}
	}
	if !strings.Contains(out.String(), "redis ") {
		t.Errorf("the printed report does not show Redis's CPU:\n%s", out.String())
	}
}
