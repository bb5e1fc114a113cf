// Package cluster owns what nodes share while contests run: the Bus, which
// carries published messages between nodes and holds short-lived claims
// (which room a player is in, which node owns a room). A single node uses the
// in-process Local bus; a cluster will use Redis behind the same interface,
// and both must pass the contract suite in package bustest.
package cluster

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by a Bus that has been closed.
var ErrClosed = errors.New("cluster: bus closed")

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
	// Owner returns the holder of key, or "" if it is free.
	Owner(ctx context.Context, key string) (string, error)
	// Release frees key if owner holds it.
	Release(ctx context.Context, key, owner string) error
	Close() error
}
