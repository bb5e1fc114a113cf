package clusterstate

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/questionbank"
)

// State is one node's handles on what the nodes share. A single node's
// (Local) keeps everything in memory as it always has; a cluster node's
// (Redis) keeps it in Redis.
type State struct {
	Node     string
	Sessions Sessions
	PINs     PINs
	History  History
	Banks    *Banks
	// Sharing is what the node's Matchmaker.Share takes; nil on a single
	// node, whose matchmaker keeps its queues in memory.
	Sharing *match.Sharing
}

// Local is a single node's State: in-memory directories and history
// (historySize ids per player, 0 for the default) and a bank that nobody
// else imports into.
func Local(node string, bank *questionbank.Bank, historySize int) State {
	return State{
		Node:     node,
		Sessions: NewLocalSessionHub().Node(node),
		PINs:     NewLocalPINs(),
		History:  NewLocalHistory(historySize),
		Banks:    NewLocalBanks(bank),
	}
}

// Redis is a cluster node's State on bus's Redis: sets imported elsewhere
// are read with load.
func Redis(bus *cluster.RedisBus, node string, bank *questionbank.Bank, load LoadSet, historySize int, log zerolog.Logger) State {
	c, p := bus.Client(), bus.Prefix()
	return State{
		Node:     node,
		Sessions: NewRedisSessions(c, p, bus, node),
		PINs:     NewRedisPINs(c, p),
		History:  NewRedisHistory(c, p, historySize),
		Banks:    NewBusBanks(bank, bus, node, load, log),
		Sharing:  &match.Sharing{Node: node, Pool: NewRedisPool(c, p), Relay: bus, TicketTTL: 10 * time.Second, TakenHold: time.Minute},
	}
}
