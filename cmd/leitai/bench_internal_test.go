package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/leitai/leitai/loadgen"
)

// TestBenchSplitsMemory feeds the monitor an idle page and two busier ones
// and checks the report's memory arithmetic: RSS per connection as before,
// the Go runtime's growth per connection, and what is held outside it
// reported whole.
func TestBenchSplitsMemory(t *testing.T) {
	const mib = 1 << 20
	page := func(conns, rss, sys, released, stacks float64) string {
		var b strings.Builder
		for _, kv := range []struct {
			k string
			v float64
		}{{"leitai_connections", conns}, {"process_resident_memory_bytes", rss}, {"go_memstats_sys_bytes", sys},
			{"go_memstats_heap_released_bytes", released}, {"go_memstats_stack_inuse_bytes", stacks}} {
			b.WriteString(kv.k + " " + strconv.FormatFloat(kv.v, 'f', -1, 64) + "\n")
		}
		return b.String()
	}
	var mu sync.Mutex
	body := page(0, 40*mib, 30*mib, 5*mib, 1*mib) // Go holds 25 MiB, 15 outside
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, body)
	}))
	defer srv.Close()
	set := func(s string) { mu.Lock(); body = s; mu.Unlock() }

	ctx := context.Background()
	m := newMonitor(loadgen.NewProbes([]string{"ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}, nil))
	m.mark(ctx, "idle")
	// 1,000 connections: Go at 65 MiB (+40 MiB, 41 KiB each, 9 of stacks),
	// 95 MiB outside it (SQLite's cache filling).
	set(page(1000, 160*mib, 80*mib, 15*mib, 1*mib+9*1000*1024))
	m.take(ctx)
	// Later, fewer connections, a larger cache: the peaks are kept apart.
	set(page(900, 200*mib, 70*mib, 15*mib, 1*mib))
	m.take(ctx)

	s := m.summary(&loadgen.Result{PeakConnections: 1000})
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("RSS idle MiB", s.RSSIdleMiB, 40)
	near("RSS peak MiB", s.RSSPeakMiB, 200)
	near("RSS KiB per connection", s.KiBPerConn, 160.0*1024/1000)
	near("Go idle MiB", s.GoIdleMiB, 25)
	near("Go peak MiB", s.GoPeakMiB, 65)
	near("Go KiB per connection", s.GoKiBPerConn, 40.0*1024/1000)
	near("stack KiB per connection", s.StackKiBPerConn, 9)
	near("outside Go idle MiB", s.OutsideGoIdleMiB, 15)
	near("outside Go peak MiB", s.OutsideGoPeakMiB, 145)

	// A server whose page has no Go figures: those are not measured, RSS is.
	m = newMonitor(loadgen.NewProbes([]string{"ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}, nil))
	set("leitai_connections 0\nprocess_resident_memory_bytes 1048576\n")
	m.mark(ctx, "idle")
	set("leitai_connections 10\nprocess_resident_memory_bytes 2097152\n")
	m.take(ctx)
	s = m.summary(&loadgen.Result{})
	near("RSS KiB per connection", s.KiBPerConn, 102.4)
	if s.GoKiBPerConn != -1 || s.OutsideGoPeakMiB != -1 || s.StackKiBPerConn != -1 {
		t.Errorf("Go figures reported without Go metrics: %+v", s)
	}
}

func TestKiBPerConn(t *testing.T) {
	if got := kibPerConn(1024, 3*1024, 2); got != 1 {
		t.Errorf("kibPerConn = %v, want 1", got)
	}
	for _, c := range [][3]float64{{-1, 10, 1}, {0, -1, 1}, {0, 10, 0}} {
		if got := kibPerConn(c[0], c[1], c[2]); got != -1 {
			t.Errorf("kibPerConn%v = %v, want -1", c, got)
		}
	}
}
