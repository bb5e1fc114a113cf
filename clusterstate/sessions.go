package clusterstate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/cluster"
)

// Sessions is the directory of players' connections and rooms across
// nodes. A player has one connection in the whole cluster: Register on one
// node tells the node holding the player's previous connection, through
// the function given to Watch, to close it (with 4001). A player's rooms
// are found by key, so a hello never scans rooms.
//
// Each node has its own Sessions handle, named by the node id.
type Sessions interface {
	// Register makes conn, on this node, the player's connection. If
	// another node held the player's previous connection, that node's
	// Watch function is called with the player and that connection's id.
	Register(ctx context.Context, player, conn string) error
	// Unregister forgets the player's connection if conn, on this node,
	// is still it.
	Unregister(ctx context.Context, player, conn string) error
	// Holder returns the node and connection holding the player's
	// connection, or "", "" if none is registered.
	Holder(ctx context.Context, player string) (node, conn string, err error)
	// Holders is Holder for many players at once, in order.
	Holders(ctx context.Context, players []string) ([]Holding, error)
	// AddRoom records that player is in room; RemoveRoom that it left.
	AddRoom(ctx context.Context, player, room string) error
	// Seat records that each of players is in room, as AddRoom does for
	// one (a restored room lists its members at once).
	Seat(ctx context.Context, room string, players []string) error
	RemoveRoom(ctx context.Context, player, room string) error
	// Unseat records that each of players left room, as RemoveRoom does
	// for one (a finished room lets all its players go at once).
	Unseat(ctx context.Context, room string, players []string) error
	// Rooms lists the rooms player is in, in no particular order.
	Rooms(ctx context.Context, player string) ([]string, error)
	// Watch calls replaced(player, conn) for each connection of this node
	// that a newer connection on another node replaced, until cancel. fn
	// must not block.
	Watch(ctx context.Context, replaced func(player, conn string)) (cancel func(), err error)
}

// Holding is where a player's connection is: its node and connection id,
// both "" if none is registered.
type Holding struct{ Node, Conn string }

// LocalSessionHub is the in-process session directory: a single node's
// (one Node), or several nodes' in tests.
type LocalSessionHub struct {
	// mu guards the following fields.
	mu       sync.Mutex
	holders  map[string]holder
	rooms    map[string][]string // a player is in a room or two: a slice
	watchers map[string]func(player, conn string)
}

type holder struct{ node, conn string }

// NewLocalSessionHub makes an empty directory.
func NewLocalSessionHub() *LocalSessionHub {
	return &LocalSessionHub{holders: map[string]holder{}, rooms: map[string][]string{}, watchers: map[string]func(string, string){}}
}

// Node returns node's handle on the hub.
func (h *LocalSessionHub) Node(node string) *LocalSessions { return &LocalSessions{hub: h, node: node} }

// LocalSessions is one node's handle on a LocalSessionHub.
type LocalSessions struct {
	hub  *LocalSessionHub // Static after construction.
	node string           // Static after construction.
}

var _ Sessions = (*LocalSessions)(nil)

// Register implements Sessions.
func (l *LocalSessions) Register(_ context.Context, player, conn string) error {
	h := l.hub
	h.mu.Lock()
	old, had := h.holders[player]
	h.holders[player] = holder{node: l.node, conn: conn}
	fn := h.watchers[old.node]
	h.mu.Unlock()
	if had && old.node != l.node && fn != nil {
		fn(player, old.conn)
	}
	return nil
}

// Unregister implements Sessions.
func (l *LocalSessions) Unregister(_ context.Context, player, conn string) error {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holders[player] == (holder{node: l.node, conn: conn}) {
		delete(h.holders, player)
	}
	return nil
}

// Holder implements Sessions.
func (l *LocalSessions) Holder(_ context.Context, player string) (string, string, error) {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	x := h.holders[player]
	return x.node, x.conn, nil
}

// Holders implements Sessions.
func (l *LocalSessions) Holders(_ context.Context, players []string) ([]Holding, error) {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Holding, len(players))
	for i, p := range players {
		x := h.holders[p]
		out[i] = Holding{Node: x.node, Conn: x.conn}
	}
	return out, nil
}

// AddRoom implements Sessions.
func (l *LocalSessions) AddRoom(_ context.Context, player, room string) error {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.Contains(h.rooms[player], room) {
		h.rooms[player] = append(h.rooms[player], room)
	}
	return nil
}

// Seat implements Sessions.
func (l *LocalSessions) Seat(ctx context.Context, room string, players []string) error {
	for _, p := range players {
		_ = l.AddRoom(ctx, p, room)
	}
	return nil
}

// Unseat implements Sessions.
func (l *LocalSessions) Unseat(ctx context.Context, room string, players []string) error {
	for _, p := range players {
		_ = l.RemoveRoom(ctx, p, room)
	}
	return nil
}

// RemoveRoom implements Sessions.
func (l *LocalSessions) RemoveRoom(_ context.Context, player, room string) error {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := slices.DeleteFunc(h.rooms[player], func(r string) bool { return r == room })
	if len(rs) == 0 {
		delete(h.rooms, player)
	} else {
		h.rooms[player] = rs
	}
	return nil
}

// Rooms implements Sessions.
func (l *LocalSessions) Rooms(_ context.Context, player string) ([]string, error) {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.rooms[player]), nil
}

// Watch implements Sessions.
func (l *LocalSessions) Watch(_ context.Context, replaced func(player, conn string)) (func(), error) {
	h := l.hub
	h.mu.Lock()
	h.watchers[l.node] = replaced
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.watchers, l.node)
		h.mu.Unlock()
	}, nil
}

// RedisSessions is one node's handle on the session directory in Redis.
//
// A player's entry is a hash {PREFIXsess:PLAYER} (fields node, conn) and
// a set {PREFIXsess:PLAYER}:rooms, one hash tag so one script can touch
// both; both live SessionTTL past their last write. A replaced connection
// is announced on the Bus channel sess:node:NODE of the node that held it.
type RedisSessions struct {
	client redis.UniversalClient // Static after construction.
	prefix string                // Static after construction.
	bus    cluster.Bus           // Static after construction.
	node   string                // Static after construction.
	ttl    time.Duration         // Static after construction.

	// unregs gathers the Unregisters waiting for the next pipeline.
	unregs unregQueue
}

// unregQueue gathers Unregister calls: when thousands of connections close
// at once (an event's end), one call each would queue thousands of round
// trips on the client's pool and many would time out; instead one flusher
// goroutine sends whatever queued while its previous pipeline was on the
// way as one pipeline (split by slot on a Redis Cluster).
type unregQueue struct {
	// mu guards the following fields.
	mu       sync.Mutex
	pending  []unreg
	flushing bool // a flusher goroutine runs
}

// unreg is one queued Unregister; done gets its outcome.
type unreg struct {
	player, conn string
	done         chan error
}

// unregBatch bounds the calls in one pipeline, and unregWait the pipeline.
const (
	unregBatch = 2000
	unregWait  = 5 * time.Second
)

// SessionTTL is how long a directory entry outlives its last write: longer
// than any connection or room lasts, so only the entries of a node that
// died without unregistering ever lapse.
const SessionTTL = 24 * time.Hour

var _ Sessions = (*RedisSessions)(nil)

// NewRedisSessions is node's handle on the directory in client under
// prefix; replacements are announced over bus.
func NewRedisSessions(client redis.UniversalClient, prefix string, bus cluster.Bus, node string) *RedisSessions {
	return &RedisSessions{client: client, prefix: prefix, bus: bus, node: node, ttl: SessionTTL}
}

func (r *RedisSessions) key(player string) string { return "{" + r.prefix + "sess:" + player + "}" }

func sessChannel(node string) string { return "sess:node:" + node }

// replacedMsg is the notice to a node that one of its connections was
// replaced.
type replacedMsg struct {
	Player string `json:"player"`
	Conn   string `json:"conn"`
}

// ARGV: node, conn, ttl ms. Returns the previous node and conn.
var sessRegister = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], 'node', 'conn')
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'conn', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {old[1] or '', old[2] or ''}`)

// ARGV: node, conn.
var sessUnregister = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], 'node', 'conn')
if old[1] == ARGV[1] and old[2] == ARGV[2] then redis.call('DEL', KEYS[1]) end
return 1`)

// Register implements Sessions.
func (r *RedisSessions) Register(ctx context.Context, player, conn string) error {
	old, err := sessRegister.Run(ctx, r.client, []string{r.key(player)}, r.node, conn, ms(r.ttl)).StringSlice()
	if err != nil {
		return unavailable(err)
	}
	if len(old) != 2 || old[0] == "" || old[0] == r.node {
		return nil // nobody, or this node, which closes its own
	}
	msg, _ := json.Marshal(replacedMsg{Player: player, Conn: old[1]})
	return r.bus.Publish(ctx, sessChannel(old[0]), msg)
}

// Unregister implements Sessions. Calls made while a pipeline is on its
// way go together in the next one (see unregQueue); ctx bounds the wait.
func (r *RedisSessions) Unregister(ctx context.Context, player, conn string) error {
	u := unreg{player: player, conn: conn, done: make(chan error, 1)}
	q := &r.unregs
	q.mu.Lock()
	q.pending = append(q.pending, u)
	start := !q.flushing
	q.flushing = true
	q.mu.Unlock()
	if start {
		go r.flushUnregisters()
	}
	select {
	case err := <-u.done:
		return err
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// flushUnregisters sends the queued Unregisters in pipelines of at most
// unregBatch until none is left, then ends.
func (r *RedisSessions) flushUnregisters() {
	q := &r.unregs
	for {
		q.mu.Lock()
		batch := q.pending[:min(len(q.pending), unregBatch)]
		q.pending = q.pending[len(batch):]
		if len(batch) == 0 {
			q.pending = nil
			q.flushing = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		r.unregisterAll(batch)
	}
}

// unregisterAll runs batch's Unregisters in one pipeline and tells each
// its outcome.
func (r *RedisSessions) unregisterAll(batch []unreg) {
	ctx, cancel := context.WithTimeout(context.Background(), unregWait)
	defer cancel()
	cmds := make([]*redis.Cmd, len(batch))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range batch {
			cmds[i] = sessUnregister.Eval(ctx, p, []string{r.key(u.player)}, r.node, u.conn)
		}
		return nil
	})
	for i, u := range batch {
		e := cmds[i].Err()
		if e == nil && err != nil && !errors.Is(err, redis.Nil) {
			e = err
		}
		u.done <- unavailable(e)
	}
}

// Holder implements Sessions.
func (r *RedisSessions) Holder(ctx context.Context, player string) (string, string, error) {
	v, err := r.client.HMGet(ctx, r.key(player), "node", "conn").Result()
	if err != nil {
		return "", "", unavailable(err)
	}
	node, _ := v[0].(string)
	conn, _ := v[1].(string)
	return node, conn, nil
}

// Holders implements Sessions: one pipeline for every player.
func (r *RedisSessions) Holders(ctx context.Context, players []string) ([]Holding, error) {
	cmds := make([]*redis.SliceCmd, len(players))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, pl := range players {
			cmds[i] = p.HMGet(ctx, r.key(pl), "node", "conn")
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]Holding, len(players))
	for i, c := range cmds {
		v := c.Val()
		if len(v) == 2 {
			out[i].Node, _ = v[0].(string)
			out[i].Conn, _ = v[1].(string)
		}
	}
	return out, nil
}

// AddRoom implements Sessions.
func (r *RedisSessions) AddRoom(ctx context.Context, player, room string) error {
	k := r.key(player) + ":rooms"
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, k, room)
		p.PExpire(ctx, k, r.ttl)
		return nil
	})
	return unavailable(err)
}

// Seat implements Sessions: one pipeline (split by slot on a Redis
// Cluster) for every player.
func (r *RedisSessions) Seat(ctx context.Context, room string, players []string) error {
	if len(players) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, pl := range players {
			k := r.key(pl) + ":rooms"
			p.SAdd(ctx, k, room)
			p.PExpire(ctx, k, r.ttl)
		}
		return nil
	})
	return unavailable(err)
}

// Unseat implements Sessions: one pipeline (split by slot on a Redis
// Cluster) for every player, as Seat.
func (r *RedisSessions) Unseat(ctx context.Context, room string, players []string) error {
	if len(players) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, pl := range players {
			p.SRem(ctx, r.key(pl)+":rooms", room)
		}
		return nil
	})
	return unavailable(err)
}

// RemoveRoom implements Sessions.
func (r *RedisSessions) RemoveRoom(ctx context.Context, player, room string) error {
	return unavailable(r.client.SRem(ctx, r.key(player)+":rooms", room).Err())
}

// Rooms implements Sessions.
func (r *RedisSessions) Rooms(ctx context.Context, player string) ([]string, error) {
	rs, err := r.client.SMembers(ctx, r.key(player)+":rooms").Result()
	if err != nil {
		return nil, unavailable(err)
	}
	return rs, nil
}

// Watch implements Sessions.
func (r *RedisSessions) Watch(ctx context.Context, replaced func(player, conn string)) (func(), error) {
	return r.bus.Subscribe(ctx, sessChannel(r.node), func(b []byte) {
		var m replacedMsg
		if json.Unmarshal(b, &m) == nil && m.Player != "" {
			replaced(m.Player, m.Conn)
		}
	})
}
