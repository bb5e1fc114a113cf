package web_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/redistest"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/web"
)

// lossyBus is a node's real Redis bus that can be made to lose the next
// messages it publishes on a channel, as a Redis blip or a restarting
// node loses them.
type lossyBus struct {
	*cluster.RedisBus

	mu   sync.Mutex
	drop map[string]int // channel -> messages still to lose
}

func (b *lossyBus) Publish(ctx context.Context, channel string, msg []byte) error {
	b.mu.Lock()
	if b.drop[channel] > 0 {
		b.drop[channel]--
		b.mu.Unlock()
		return nil // published, as far as the node knows; never delivered
	}
	b.mu.Unlock()
	return b.RedisBus.Publish(ctx, channel, msg)
}

// loseNext makes the bus lose the next message it publishes on channel.
func (b *lossyBus) loseNext(channel string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drop == nil {
		b.drop = map[string]int{}
	}
	b.drop[channel]++
}

// lost reports whether every message asked to be lost on channel was.
func (b *lossyBus) lost(channel string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.drop[channel] == 0
}

// redisNodes starts nodes of one cluster in process, each with its Bus on
// one real redis-server (started for the test; missing, it fails the test
// under CI=true). The store, the quick-match pool and the session
// directory are shared in process, on one fake clock.
type redisNodes struct {
	t        *testing.T
	url      string
	dir      string
	clk      *clock.Fake
	sessions *clusterstate.LocalSessionHub
	pool     *match.LocalPool
	mod      func(*web.Config)
}

func newRedisNodes(t *testing.T, mod func(*web.Config)) *redisNodes {
	t.Helper()
	clk := clock.NewFake(t0)
	return &redisNodes{t: t, url: redistest.StartServer(t).URL(), dir: t.TempDir(), clk: clk,
		sessions: clusterstate.NewLocalSessionHub(), pool: match.NewLocalPool(clk), mod: mod}
}

// start starts the node named node: a new node, or a node that stopped
// coming back, with nothing of its past run in memory.
func (rn *redisNodes) start(node string) (*harness, *lossyBus) {
	t := rn.t
	t.Helper()
	rb, err := cluster.NewRedisBus(context.Background(), cluster.RedisConfig{URL: rn.url})
	if err != nil {
		t.Fatal(err)
	}
	bus := &lossyBus{RedisBus: rb}
	st := &clusterstate.State{Node: node, Sessions: rn.sessions.Node(node),
		Sharing: &match.Sharing{Node: node, Pool: rn.pool, Relay: bus, TicketTTL: time.Hour, TakenHold: time.Hour}}
	h := startHarnessWith(t, harnessOpts{dir: rn.dir, clock: rn.clk, node: node, bus: bus, leases: bus, state: st,
		cfg: func(c *web.Config) {
			c.LeaseTTL = time.Hour
			if rn.mod != nil {
				rn.mod(c)
			}
		}})
	t.Cleanup(func() { rb.Close() }) // after the node stops
	h.clk = rn.clk
	return h, bus
}

// redisClusterOf is clusterOf with each node's Bus on one real
// redis-server (see redisNodes).
func redisClusterOf(t *testing.T, n int, mod func(*web.Config)) ([]*harness, []*lossyBus) {
	t.Helper()
	rn := newRedisNodes(t, mod)
	var hs []*harness
	var buses []*lossyBus
	for i := 0; i < n; i++ {
		h, bus := rn.start("node-" + string(rune('a'+i)))
		hs = append(hs, h)
		buses = append(buses, bus)
	}
	return hs, buses
}

// TestClusterPartyMemberElsewhereQueuesAlone: a member whose connection is
// on another node than its party's is refused a duel or a four-player
// match while its party is queued, with the error of one node; and a
// party does not queue while a member elsewhere is queued alone.
func TestClusterPartyMemberElsewhereQueuesAlone(t *testing.T) {
	hs, _ := redisClusterOf(t, 2, func(c *web.Config) { c.Match.MaxWait = 10 * time.Minute })
	cs := dialOn(hs, "独", 0, 1)
	lead, mate := cs[0], cs[1]
	formParty(t, cs)
	queueParty(t, cs)
	for _, mode := range []string{"duel", "four"} {
		expectReason(t, mate, mate.send("match.find", map[string]any{"mode": mode}), "wrong_phase", "already_playing")
	}
	if _, q := hs[1].srv.Matchmaker().Queued(mate.id); q {
		t.Fatal("the member is queued alone on its node as well as with its party")
	}
	// Idle again, the member may queue alone; its party then may not.
	if m := lead.reply(lead.send("match.cancel", map[string]any{"ticket": queuedTicket(t, lead)})); m.Type != "match.cancelled" {
		t.Fatalf("cancel: %s", m.raw)
	}
	mate.expect("match.cancelled")
	if m := mate.reply(mate.send("match.find", map[string]any{"mode": "duel"})); m.Type != "match.queued" {
		t.Fatalf("solo find of an idle party's member: %s", m.raw)
	}
	expectReason(t, lead, lead.send("match.find", map[string]any{"mode": "team"}), "wrong_phase", "already_playing")
	if _, q := hs[0].srv.Matchmaker().Queued(lead.id); q {
		t.Fatal("the party is queued with a member queued alone")
	}
}

// TestClusterPartyLostRequests: a member's cancel, leave or dropped
// connection, asked of the party's home from another node, takes the
// party out of the queue even when a message on the way is lost: the
// request is sent again until answered, and the home answers a request
// it already carried out as it did the first time.
func TestClusterPartyLostRequests(t *testing.T) {
	const toHome, toB = "party:rq:node-a", "party:rp:node-b"
	// start forms a party led on node a with three members on node b and
	// queues it.
	start := func(t *testing.T) ([]*harness, []*lossyBus, []*client) {
		hs, buses := redisClusterOf(t, 2, func(c *web.Config) { c.Grace = 5 * time.Second; c.Match.MaxWait = 10 * time.Minute })
		cs := dialOn(hs, "失", 0, 1, 1, 1)
		formParty(t, cs)
		queueParty(t, cs)
		return hs, buses, cs
	}
	notQueued := func(t *testing.T, h *harness, lead *client) {
		t.Helper()
		waitFor(t, "the party out of the queue", func() bool { _, q := h.srv.Matchmaker().Queued(lead.id); return !q })
	}

	t.Run("cancel request lost", func(t *testing.T) {
		hs, buses, cs := start(t)
		buses[1].loseNext(toHome)
		if m := cs[1].reply(cs[1].send("match.cancel", map[string]any{"ticket": queuedTicket(t, cs[1])})); m.Type != "match.cancelled" {
			t.Fatalf("cancel from node b, its request lost: %s", m.raw)
		}
		if !buses[1].lost(toHome) {
			t.Fatal("no request was lost")
		}
		notQueued(t, hs[0], cs[0])
		for _, c := range []*client{cs[0], cs[2], cs[3]} {
			c.expect("match.cancelled")
		}
	})

	t.Run("leave reply lost", func(t *testing.T) {
		// Asked again, the home answers as it did, and does not take the
		// member out twice.
		hs, buses, cs := start(t)
		buses[0].loseNext(toB)
		if m := cs[1].reply(cs[1].send("party.leave", nil)); m.Type != "party.left" {
			t.Fatalf("leave from node b, its reply lost: %s", m.raw)
		}
		if !buses[0].lost(toB) {
			t.Fatal("no reply was lost")
		}
		notQueued(t, hs[0], cs[0])
		for _, c := range []*client{cs[0], cs[2], cs[3]} {
			c.expect("match.cancelled")
			expectPartyOf(t, c, 3)
		}
	})

	t.Run("move request lost", func(t *testing.T) {
		// A member whose connection comes back on node c, its note to the
		// home lost, is still moved there: node b's grace ending then
		// takes it out of nothing.
		hs, buses := redisClusterOf(t, 3, func(c *web.Config) { c.Grace = 5 * time.Second; c.Match.MaxWait = 10 * time.Minute })
		cs := dialOn(hs, "迁", 0, 1)
		formParty(t, cs)
		queueParty(t, cs)
		buses[2].loseNext(toHome)
		hs[1].drop(cs[1])
		back, _ := hs[2].resume(cs[1])
		back.expectFn("party.state on node c", func(m msg) bool { return m.Type == "party.state" && m.Re == "" })
		if !buses[2].lost(toHome) {
			t.Fatal("no request was lost")
		}
		hs[1].advance(6 * time.Second) // node b's grace ends
		expectReason(t, back, back.send("party.create", nil), "wrong_phase", "party_already")
		if _, q := hs[0].srv.Matchmaker().Queued(cs[0].id); !q {
			t.Fatal("the party left the queue when its member's old connection expired")
		}
	})

	t.Run("gone request lost", func(t *testing.T) {
		hs, buses, cs := start(t)
		buses[1].loseNext(toHome)
		hs[1].drop(cs[3])
		hs[1].advance(6 * time.Second) // past the grace window
		waitFor(t, "the lost request", func() bool { return buses[1].lost(toHome) })
		notQueued(t, hs[0], cs[0])
		for _, c := range cs[:3] {
			c.expect("match.cancelled")
			expectPartyOf(t, c, 3)
		}
	})
}

// TestClusterPartyMemberElsewherePlaying: a member on another node than
// its party's, and than the node that started the party's team match, is
// refused a duel while the match runs, with the error of one node.
func TestClusterPartyMemberElsewherePlaying(t *testing.T) {
	hs, _ := redisClusterOf(t, 3, nil)
	red, blue := dialOn(hs, "红", 0, 1), dialOn(hs, "蓝", 0, 2)
	formParty(t, red)
	formParty(t, blue)
	queueParty(t, red)
	queueParty(t, blue)
	hs[0].srv.Matchmaker().Process(context.Background()) // node a starts it
	for _, c := range append(append([]*client{}, red...), blue...) {
		c.expect("match.found")
	}
	for _, c := range []*client{red[1], blue[1]} {
		expectReason(t, c, c.send("match.find", map[string]any{"mode": "duel"}), "wrong_phase", "already_playing")
	}
}

// TestClusterPartyMemberNodeRestarted: a member's node restarts, so no
// note that its connection is gone ever comes; the party's home finds at
// its roll calls that the node has no session of the member, takes it out
// of the party and the party out of the queue, and tells the others.
func TestClusterPartyMemberNodeRestarted(t *testing.T) {
	rn := newRedisNodes(t, func(c *web.Config) { c.Match.MaxWait = 10 * time.Minute })
	a, _ := rn.start("node-a")
	b, _ := rn.start("node-b")
	hs := []*harness{a, b}
	cs := dialOn(hs, "重", 0, 1, 0)
	formParty(t, cs)
	queueParty(t, cs)
	b.stop()
	rn.start("node-b") // a new run: the member's session is gone with the old
	left := false
	for i := 0; i < 10 && !left; i++ {
		a.advance(10 * time.Second) // a roll call
		deadline := time.Now().Add(time.Second)
		for !left && time.Now().Before(deadline) {
			_, q := a.srv.Matchmaker().Queued(cs[0].id)
			left = !q
			time.Sleep(5 * time.Millisecond)
		}
	}
	if !left {
		t.Fatal("the party is still queued with a member whose node restarted")
	}
	for _, c := range []*client{cs[0], cs[2]} {
		c.expect("match.cancelled")
		expectPartyOf(t, c, 2)
	}
}
