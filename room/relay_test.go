package room

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/protocol"
)

// countingRelay records what a room hands it, per call.
type countingRelay struct {
	mu    sync.Mutex
	calls [][]relayCall
}

type relayCall struct {
	room   string
	typ    string
	ids    []string
	shared bool
}

func (c *countingRelay) Relay(items []RelayItem) {
	var call []relayCall
	for _, it := range items {
		f := it.Frame
		if f == nil {
			f = it.Frames[0]
		}
		m := map[string]any{}
		_ = json.Unmarshal(f.Bytes(), &m)
		call = append(call, relayCall{room: it.Room, typ: m["type"].(string), ids: slices.Clone(it.IDs), shared: it.Frame != nil})
	}
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
}

// of returns the calls that carried a frame of type typ, and the ids it
// went to in each.
func (c *countingRelay) of(typ string) (calls int, ids []string, shared bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, call := range c.calls {
		found := false
		for _, k := range call {
			if k.typ == typ {
				found = true
				ids = append(ids, k.ids...)
				shared = k.shared
			}
		}
		if found {
			calls++
		}
	}
	slices.Sort(ids)
	return calls, ids, shared
}

// relayedPeer is a player on another node.
type relayedPeer struct {
	relay *countingRelay
	id    string
}

func (p *relayedPeer) Send(f *protocol.Frame) bool {
	p.relay.Relay([]RelayItem{{IDs: []string{p.id}, Frame: f}})
	return true
}
func (p *relayedPeer) Connected() bool          { return true }
func (p *relayedPeer) Kick(string)              {}
func (p *relayedPeer) Relayed() (Relay, string) { return p.relay, p.id }

// TestBroadcastRelaysOncePerNode: a question to players on three nodes is
// one relay call per other node, carrying every player of that node, and
// a personal frame (the reveal) is one call per node too.
func TestBroadcastRelaysOncePerNode(t *testing.T) {
	g := newRig(t, Config{ID: "r-relay", Kind: KindEvent, TimeLimit: 10 * time.Second})
	g.run()
	local := g.join("a")
	nodeB, nodeC := &countingRelay{}, &countingRelay{}
	join := func(id string, rl *countingRelay) {
		if err := g.r.Join(context.Background(), id, id, "", &relayedPeer{relay: rl, id: id}, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"b1", "b2", "b3"} {
		join(id, nodeB)
	}
	join("c1", nodeC)
	g.toFirstQuestion()
	if local.count("question") != 1 {
		t.Fatalf("the local player got %d questions", local.count("question"))
	}
	for _, tc := range []struct {
		rl   *countingRelay
		want []string
	}{{nodeB, []string{"b1", "b2", "b3"}}, {nodeC, []string{"c1"}}} {
		calls, ids, _ := tc.rl.of("question")
		if calls != 1 || !slices.Equal(ids, tc.want) {
			t.Fatalf("question relayed in %d calls to %v, want one call for %v", calls, ids, tc.want)
		}
	}
	g.control(ActReveal)
	waitPhase(t, g, PhaseReveal)
	nodeB.mu.Lock()
	for _, call := range nodeB.calls {
		for _, k := range call {
			if k.room != "r-relay" {
				t.Errorf("a %s relayed without its room (%q)", k.typ, k.room)
			}
		}
	}
	nodeB.mu.Unlock()
	calls, ids, shared := nodeB.of("reveal")
	if calls != 1 || len(ids) != 3 || shared {
		t.Fatalf("reveal relayed in %d calls to %v (shared %v), want one call with three personal frames", calls, ids, shared)
	}
	if local.count("reveal") != 1 {
		t.Fatalf("the local player got %d reveals", local.count("reveal"))
	}
}
