package cluster_test

import (
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/cluster/bustest"
	"github.com/leitai/leitai/internal/clock"
)

// fakeTimeBus is a Local bus whose claims expire on a fake clock.
type fakeTimeBus struct {
	*cluster.Local
	clk *clock.Fake
}

func (f fakeTimeBus) Advance(d time.Duration) { f.clk.Advance(d) }

func TestLocalBusContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) (cluster.Bus, cluster.Bus) {
		clk := clock.NewFake(time.Unix(0, 0))
		b := fakeTimeBus{cluster.NewLocal(clk), clk}
		// One process is one node: both "nodes" are the same bus.
		return b, b
	})
}
