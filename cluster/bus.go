// Package cluster owns what nodes share while contests run: the Bus, which
// carries published messages between nodes and holds short-lived claims
// (which room a player is in, which node owns a room). A single node uses the
// in-process Local bus; a cluster uses the Redis bus (RedisBus) behind the
// same interface, and both pass the contract suite in package bustest. Both
// also keep Leases, the fenced ownership records of rooms.
package cluster

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by a Bus that has been closed.
var ErrClosed = errors.New("cluster: bus closed")

// ErrUnavailable wraps every failure to reach the bus's backing store (Redis
// down, failing over, timing out). Callers answer `unavailable` and retry;
// errors.Is(err, ErrUnavailable) tells them apart from misuse.
var ErrUnavailable = errors.New("cluster: bus unavailable")

// Bus is the live-state seam between nodes.
type Bus interface {
	// Publish delivers msg to every current subscriber of channel, in
	// publish order per channel.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe calls fn for each message published on channel until the
	// returned cancel is called. fn must not block.
	Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (cancel func(), err error)
	// Claim makes owner the holder of key for ttl if the key is free or
	// already held by owner (which extends it), and reports whether owner
	// holds it now.
	Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// ClaimAll is Claim for many keys at once, in one round trip where the
	// bus allows: held[i] reports whether claims[i].Owner holds
	// claims[i].Key now. An error fails the whole call; some claims may
	// have been made.
	ClaimAll(ctx context.Context, claims []ClaimOf, ttl time.Duration) (held []bool, err error)
	// Owner returns the holder of key, or "" if it is free.
	Owner(ctx context.Context, key string) (string, error)
	// Release frees key if owner holds it.
	Release(ctx context.Context, key, owner string) error
	Close() error
}

// ClaimOf is one claim of a ClaimAll: Owner to hold Key.
type ClaimOf struct{ Key, Owner string }
