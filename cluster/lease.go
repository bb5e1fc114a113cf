package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/leitai/leitai/internal/clock"
)

// ErrLeaseLost is returned when a holder renews a lease it no longer holds:
// it lapsed, was released, or passed to another holder with a higher epoch.
var ErrLeaseLost = errors.New("cluster: lease lost")

// Lease is one holder's right to run the thing named by Key (a room) until
// Expires. Epoch is the fencing number: it grows by one each time the lease
// is taken afresh (after a release or a lapse), never goes back, and is what
// a store checks before accepting a write from the holder.
type Lease struct {
	Key    string
	Holder string
	Epoch  uint64
	// Expires is on the lease keeper's clock: the injected clock for the
	// Local bus, the Redis server's clock for Redis.
	Expires time.Time
}

// Leases are fenced, expiring ownership records shared by every node.
type Leases interface {
	// TakeLease makes holder the holder of key for ttl if the lease is free,
	// lapsed or already holder's. ok reports whether holder holds it now;
	// the returned Lease is the current one either way (so a loser learns
	// who holds it and until when). Taking a free or lapsed lease bumps the
	// epoch; taking one's own live lease again extends it, same epoch.
	TakeLease(ctx context.Context, key, holder string, ttl time.Duration) (l Lease, ok bool, err error)
	// TakeLeaseAbove is TakeLease whose fresh epoch is also above floor:
	// a node restoring a room passes the highest epoch its journal has seen,
	// so fencing holds even if the lease keeper lost its data and its epochs
	// started again. A live lease it already holds keeps its epoch.
	TakeLeaseAbove(ctx context.Context, key, holder string, ttl time.Duration, floor uint64) (l Lease, ok bool, err error)
	// RenewLease extends l by ttl if l.Holder still holds it with l.Epoch
	// and it has not lapsed; otherwise it fails with ErrLeaseLost.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease frees the lease if l.Holder still holds it with l.Epoch.
	// A released lease is not lapsed: releasing is a deliberate hand-over.
	ReleaseLease(ctx context.Context, l Lease) error
	// LapsedLeases lists leases whose time ran out and that nobody has taken
	// or released since, each with its last holder and epoch.
	LapsedLeases(ctx context.Context) ([]Lease, error)
}

// LeaseForgetter is implemented by the Leases that count the leases a node
// holds (leitai_leases_held): ForgetLease stops counting l, for a holder
// that gave it up without reaching the lease keeper, because it could not
// renew it for a whole TTL (the keeper was away) and so must act as if it
// had lapsed.
type LeaseForgetter interface {
	ForgetLease(l Lease)
}

// WatchLapsed calls take for each lapsed lease every interval until ctx
// ends. Every node runs one; take tries TakeLease, and since exactly one
// node wins each lease, each lapsed room is taken over once. Runs in the
// caller's goroutine; errors listing leases are passed to onErr (if not nil)
// and the watch goes on.
func WatchLapsed(ctx context.Context, l Leases, clk clock.Clock, interval time.Duration, take func(Lease), onErr func(error)) {
	if clk == nil {
		clk = clock.Real{}
	}
	t := clk.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		lapsed, err := l.LapsedLeases(ctx)
		if err != nil {
			if onErr != nil {
				onErr(err)
			}
			continue
		}
		for _, le := range lapsed {
			take(le)
		}
	}
}

// leaseBook is the set of leases one node handle holds, kept to drive the
// held gauge.
type leaseBook struct {
	held map[string]uint64
}

func (b *leaseBook) hold(m *Metrics, key string, epoch uint64) {
	if b.held == nil {
		b.held = map[string]uint64{}
	}
	b.held[key] = epoch
	m.setHeld(len(b.held))
}

func (b *leaseBook) drop(m *Metrics, key string, epoch uint64) {
	if e, ok := b.held[key]; ok && e == epoch {
		delete(b.held, key)
	}
	m.setHeld(len(b.held))
}
