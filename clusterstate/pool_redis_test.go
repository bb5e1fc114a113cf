package clusterstate_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/match/pooltest"
	"github.com/leitai/leitai/protocol"
)

var prefixes atomic.Int64

// uniquePrefix keeps each test's keys apart on a shared server.
func uniquePrefix() string {
	return fmt.Sprintf("test%d-%d:", time.Now().UnixNano(), prefixes.Add(1))
}

// openBus opens one node's RedisBus.
func openBus(t *testing.T, url, prefix string) *cluster.RedisBus { return openBusB(t, url, prefix) }

func openBusB(t testing.TB, url, prefix string) *cluster.RedisBus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := cluster.NewRedisBus(ctx, cluster.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// redisPools opens n nodes, each with its own connection, on one prefix.
func redisPools(url string) pooltest.Open {
	return func(t *testing.T, n int) pooltest.Backend {
		p := uniquePrefix()
		var b pooltest.Backend
		for i := 0; i < n; i++ {
			bus := openBus(t, url, p)
			b.Pools = append(b.Pools, clusterstate.NewRedisPool(bus.Client(), bus.Prefix()))
			b.Relays = append(b.Relays, bus)
		}
		return b
	}
}

var _ match.Pool = (*clusterstate.RedisPool)(nil)

func TestRedisPool(t *testing.T) {
	srv := redistest.StartServer(t)
	pooltest.Run(t, redisPools(srv.URL()))
	pooltest.RunMatchmakers(t, redisPools(srv.URL()))
}

func TestRedisClusterPool(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	pooltest.Run(t, redisPools(c.URL()))
	pooltest.RunMatchmakers(t, redisPools(c.URL()))
}

// TestRedisPoolRebuildsAfterDataLoss flushes Redis under a queued player: its
// node still holds the ticket, adds it again on its next tick, and the
// player is matched with one who queued on another node after the loss.
func TestRedisPoolRebuildsAfterDataLoss(t *testing.T) {
	srv := redistest.StartServer(t)
	open := redisPools(srv.URL())
	b := open(t, 2)
	clk := clock.NewFake(time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC))
	var mms []*match.Matchmaker
	var st []*recordStarter
	for i := 0; i < 2; i++ {
		s := &recordStarter{}
		m := match.New(match.Config{Window: 50, MaxWindow: 50}, clk, s, allowClaims{}, zerolog.Nop())
		stop, err := m.Share(context.Background(), match.Sharing{Node: fmt.Sprint("n", i), Pool: b.Pools[i], Relay: b.Relays[i]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		mms, st = append(mms, m), append(st, s)
	}
	ctx := context.Background()
	if _, err := mms[0].Find(protocol.PlayerInfo{ID: "early", Rating: 1000}, match.ModeDuel, "", nopSink{}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	// The partner arrives after the loss.
	if _, err := mms[1].Find(protocol.PlayerInfo{ID: "late", Rating: 1040}, match.ModeDuel, "", nopSink{}); err != nil {
		t.Fatal(err)
	}
	mms[1].Process(ctx) // the pool has only "late"
	if len(st[1].games) != 0 {
		t.Fatal("matched without the early player's ticket")
	}
	mms[0].Process(ctx) // finds its ticket gone: adds it again next tick
	mms[0].Process(ctx)
	if n := len(st[0].games) + len(st[1].games); n != 1 {
		t.Fatalf("%d matches after the rebuild, want 1", n)
	}
}

type recordStarter struct{ games [][]string }

func (s *recordStarter) StartMatch(_ context.Context, _, _, _ string, ts []*match.Ticket) error {
	var g []string
	for _, t := range ts {
		g = append(g, t.Player.ID)
	}
	s.games = append(s.games, g)
	return nil
}

type allowClaims struct{}

func (allowClaims) Claim(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (allowClaims) Release(context.Context, string, string) error { return nil }

type nopSink struct{}

func (nopSink) Send(*protocol.Frame) bool { return true }

func TestRedisSentinelPool(t *testing.T) {
	s := redistest.StartSentinel(t, "leitai")
	pooltest.Run(t, redisPools(s.URL()))
	pooltest.RunMatchmakers(t, redisPools(s.URL()))
}
