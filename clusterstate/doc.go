// Package clusterstate keeps in Redis what a single node keeps to itself:
// the quick-match pool (match.Pool), the session directory (one connection
// per player, and the rooms each player is in), the PIN directory of live
// events, question-bank import notices, and question history. Each piece is
// an interface with an in-process implementation, which is exactly a single
// node's behaviour and cost, and a Redis one, which every node of a cluster
// shares; both pass the same contract suite.
//
// Every Redis key carries a hash tag, so what one script touches lives in
// one hash slot and runs on Redis Cluster; docs/architecture.md lists the
// keys, their lifetimes, and how each piece rebuilds if Redis loses them.
package clusterstate

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/cluster"
)

// unavailable maps a Redis failure to cluster.ErrUnavailable.
func unavailable(err error) error {
	if err == nil || errors.Is(err, cluster.ErrUnavailable) || errors.Is(err, redis.Nil) {
		return err
	}
	return fmt.Errorf("%w: %v", cluster.ErrUnavailable, err)
}

// ms is d in whole milliseconds, at least one.
func ms(d interface{ Milliseconds() int64 }) int64 {
	if v := d.Milliseconds(); v > 0 {
		return v
	}
	return 1
}
