package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// The tournament benchmarks (docs/benchmarks.md): they run only when
// LEITAI_BENCH_TOURNAMENT is set, on the wall clock, against a real server
// on loopback with a SQLite store, and report figures; they assert only
// that the work was done.
//
//	LEITAI_BENCH_TOURNAMENT=1 go test -count=1 -run TestBenchTournament -timeout 30m -v ./web
//
// Sizes: LEITAI_BENCH_ATTEMPTS (100000), LEITAI_BENCH_WORKERS (64 members
// playing at once), LEITAI_BENCH_SECONDS (180: the qualifier stops there
// if the attempts are not all made by then, and reports what it did),
// LEITAI_BENCH_DUELS (4096).
func benchEnv(t *testing.T, name string, def int) int {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

func benchHarness(t *testing.T) *harness {
	t.Helper()
	if os.Getenv("LEITAI_BENCH_TOURNAMENT") == "" {
		t.Skip("set LEITAI_BENCH_TOURNAMENT=1 to run the tournament benchmarks")
	}
	return startHarnessWith(t, harnessOpts{clock: clock.Real{}, cfg: func(c *web.Config) {
		c.MatchCountdown, c.RevealFor = time.Millisecond, time.Millisecond
		c.JoinsPerSecondPerAddr, c.JoinBurstPerAddr = 1e6, 1e6
		c.MessagesPerSecond, c.MessageBurst = 1e6, 1e6
		c.MaxConnsPerAddr = 100000
		c.TournamentTick = 20 * time.Millisecond
	}})
}

// pct is the p-th percentile of sorted ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// benchConn is a bare socket client for the benchmark's goroutines.
type benchConn struct {
	ws  *websocket.Conn
	seq int
}

type benchMsg struct {
	Type string          `json:"type"`
	Re   string          `json:"re"`
	Data json.RawMessage `json:"data"`
}

func (c *benchConn) send(typ string, data any) error {
	c.seq++
	return c.ws.WriteJSON(map[string]any{"type": typ, "id": strconv.Itoa(c.seq), "data": data})
}

// until reads messages until ok says one is it.
func (c *benchConn) until(ok func(m benchMsg) bool) (benchMsg, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var m benchMsg
		if err := c.ws.ReadJSON(&m); err != nil {
			return m, err
		}
		if m.Type == "error" && m.Re != "" {
			return m, fmt.Errorf("error: %s", m.Data)
		}
		if ok(m) {
			return m, nil
		}
	}
}

// TestBenchTournamentQualifier: a qualifier window taking
// LEITAI_BENCH_ATTEMPTS attempts (two questions each, five attempts per
// member) from LEITAI_BENCH_WORKERS members playing at once over real
// sockets, as fast as they are answered, while a reader asks for the live
// ranking over HTTP the whole time. Reported: attempts per second,
// attempt latency (tournament.attempt sent to room.finished read, with a
// 1 ms countdown and reveal), and the latency of ranking reads made about
// 20 times a second.
func TestBenchTournamentQualifier(t *testing.T) {
	h := benchHarness(t)
	total := benchEnv(t, "LEITAI_BENCH_ATTEMPTS", 100000)
	workers := benchEnv(t, "LEITAI_BENCH_WORKERS", 64)
	budget := time.Duration(benchEnv(t, "LEITAI_BENCH_SECONDS", 180)) * time.Second
	const perMember = 5
	now := time.Now()
	body := map[string]any{"id": "bench", "title": "bench", "config": map[string]any{
		"format": "duel", "field": 64, "pool": map[string]any{"sets": []string{"sample"}},
		"qualifier": map[string]any{"opens": now.Add(-time.Minute).Format(time.RFC3339), "closes": now.Add(2 * time.Hour).Format(time.RFC3339),
			"questions": 2, "minutes": 1, "attempts": perMember},
		"rounds": []string{now.Add(3 * time.Hour).Format(time.RFC3339), now.Add(4 * time.Hour).Format(time.RFC3339), now.Add(5 * time.Hour).Format(time.RFC3339),
			now.Add(6 * time.Hour).Format(time.RFC3339), now.Add(7 * time.Hour).Format(time.RFC3339), now.Add(8 * time.Hour).Format(time.RFC3339)},
	}}
	if code := h.api("POST", "/api/v1/tournaments", h.orgToken(), body, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var done, finished atomic.Int64
	var members atomic.Int64
	lat := make([][]time.Duration, workers)
	errs := make(chan error, workers)
	stop := make(chan struct{})
	var readLat []time.Duration
	var readRows int
	readerDone := make(chan struct{})
	go func() { // the ranking reader
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			at := time.Now()
			var r struct {
				Rows []json.RawMessage
				Of   int
			}
			if code := h.api("GET", "/api/v1/tournaments/bench/ranking?limit=100", "", nil, &r); code != http.StatusOK {
				errs <- fmt.Errorf("ranking: %d", code)
				return
			}
			readLat = append(readLat, time.Since(at))
			readRows = r.Of
			time.Sleep(50 * time.Millisecond) // a page's pace: about 20 reads a second
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for done.Load() < int64(total) && time.Since(start) < budget {
				members.Add(1)
				ws, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ws", nil)
				if err != nil {
					errs <- err
					return
				}
				c := &benchConn{ws: ws}
				if err := c.send("hello", map[string]any{"name": fmt.Sprintf("b%d", rng.IntN(1e6))}); err != nil {
					errs <- err
					return
				}
				if _, err := c.until(func(m benchMsg) bool { return m.Type == "welcome" }); err != nil {
					errs <- err
					return
				}
				for range perMember {
					if time.Since(start) >= budget || done.Add(1) > int64(total) {
						break
					}
					at := time.Now()
					if err := c.send("tournament.attempt", map[string]any{"tournament": "bench"}); err != nil {
						errs <- err
						return
					}
					m, err := c.until(func(m benchMsg) bool { return m.Type == "tournament.attempt_started" })
					if err != nil {
						errs <- err
						return
					}
					var st struct{ Room string }
					_ = json.Unmarshal(m.Data, &st)
					for {
						m, err := c.until(func(m benchMsg) bool { return m.Type == "question" || m.Type == "room.finished" })
						if err != nil {
							errs <- err
							return
						}
						if m.Type == "room.finished" {
							break
						}
						var q struct {
							Index    int
							Question struct {
								Type    string
								Options []struct{ Key string }
							}
						}
						_ = json.Unmarshal(m.Data, &q)
						a := map[string]any{"room": st.Room, "index": q.Index}
						if len(q.Question.Options) > 0 {
							a["choice"] = []string{q.Question.Options[rng.IntN(len(q.Question.Options))].Key}
						} else {
							a["text"] = "x"
						}
						if err := c.send("answer", a); err != nil {
							errs <- err
							return
						}
					}
					lat[w] = append(lat[w], time.Since(at))
					if n := finished.Add(1); n%10000 == 0 {
						t.Logf("… %d attempts in %v (%.0f/s)", n, time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
					}
				}
				ws.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-readerDone
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	slices.Sort(readLat)
	ts, _ := h.st.Attempts(context.Background(), "bench")
	if len(ts) != len(all) {
		t.Fatalf("%d attempts recorded, %d made", len(ts), len(all))
	}
	if len(all) < total {
		t.Logf("stopped by LEITAI_BENCH_SECONDS after %d of %d attempts", len(all), total)
	}
	t.Logf("qualifier: %d attempts by %d members (%d at once) in %v: %.0f attempts/s", len(all), members.Load(), workers, elapsed.Round(time.Millisecond), float64(len(all))/elapsed.Seconds())
	t.Logf("attempt latency (attempt asked to room.finished): p50 %v p99 %v max %v", pct(all, .5).Round(100*time.Microsecond), pct(all, .99).Round(100*time.Microsecond), all[len(all)-1].Round(time.Millisecond))
	t.Logf("ranking reads: %d, p50 %v p99 %v max %v; the last listed %d players", len(readLat), pct(readLat, .5).Round(100*time.Microsecond), pct(readLat, .99).Round(100*time.Microsecond), readLat[len(readLat)-1].Round(time.Millisecond), readRows)
}

// TestBenchTournamentRound: one knockout round of LEITAI_BENCH_DUELS duels
// fired at once (2 × duels seeded, checked-in players, not connected:
// their rooms open and run all the same). Reported: how late the round
// fired, and how long from its start time until every room was open and
// until the last room's first question was out (rooms polled every 10 ms;
// a 1 ms countdown).
func TestBenchTournamentRound(t *testing.T) {
	h := benchHarness(t)
	duels := benchEnv(t, "LEITAI_BENCH_DUELS", 4096)
	ctx := context.Background()
	field := 2 * duels
	now := time.Now()
	rounds := 1
	for 2<<(rounds-1) < field {
		rounds++
	}
	// Created for later, set up, then moved to start a few seconds from
	// now (a tournament may be edited until its first round fires).
	tbody := func(closes, first time.Time) map[string]any {
		var rs []string
		for i := range rounds {
			rs = append(rs, first.Add(time.Duration(i)*time.Hour).Format(time.RFC3339Nano))
		}
		return map[string]any{"id": "ko", "title": "ko", "config": map[string]any{
			"format": "duel", "field": field, "pool": map[string]any{"sets": []string{"sample"}},
			"qualifier": map[string]any{"opens": now.Add(-time.Hour).Format(time.RFC3339Nano), "closes": closes.Format(time.RFC3339Nano), "questions": 1, "minutes": 1, "attempts": 1},
			"rounds":    rs, "check_in_seconds": 3600, "grace_seconds": 60, "match_questions": 5, "match_seconds": 20,
		}}
	}
	org := h.orgToken()
	if code := h.api("POST", "/api/v1/tournaments", org, tbody(now.Add(time.Hour), now.Add(2*time.Hour)), nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	setup := time.Now()
	for i := range field {
		p := fmt.Sprintf("p-ko-%05d", i)
		if err := h.st.CreatePlayer(ctx, store.Player{ID: p, Name: p, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.RecordAttempt(ctx, store.Attempt{Tournament: "ko", Player: p, Score: int64(i % 7), Total: time.Duration(i) * time.Millisecond, FinishedAt: now}, 1); err != nil {
			t.Fatal(err)
		}
		if err := h.st.CheckIn(ctx, store.CheckIn{Tournament: "ko", Round: 1, Player: p, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("setup: %d players with an attempt and a check-in in %v", field, time.Since(setup).Round(time.Millisecond))
	first := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	if code := h.api("PUT", "/api/v1/tournaments/ko", org, tbody(first.Add(-time.Second), first), nil); code != http.StatusOK {
		t.Fatalf("move the round: %d", code)
	}
	asked := map[string]time.Time{}
	var opened time.Time
	deadline := first.Add(5 * time.Minute)
	for len(asked) < duels && time.Now().Before(deadline) {
		n := 0
		for _, r := range h.srv.Rooms().All() {
			if !strings.HasPrefix(r.ID(), "tm-ko.r1.") {
				continue
			}
			n++
			if _, ok := asked[r.ID()]; ok {
				continue
			}
			c, cancel := context.WithTimeout(ctx, time.Second)
			snap, err := r.Snapshot(c)
			cancel()
			if err == nil && snap.Phase != "lobby" && snap.Phase != "countdown" {
				asked[r.ID()] = time.Now()
			}
		}
		if n == duels && opened.IsZero() {
			opened = time.Now()
		}
		time.Sleep(10 * time.Millisecond) // polling the wall clock: this is a measurement, not a test of order
	}
	if len(asked) < duels {
		t.Fatalf("after 5 minutes %d of %d rooms had asked their first question", len(asked), duels)
	}
	var last time.Time
	for _, at := range asked {
		if at.After(last) {
			last = at
		}
	}
	rd, err := h.st.TournamentRounds(ctx, "ko")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round of %d duels due at %s: fired %v late; every room open %v after the start time, the last room's first question out %v after it",
		duels, first.Format("15:04:05.000"), rd[0].FiredAt.Sub(rd[0].StartsAt).Round(time.Millisecond), opened.Sub(first).Round(time.Millisecond), last.Sub(first).Round(time.Millisecond))
}
