package cluster

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Ping reports whether Redis answers: every master of a Redis Cluster, or
// the one server (the current master behind Sentinel). A node's /readyz
// asks it; the error wraps ErrUnavailable.
func (r *RedisBus) Ping(ctx context.Context) error {
	if r.isClosed() {
		return ErrClosed
	}
	var err error
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	} else {
		err = r.client.Ping(ctx).Err()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}
