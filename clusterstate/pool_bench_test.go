package clusterstate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// lockedStarter records matches from several goroutines.
type lockedStarter struct {
	mu    *sync.Mutex
	games *[][]string
}

func (s lockedStarter) StartMatch(_ context.Context, _, _, _ string, ts []*match.Ticket) error {
	g := make([]string, len(ts))
	for i, t := range ts {
		g[i] = t.Player.ID
	}
	s.mu.Lock()
	*s.games = append(*s.games, g)
	s.mu.Unlock()
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the server's CPU time so far (INFO cpu).
func redisCPU(b *testing.B, c redis.UniversalClient) time.Duration {
	out, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkSharedQuickMatch runs three matchmakers, as three nodes, on one
// redis-server, with the players' claims on the Redis bus as in cluster
// mode. Each node queues players in steady batches (64 at a time, ratings
// around 1500) and processes its queue after each batch, as fast as it
// can; b.N players in all, in duels. It reports the matches made per
// second, the CPU this process (all three nodes) and Redis spent per match,
// and the players matched twice, which must be zero.
func BenchmarkSharedQuickMatch(b *testing.B) {
	srv := redistest.StartServer(b)
	const nodes, batch = 3, 64
	prefix := uniquePrefix()
	var mu sync.Mutex
	var games [][]string
	var mms []*match.Matchmaker
	var client redis.UniversalClient
	for i := 0; i < nodes; i++ {
		bus := openBusB(b, srv.URL(), prefix)
		client = bus.Client()
		m := match.New(match.Config{}, nil, lockedStarter{&mu, &games}, bus, zerolog.Nop())
		stop, err := m.Share(context.Background(), match.Sharing{Node: fmt.Sprint("n", i), Pool: clusterstate.NewRedisPool(bus.Client(), bus.Prefix()), Relay: bus})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop)
		mms = append(mms, m)
	}
	ctx := context.Background()
	cpu0, rcpu0 := cpuTime(), redisCPU(b, client)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range mms {
		wg.Add(1)
		go func(i int, m *match.Matchmaker) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			for k := i; k < b.N; k += nodes * batch {
				for j := k; j < min(k+nodes*batch, b.N); j += nodes {
					_, _ = m.Find(protocol.PlayerInfo{ID: fmt.Sprint("p", j), Rating: 1500 + 100*rng.NormFloat64()}, match.ModeDuel, "", nopSink{})
				}
				m.Process(ctx)
			}
		}(i, m)
	}
	wg.Wait()
	// The last few may wait for a partner on another node: a few ticks more.
	for k := 0; k < 5; k++ {
		for _, m := range mms {
			m.Process(ctx)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu, rcpu := cpuTime()-cpu0, redisCPU(b, client)-rcpu0
	seen := map[string]bool{}
	twice := 0
	for _, g := range games {
		for _, p := range g {
			if seen[p] {
				twice++
			}
			seen[p] = true
		}
	}
	if twice > 0 {
		b.Fatalf("%d players matched twice", twice)
	}
	n := float64(len(games))
	if n == 0 {
		return
	}
	b.ReportMetric(n/elapsed.Seconds(), "matches/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/match")
	b.ReportMetric(float64(rcpu.Microseconds())/n, "redis-cpu-µs/match")
	b.ReportMetric(float64(len(seen))/float64(b.N), "matched-share")
	b.ReportMetric(float64(twice), "double-matches")
}
