package clusterstate

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/questionbank"
)

// LoadSet reads a stored question set (from the store every node shares).
type LoadSet func(ctx context.Context, id string) ([]questionbank.Question, error)

// Banks keeps a node's question bank in step with every other node's: a
// set imported on one node is announced over the Bus, and each other node
// loads it from the store at once. A set asked for before its notice
// arrives is loaded on the spot (Ensure), so an import is usable on every
// node as soon as its importer has answered. A node that starts later
// loads every stored set, as a single node does.
//
// A single node uses NewLocalBanks, which announces nothing and loads
// nothing: its bank is the only one.
type Banks struct {
	bank *questionbank.Bank // Static after construction.
	load LoadSet            // Static after construction; nil: single node.
	bus  cluster.Bus        // Static after construction; nil: single node.
	node string             // Static after construction.
	log  zerolog.Logger

	// mu serialises loads, so a set is read from the store once when its
	// notice and a request for it arrive together.
	mu sync.Mutex
}

// bankChannel carries import notices.
const bankChannel = "bank:imported"

type bankNotice struct {
	Node string `json:"node"`
	Set  string `json:"set"`
}

// NewLocalBanks is a single node's Banks.
func NewLocalBanks(bank *questionbank.Bank) *Banks { return &Banks{bank: bank} }

// NewBusBanks is a cluster node's Banks: notices go over bus, sets come
// from load.
func NewBusBanks(bank *questionbank.Bank, bus cluster.Bus, node string, load LoadSet, log zerolog.Logger) *Banks {
	return &Banks{bank: bank, load: load, bus: bus, node: node, log: log}
}

// Bank is the node's bank.
func (b *Banks) Bank() *questionbank.Bank { return b.bank }

// Imported adds a set this node has just stored to its bank and tells the
// other nodes. A failed notice is returned, but the set is added and
// stored: the others find it through Ensure, or at their next start.
func (b *Banks) Imported(ctx context.Context, id string, qs []questionbank.Question) error {
	b.bank.Add(id, qs)
	return b.Announce(ctx, id)
}

// Announce tells the other nodes that this node stored set id (and added
// it to its bank). A single node's Banks does nothing.
func (b *Banks) Announce(ctx context.Context, id string) error {
	if b.bus == nil {
		return nil
	}
	msg, _ := json.Marshal(bankNotice{Node: b.node, Set: id})
	return b.bus.Publish(ctx, bankChannel, msg)
}

// Ensure reports whether the set is in the bank, loading it from the store
// first if another node imported it and its notice has not arrived yet.
func (b *Banks) Ensure(ctx context.Context, id string) (bool, error) {
	if len(b.bank.Questions(id)) > 0 {
		return true, nil
	}
	if b.load == nil {
		return false, nil
	}
	if err := b.fetch(ctx, id); err != nil {
		return false, err
	}
	return len(b.bank.Questions(id)) > 0, nil
}

// fetch loads set id from the store into the bank, unless it is there.
func (b *Banks) fetch(ctx context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bank.Questions(id)) > 0 {
		return nil
	}
	qs, err := b.load(ctx, id)
	if err != nil {
		return err
	}
	if len(qs) > 0 {
		b.bank.Add(id, qs)
	}
	return nil
}

// Watch loads each set another node announces, until cancel. A single
// node's Banks watches nothing.
func (b *Banks) Watch(ctx context.Context) (cancel func(), err error) {
	if b.bus == nil {
		return func() {}, nil
	}
	return b.bus.Subscribe(ctx, bankChannel, func(msg []byte) {
		var n bankNotice
		if json.Unmarshal(msg, &n) != nil || n.Set == "" || n.Node == b.node {
			return
		}
		// The subscriber must not block: the store read runs apart.
		go func() {
			if err := b.fetch(context.WithoutCancel(ctx), n.Set); err != nil {
				b.log.Warn().Err(err).Str("set", n.Set).Msg("load a question set imported on another node; loaded when asked for")
			}
		}()
	})
}
