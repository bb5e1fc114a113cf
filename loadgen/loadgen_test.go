package loadgen_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/loadgen"
)

// answerCodes are the documented refusals an answer may get under load:
// too late for the player's deadline, or for a question no longer open.
var answerCodes = map[string]bool{"answer:too_late": true, "answer:wrong_phase": true}

func TestDuelsOverRealServer(t *testing.T) {
	url, _ := startServer(t)
	var phases []string
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: url, Mode: "duel", Rooms: 20, Duration: 3 * time.Second,
		ThinkMin: 20 * time.Millisecond, ThinkMax: 300 * time.Millisecond,
		Addrs: 2, Drain: 20 * time.Second,
		OnPhase: func(p string) { phases = append(phases, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if got := strings.Join(phases, ","); got != "connected,draining,done" {
		t.Errorf("phases = %s", got)
	}
	if res.Connected != 40 || res.DialFailed != 0 || res.Lost != 0 || res.Forced != 0 {
		t.Errorf("connected %d, dial failed %d, lost %d, forced %d; want 40, 0, 0, 0", res.Connected, res.DialFailed, res.Lost, res.Forced)
	}
	if res.MatchesFinished == 0 {
		t.Error("no match finished in the window")
	}
	if len(res.Violations) != 0 {
		t.Errorf("violations: %v", res.Violations)
	}
	a := res.Answers
	if a.Sent == 0 || a.Unresolved != 0 || a.Acked+a.Errors != a.Sent || a.Duplicates != 0 {
		t.Errorf("answers %+v: every answer must be acked or refused", a)
	}
	if res.Ack.Count != a.Acked {
		t.Errorf("ack samples %d, acks %d", res.Ack.Count, a.Acked)
	}
	for code, n := range res.Errors {
		if strings.HasPrefix(code, "answer:") && answerCodes[code] {
			continue
		}
		// At the end a cancel may cross the match.found already on its way.
		if code == "match.cancel:not_found" {
			continue
		}
		t.Errorf("unexpected error %s ×%d (samples %q)", code, n, res.ErrorSamples)
	}
}

func TestFourOverRealServer(t *testing.T) {
	url, _ := startServer(t)
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: url, Mode: "four", Rooms: 5, Duration: 2 * time.Second,
		ThinkMin: 20 * time.Millisecond, ThinkMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MatchesFinished+res.MatchesDrain == 0 || len(res.Violations) != 0 || res.Answers.Unresolved != 0 {
		t.Errorf("result %+v", *res)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"ws://192.0.2.1:8080/ws", "ws://8.8.8.8/ws", "ws://[2001:db8::1]:8080/ws"} {
		_, err := loadgen.Run(context.Background(), loadgen.Config{URL: u, Rooms: 1, Duration: time.Second})
		if !errors.Is(err, loadgen.ErrNotLoopback) {
			t.Errorf("%s: err = %v, want ErrNotLoopback", u, err)
		}
	}
	for _, u := range []string{"ws://127.0.0.1:8080/ws", "ws://[::1]:8080/ws", "ws://127.9.9.9/ws"} {
		if err := loadgen.CheckLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if err := loadgen.CheckLoopback("http://127.0.0.1:8080/ws"); !errors.Is(err, loadgen.ErrBadConfig) {
		t.Errorf("http URL: %v", err)
	}
}

func BenchmarkDuels(b *testing.B) {
	url, _ := startServer(b)
	b.ReportAllocs()
	var matches, seconds, p99 float64
	for b.Loop() {
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: url, Mode: "duel", Rooms: 100, Duration: 8 * time.Second,
			ThinkMin: 50 * time.Millisecond, ThinkMax: 500 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%+v", *res)
		matches += float64(res.MatchesFinished)
		seconds += res.WindowSeconds
		p99 = max(p99, res.Ack.P99)
	}
	b.ReportMetric(matches/seconds, "matches/s")
	b.ReportMetric(p99, "ack-p99-ms")
}

func TestNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: "ws://" + addr + "/ws", Rooms: 2, Duration: time.Second})
	if !errors.Is(err, loadgen.ErrNoPlayers) || res == nil || res.DialFailed != 4 {
		t.Fatalf("err = %v, result %+v; want ErrNoPlayers after 4 failed dials", err, res)
	}
}
