package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// clusterState is what a cluster node shares with the others on bus's
// Redis: the quick-match pool, the session and PIN directories, question
// history and import notices. Sets imported on other nodes are read from st.
func clusterState(bus *cluster.RedisBus, node cluster.NodeID, st store.Store, bank *questionbank.Bank, log zerolog.Logger) *clusterstate.State {
	load := func(ctx context.Context, id string) ([]questionbank.Question, error) {
		return web.LoadQuestionSet(ctx, st, id)
	}
	state := clusterstate.Redis(bus, string(node), bank, load, questionbank.DefaultHistorySize, log)
	return &state
}
