package clusterstate_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/match/pooltest"
)

var prefixes atomic.Int64

// uniquePrefix keeps each test's keys apart on a shared server.
func uniquePrefix() string {
	return fmt.Sprintf("test%d-%d:", time.Now().UnixNano(), prefixes.Add(1))
}

// openBus opens one node's RedisBus.
func openBus(t *testing.T, url, prefix string) *cluster.RedisBus {
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
