package roomhost

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
)

// The Bus channels between nodes. A gateway sends a node's rooms their
// commands on the node's request channel; the rooms' frames for a node's
// players go on its frame channel, replies on its reply channel; a room's
// new owner is announced on the owners channel.
func RequestChannel(node string) string { return "rq:" + node }

// FrameChannel is where a node receives the frames of rooms run elsewhere.
func FrameChannel(node string) string { return "fr:" + node }

// ReplyChannel is where a node receives the replies to its requests.
func ReplyChannel(node string) string { return "rp:" + node }

// OwnersChannel carries Announcements.
const OwnersChannel = "owners"

// Request is a Command on the Bus; ID pairs it with its Response.
type Request struct {
	ID  uint64  `json:"id"`
	Cmd Command `json:"cmd"`
	// NoReply is set on commands whose sender does not wait for the
	// outcome: detaches and unwatches.
	NoReply bool `json:"noreply,omitempty"`
}

// Response is a Reply on the Bus.
type Response struct {
	ID    uint64 `json:"id"`
	Reply Reply  `json:"reply"`
}

// Announcement tells every node who owns a room now: Node, or nobody
// when Node is empty (it was handed over and is being taken).
type Announcement struct {
	Room string `json:"room"`
	Node string `json:"node"`
}

// FrameBatch is what a room says at once to the players of one node.
type FrameBatch struct {
	Items []FrameItem `json:"items"`
}

// FrameItem is one frame for some players: Frame for all of IDs; or, for
// frames made of a shared prefix and suffix around each player's own part
// (reveal, room.finished), Pre + Mids[i] + Suf for IDs[i], which carries
// the shared part once instead of once per player; or else Frames[i] for
// IDs[i]. See Decode.
type FrameItem struct {
	// Room is the room that says it, if the frame is a broadcast's: the
	// edge lists it among its players' rooms.
	Room   string            `json:"room,omitempty"`
	IDs    []string          `json:"ids"`
	Frame  json.RawMessage   `json:"f,omitempty"`
	Frames []json.RawMessage `json:"fs,omitempty"`
	Pre    string            `json:"pre,omitempty"`
	Suf    string            `json:"suf,omitempty"`
	Mids   []string          `json:"ms,omitempty"`
	Mark   *protocol.Mark    `json:"mark,omitempty"`
	Probe  bool              `json:"probe,omitempty"`
	Kick   string            `json:"kick,omitempty"`
}

// remote is the owner's side of rooms whose players are on other nodes:
// it serves their requests and relays frames and replies back, a node at a
// time.
type remote struct {
	node string
	bus  cluster.Bus
	host *Host

	// mu guards the following fields.
	mu     sync.Mutex
	relays map[string]*nodeRelay
	peers  map[peerKey]*remotePeer
}

type peerKey struct{ node, id string }

// nodeRelay sends what this node's rooms say to one other node's players,
// and the replies to that node's commands, in order, on a goroutine of its
// own so no room waits on the Bus. Nothing is dropped (see batchQueue): an
// ack lost on the way would leave a durable answer unacknowledged, and a
// room.finished lost would leave a contestant waiting for an end that came.
type nodeRelay struct {
	node    string                      // Static after construction.
	r       *remote                     // Static after construction.
	frames  *batchQueue[room.RelayItem] // Static after construction.
	replies *batchQueue[Response]       // Static after construction.
	// wake is shared by both queues.
	wake chan struct{}
}

var _ room.Relay = (*nodeRelay)(nil)

func newNodeRelay(node string, r *remote) *nodeRelay {
	n := &nodeRelay{node: node, r: r, frames: newBatchQueue[room.RelayItem](), replies: newBatchQueue[Response]()}
	n.wake = n.frames.wake
	n.replies.wake = n.wake
	return n
}

// Relay implements room.Relay. It never blocks and never drops.
func (n *nodeRelay) Relay(items []room.RelayItem) { n.frames.put(items...) }

// reply queues a command's reply for the node.
func (n *nodeRelay) reply(rep Response) { n.replies.put(rep) }

// run sends whatever queued while its previous messages went out: replies
// first (their commands wait for them), then frames, each in messages of at
// most busBudget bytes.
func (n *nodeRelay) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		if reps := n.replies.take(); len(reps) > 0 {
			for _, m := range encodeReplies(reps, busBudget) {
				n.publish(ctx, ReplyChannel(n.node), m, "reply to room commands")
			}
		}
		if items := n.frames.take(); len(items) > 0 {
			for _, m := range encodeFrames(items, busBudget) {
				n.publish(ctx, FrameChannel(n.node), m, "relay frames")
			}
		}
	}
}

func (n *nodeRelay) publish(ctx context.Context, channel string, msg []byte, what string) {
	pctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	if err := n.r.bus.Publish(pctx, channel, msg); err != nil && ctx.Err() == nil {
		n.r.host.log.Warn().Err(err).Str("to", n.node).Int("bytes", len(msg)).Msg(what + ": lost")
	}
}

// remotePeer is a player (or watcher) whose connection is on another node.
type remotePeer struct {
	relay     *nodeRelay
	id        string
	connected atomic.Bool
}

var _ room.Relayed = (*remotePeer)(nil)

func (p *remotePeer) Send(f *protocol.Frame) bool {
	p.relay.Relay([]room.RelayItem{{IDs: []string{p.id}, Frame: f}})
	return true
}

func (p *remotePeer) Connected() bool { return p.connected.Load() }

func (p *remotePeer) Kick(reason string) {
	p.relay.Relay([]room.RelayItem{{IDs: []string{p.id}, Kick: reason}})
}

func (p *remotePeer) Relayed() (room.Relay, string) { return p.relay, p.id }

// peer returns the remote peer of id on node, the same one each time so
// that a room recognises it (an unwatch finds its watch).
// RemotePeer returns the peer through which a room here reaches player
// (or watcher) id whose connection is on node: for seating players of a
// match made across nodes. It is nil on a single node.
func (s *Host) RemotePeer(node, id string) room.Peer {
	if s.cl == nil {
		return nil
	}
	p := s.cl.remote.peer(s.runCtx, node, id)
	p.connected.Store(true)
	return p
}

func (r *remote) peer(ctx context.Context, node, id string) *remotePeer {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := peerKey{node, id}
	if p, ok := r.peers[k]; ok {
		return p
	}
	p := &remotePeer{relay: r.relayLocked(ctx, node), id: id}
	r.peers[k] = p
	return p
}

// relayLocked returns node's relay, starting it if need be. r.mu is held.
func (r *remote) relayLocked(ctx context.Context, node string) *nodeRelay {
	rl, ok := r.relays[node]
	if !ok {
		rl = newNodeRelay(node, r)
		r.relays[node] = rl
		go rl.run(ctx)
	}
	return rl
}

// serve handles one message of requests from another node, each request
// on a goroutine of its own. Runs on the Bus's goroutine.
func (r *remote) serve(ctx context.Context, msg []byte) {
	var b RequestBatch
	if err := json.Unmarshal(msg, &b); err != nil {
		return
	}
	for _, req := range b.Reqs {
		if req.Cmd.Node == "" {
			continue
		}
		go r.serveOne(ctx, req)
	}
}

// serveOne handles one request from another node.
func (r *remote) serveOne(ctx context.Context, req Request) {
	cmd := &req.Cmd
	p := r.peer(ctx, cmd.Node, cmd.Who)
	switch cmd.Op {
	case OpAnswer:
		// The reply says whether the room took the answer; its ack
		// follows as a frame once the answer is durable.
		r.host.Submit(ctx, cmd, p, time.Time{}, func(err error) {
			var rep Reply
			if err != nil {
				rep.Err = ProtocolError(err)
			}
			r.reply(ctx, cmd.Node, req.ID, rep)
		})
		return
	case OpJoin, OpAttach:
		p.connected.Store(true)
	case OpDetach:
		p.connected.Store(false)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rep, err := r.host.Exec(cctx, cmd, p)
	if err != nil {
		rep.Err = ProtocolError(err)
	}
	if req.NoReply {
		return
	}
	r.reply(ctx, cmd.Node, req.ID, rep)
}

// reply queues a command's reply for the node that asked, to go with the
// others that node is owed (see nodeRelay).
func (r *remote) reply(ctx context.Context, node string, id uint64, rep Reply) {
	r.mu.Lock()
	rl := r.relayLocked(ctx, node)
	r.mu.Unlock()
	rl.reply(Response{ID: id, Reply: rep})
}

// disconnectNode marks every remote peer on node disconnected and returns
// how many there were.
func (r *remote) disconnectNode(node string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, p := range r.peers {
		if k.node == node && p.connected.Swap(false) {
			n++
		}
	}
	return n
}
