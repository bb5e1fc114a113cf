package loadgen_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/doortest"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/loadgen"
)

func TestParseURLsAndPIDs(t *testing.T) {
	us, err := loadgen.ParseURLs("ws://127.0.0.1:1/ws, ws://127.0.0.1:2/ws,")
	if err != nil || len(us) != 2 || us[1] != "ws://127.0.0.1:2/ws" {
		t.Fatalf("ParseURLs: %v %v", us, err)
	}
	for _, bad := range []string{"", ",", "ws://127.0.0.1:1/ws,ws://10.0.0.1:2/ws", "http://127.0.0.1:1/ws"} {
		if _, err := loadgen.ParseURLs(bad); err == nil {
			t.Errorf("ParseURLs(%q) accepted it", bad)
		}
	}
	ps, err := loadgen.ParsePIDs(" 12,34 ")
	if err != nil || len(ps) != 2 || ps[0] != 12 || ps[1] != 34 {
		t.Fatalf("ParsePIDs: %v %v", ps, err)
	}
	if ps, err := loadgen.ParsePIDs(""); err != nil || len(ps) != 0 {
		t.Fatalf("ParsePIDs(\"\"): %v %v", ps, err)
	}
	for _, bad := range []string{"x", "0", "-3", "1,,y"} {
		if _, err := loadgen.ParsePIDs(bad); err == nil {
			t.Errorf("ParsePIDs(%q) accepted it", bad)
		}
	}
}

func TestParseInfoCPU(t *testing.T) {
	v, err := loadgen.ParseInfoCPU("# CPU\r\nused_cpu_sys:1.50\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:9\r\n")
	if err != nil || v != 3.75 {
		t.Fatalf("ParseInfoCPU: %v %v", v, err)
	}
	if _, err := loadgen.ParseInfoCPU("# CPU\r\nused_cpu_sys:1.5\r\n"); err == nil {
		t.Error("a reply without used_cpu_user was accepted")
	}
	if _, err := loadgen.ParseInfoCPU("used_cpu_sys:x\r\nused_cpu_user:1\r\n"); err == nil {
		t.Error("a bad number was accepted")
	}
}

// metricsPage serves a fixed /metrics page.
func metricsPage(t *testing.T, body string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	t.Cleanup(s.Close)
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
}

func TestProbesAddTheNodesUp(t *testing.T) {
	a := metricsPage(t, "leitai_connections 10\nprocess_resident_memory_bytes 1000\nprocess_cpu_seconds_total 1.5\nleitai_rooms_finished_total 3\n")
	b := metricsPage(t, "leitai_connections 5\nprocess_resident_memory_bytes 500\nprocess_cpu_seconds_total 0.5\nleitai_rooms_finished_total 4\n")
	s, err := loadgen.NewProbes([]string{a, b}, nil).Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Connections != 15 || s.RSSBytes != 1500 || s.CPUSeconds != 2 || s.Counters["leitai_rooms_finished_total"] != 7 {
		t.Fatalf("sum: %+v", s)
	}
	if s.GoHeldBytes != -1 || s.GoStackBytes != -1 {
		t.Fatalf("Go memory read from pages without it: %+v", s)
	}
	c := metricsPage(t, "leitai_connections 1\ngo_memstats_sys_bytes 100\ngo_memstats_heap_released_bytes 30\ngo_memstats_stack_inuse_bytes 20\n")
	d := metricsPage(t, "leitai_connections 1\ngo_memstats_sys_bytes 50\ngo_memstats_heap_released_bytes 10\ngo_memstats_stack_inuse_bytes 5\n")
	if s, err = loadgen.NewProbes([]string{c, d}, nil).Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.GoHeldBytes != 110 || s.GoStackBytes != 25 {
		t.Fatalf("Go memory summed: held %v stacks %v, want 110 and 25", s.GoHeldBytes, s.GoStackBytes)
	}
	// A node that names itself labels every sample with node: still read;
	// a sample with other labels is not.
	e := metricsPage(t, "leitai_connections{node=\"n-1\"} 7\nprocess_resident_memory_bytes{node=\"n-1\"} 2048\n"+
		"leitai_rooms_finished_total{node=\"n-1\",mode=\"duel\"} 9\nleitai_slow_disconnects_total{node=\"n-1\"} 2\n")
	if s, err = loadgen.NewProbes([]string{e}, nil).Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Counters["leitai_rooms_finished_total"]; s.Connections != 7 || s.RSSBytes != 2048 || s.Counters["leitai_slow_disconnects_total"] != 2 || ok {
		t.Fatalf("node-labelled page: %+v", s)
	}
	// /proc by pid: this process twice is twice its CPU.
	pid := os.Getpid()
	one, err := loadgen.NewProbes(nil, []int{pid}).Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	two, err := loadgen.NewProbes(nil, []int{pid, pid}).Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if two.CPUSeconds < 2*one.CPUSeconds || two.RSSBytes < 1.5*one.RSSBytes || two.Source != "proc" {
		t.Fatalf("one %+v, two %+v", one, two)
	}
	// A node that cannot be read fails the sample: a sum without it would
	// be wrong.
	if _, err := loadgen.NewProbes([]string{a, "ws://127.0.0.1:1/ws"}, nil).Sample(context.Background()); err == nil {
		t.Fatal("a sum over an unreachable node")
	}
}

func TestRedisCPUReadsInfo(t *testing.T) {
	srv := redistest.StartServer(t)
	r, err := loadgen.NewRedisCPU(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := r.Seconds(context.Background())
	if err != nil || v <= 0 {
		t.Fatalf("Redis CPU: %v %v", v, err)
	}
	srv.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.Seconds(ctx); err == nil {
		t.Fatal("a stopped Redis gave a reading")
	}
	if _, err := loadgen.NewRedisCPU("http://x"); err == nil {
		t.Fatal("a bad URL was accepted")
	}
}

func TestDuelsSpreadOverNodeURLs(t *testing.T) {
	url, srv := startServer(t)
	second, count := doortest.Second(t, srv.Handler())
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URLs: []string{url, second}, Mode: "duel", Rooms: 10, Duration: 2 * time.Second,
		ThinkMin: 20 * time.Millisecond, ThinkMax: 200 * time.Millisecond, Drain: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Matches finished in the window, or while draining: a loaded machine
	// may stretch a match past the short window.
	if done := res.MatchesWarmup + res.MatchesFinished + res.MatchesDrain; res.Connected != 20 || done == 0 || len(res.Violations) != 0 {
		t.Fatalf("connected %d, finished %d, violations %v", res.Connected, done, res.Violations)
	}
	if n := count(); n != 10 {
		t.Fatalf("%d of 20 players came through the second URL; want every other one, 10", n)
	}
	if res.URL != url+","+second {
		t.Errorf("result URL %q", res.URL)
	}
}
