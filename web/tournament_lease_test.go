package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/tournament"
	"github.com/leitai/leitai/web"
)

// The scheduler's lease over the cluster's fenced leases: one node holds
// it at a time, renews it by claiming again, hands it over by releasing
// it, and loses it when it lapses.
func TestTournamentLease(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	hub := cluster.NewLocalHub(clk)
	a, b := web.TournamentLease(hub.Node()), web.TournamentLease(hub.Node())
	claim := func(l tournament.Lease, node string, want bool) {
		t.Helper()
		ok, err := l.Claim(ctx, tournament.LeaseKey, node, 3*time.Second)
		if err != nil || ok != want {
			t.Fatalf("%s claims: %v, %v; want %v", node, ok, err, want)
		}
	}
	claim(a, "node-a", true)
	claim(b, "node-b", false)
	clk.Advance(2 * time.Second)
	claim(a, "node-a", true) // renewed
	clk.Advance(2 * time.Second)
	claim(b, "node-b", false)
	if err := b.Release(ctx, tournament.LeaseKey, "node-b"); err != nil { // not its own: nothing
		t.Fatal(err)
	}
	claim(b, "node-b", false)
	if err := a.Release(ctx, tournament.LeaseKey, "node-a"); err != nil {
		t.Fatal(err)
	}
	claim(b, "node-b", true)
	clk.Advance(4 * time.Second) // node-b stops renewing: the lease lapses
	claim(a, "node-a", true)
}
