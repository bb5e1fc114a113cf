package web_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// sample returns the value of the one series of /metrics text that starts
// with prefix (name and labels), failing if there is not exactly one.
func sample(t *testing.T, text, prefix string) float64 {
	t.Helper()
	var found []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one series %s, have %q", prefix, found)
	}
	f := strings.Fields(found[0])
	v, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJournalMetricsAreLabelledByBackend: one family per name on /metrics,
// the committer's, labelled with the backend and the node (no unlabelled
// twin of the same name).
func TestJournalMetricsAreLabelledByBackend(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Node = "n-j" })
	text := scrape(t, h.url("/metrics"))
	for _, name := range []string{"leitai_journal_batches_total", "leitai_journal_entries_total", "leitai_journal_failed_entries_total", "leitai_journal_stale_entries_total"} {
		if n := strings.Count(text, "# TYPE "+name+" "); n != 1 {
			t.Errorf("%s: %d families", name, n)
		}
		sample(t, text, name+`{backend="sqlite",node="n-j"}`)
		if regexp.MustCompile(`(?m)^` + name + ` `).MatchString(text) {
			t.Errorf("%s without labels is still there", name)
		}
	}
	sample(t, text, `leitai_journal_commit_seconds_count{backend="sqlite",node="n-j"}`)
}

// TestClusterMetricsOnPostgresAndRedis serves a node on a real PostgreSQL
// with its bus on a real Redis, and reads the bus, lease and journal
// metrics from /metrics.
func TestClusterMetricsOnPostgresAndRedis(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.StartServer(t)
	rd := redistest.StartServer(t)
	st, err := store.OpenPostgres(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bm := cluster.NewMetrics("n-c")
	bus, err := cluster.NewRedisBus(ctx, cluster.RedisConfig{URL: rd.URL(), Metrics: bm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	base := clusterServer(t, st, web.Config{Node: "n-c"}, web.Deps{Bus: bus, Collectors: bm.Collectors()})

	before := sample(t, scrape(t, base+"/metrics"), `leitai_bus_published_total{node="n-c"}`)
	got := make(chan struct{}, 1)
	cancel, err := bus.Subscribe(ctx, "ops-test:1", func([]byte) { got <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	deadline := time.Now().Add(10 * time.Second)
	// A subscription is confirmed asynchronously: publish until one
	// arrives.
	for delivered := false; !delivered; {
		if err := bus.Publish(ctx, "ops-test:1", []byte("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			delivered = true
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no delivery")
			}
		}
	}
	if _, ok, err := bus.TakeLease(ctx, "room-ops-1", "n-c", time.Minute); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}

	text := scrape(t, base+"/metrics")
	if v := sample(t, text, `leitai_bus_published_total{node="n-c"}`); v < before+1 {
		t.Errorf("published %v, was %v", v, before)
	}
	if v := sample(t, text, `leitai_bus_received_total{node="n-c"}`); v < 1 {
		t.Errorf("received %v", v)
	}
	if v := sample(t, text, `leitai_bus_publish_seconds_count{node="n-c"}`); v < 1 {
		t.Errorf("publish latency observations %v", v)
	}
	if v := sample(t, text, `leitai_leases_held{node="n-c"}`); v != 1 {
		t.Errorf("leases held %v", v)
	}
	sample(t, text, `leitai_leases_taken_over_total{node="n-c"}`)
	sample(t, text, `leitai_journal_batches_total{backend="postgres",node="n-c"}`)
	sample(t, text, `leitai_journal_commit_seconds_count{backend="postgres",node="n-c"}`)
}
