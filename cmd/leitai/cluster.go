package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// clusterState connects a cluster node to its Redis: the Bus, and the
// shared quick-match pool, session and PIN directories, question history
// and import notices on it. Sets imported on other nodes are read from st.
func clusterState(ctx context.Context, url string, node cluster.NodeID, st store.Store, bank *questionbank.Bank, log zerolog.Logger) (*cluster.RedisBus, *clusterstate.State, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	bus, err := cluster.NewRedisBus(cctx, cluster.RedisConfig{URL: url})
	if err != nil {
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	load := func(ctx context.Context, id string) ([]questionbank.Question, error) {
		return web.LoadQuestionSet(ctx, st, id)
	}
	state := clusterstate.Redis(bus, string(node), bank, load, questionbank.DefaultHistorySize, log)
	return bus, &state, nil
}
