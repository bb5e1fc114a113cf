package match_test

import (
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/match/pooltest"
)

// openLocal gives n nodes one LocalPool on a fake clock and in-process
// buses on one hub.
func openLocal(t *testing.T, n int) pooltest.Backend {
	clk := clock.NewFake(time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC))
	pool := match.NewLocalPool(clk)
	hub := cluster.NewLocalHub(clk)
	b := pooltest.Backend{Advance: clk.Advance}
	for i := 0; i < n; i++ {
		bus := hub.Node()
		t.Cleanup(func() { _ = bus.Close() })
		b.Pools = append(b.Pools, pool)
		b.Relays = append(b.Relays, bus)
	}
	return b
}

func TestLocalPoolContract(t *testing.T) { pooltest.Run(t, openLocal) }

func TestSharedMatchmakersOnLocalPool(t *testing.T) { pooltest.RunMatchmakers(t, openLocal) }
