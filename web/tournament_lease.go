package web

import (
	"context"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/tournament"
)

// leaseOf adapts a cluster's fenced leases to the tournament scheduler's
// Lease: the scheduler claims and renews by key and owner; the lease it
// holds is kept here so Release can name its epoch.
type leaseOf struct {
	l    cluster.Leases
	held map[string]cluster.Lease
}

// TournamentLease returns the scheduler's lease over l, for Deps.
func TournamentLease(l cluster.Leases) tournament.Lease {
	return &leaseOf{l: l, held: map[string]cluster.Lease{}}
}

// Claim implements tournament.Lease. The scheduler calls it from its one
// goroutine.
func (a *leaseOf) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	le, ok, err := a.l.TakeLease(ctx, key, owner, ttl)
	if err != nil {
		// The scheduler does not act on a claim that failed: the lease is
		// no longer counted as held here (it lapses in the keeper unless
		// the next claim renews it).
		if held, was := a.held[key]; was {
			delete(a.held, key)
			if f, ok := a.l.(cluster.LeaseForgetter); ok {
				f.ForgetLease(held)
			}
		}
		return false, err
	}
	if ok {
		a.held[key] = le
	} else {
		delete(a.held, key)
	}
	return ok, nil
}

// Release implements tournament.Lease.
func (a *leaseOf) Release(ctx context.Context, key, owner string) error {
	le, ok := a.held[key]
	if !ok || le.Holder != owner {
		return nil
	}
	delete(a.held, key)
	return a.l.ReleaseLease(ctx, le)
}
