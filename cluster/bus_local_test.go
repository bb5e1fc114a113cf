package cluster_test

import (
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/cluster/bustest"
	"github.com/leitai/leitai/internal/clock"
)

// fakeTimeNode is a Local node whose claims and leases expire on the hub's
// fake clock.
type fakeTimeNode struct {
	*cluster.Local
	clk *clock.Fake
}

func (f fakeTimeNode) Advance(d time.Duration) { f.clk.Advance(d) }

func TestLocalBusContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) (bustest.Node, bustest.Node) {
		clk := clock.NewFake(time.Unix(0, 0))
		hub := cluster.NewLocalHub(clk)
		return fakeTimeNode{hub.Node(), clk}, fakeTimeNode{hub.Node(), clk}
	})
}
