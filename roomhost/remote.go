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

// FrameItem is one frame for some players: Frame for all of IDs, or
// Frames[i] for IDs[i].
type FrameItem struct {
	// Room is the room that says it, if the frame is a broadcast's: the
	// edge lists it among its players' rooms.
	Room   string            `json:"room,omitempty"`
	IDs    []string          `json:"ids"`
	Frame  json.RawMessage   `json:"f,omitempty"`
	Frames []json.RawMessage `json:"fs,omitempty"`
	Mark   *protocol.Mark    `json:"mark,omitempty"`
	Probe  bool              `json:"probe,omitempty"`
	Kick   string            `json:"kick,omitempty"`
}

// remote is the owner's side of rooms whose players are on other nodes:
// it serves their requests and relays frames back, a node at a time.
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
// in order, on a goroutine of its own so no room waits on the Bus.
type nodeRelay struct {
	node string
	out  chan []room.RelayItem
	r    *remote
}

var _ room.Relay = (*nodeRelay)(nil)

// relayQueue bounds what waits for the Bus per node; beyond it frames are
// dropped (the players' clients resync from the next room.state).
const relayQueue = 4096

// Relay implements room.Relay.
func (n *nodeRelay) Relay(items []room.RelayItem) {
	select {
	case n.out <- items:
	default:
		n.r.host.log.Warn().Str("to", n.node).Msg("relay queue full: frames dropped")
	}
}

func (n *nodeRelay) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case items := <-n.out:
			items = n.gather(items)
			msg, err := json.Marshal(encodeBatch(items))
			if err != nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := n.r.bus.Publish(pctx, FrameChannel(n.node), msg); err != nil {
				n.r.host.log.Warn().Err(err).Str("to", n.node).Msg("relay frames")
			}
			cancel()
		}
	}
}

// relayBatchMax bounds how many items one Bus message carries.
const relayBatchMax = 1024

// gather appends to items whatever else is already queued, in order, up to
// relayBatchMax items, so a backlog goes out in a few messages instead of
// one Bus round trip per Relay call: 20,000 acks to another node's players
// otherwise wait in line behind one another and overflow the queue.
func (n *nodeRelay) gather(items []room.RelayItem) []room.RelayItem {
	for len(items) < relayBatchMax {
		select {
		case more := <-n.out:
			items = append(items, more...)
		default:
			return items
		}
	}
	return items
}

func encodeBatch(items []room.RelayItem) FrameBatch {
	b := FrameBatch{Items: make([]FrameItem, len(items))}
	for i, it := range items {
		fi := FrameItem{Room: it.Room, IDs: it.IDs, Kick: it.Kick}
		f := it.Frame
		if f != nil {
			fi.Frame = f.Bytes()
		} else {
			fi.Frames = make([]json.RawMessage, len(it.Frames))
			for k, pf := range it.Frames {
				fi.Frames[k] = pf.Bytes()
			}
			if len(it.Frames) > 0 {
				f = it.Frames[0]
			}
		}
		if f != nil {
			fi.Mark, fi.Probe = f.Mark, f.Probe
		}
		b.Items[i] = fi
	}
	return b
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
	rl, ok := r.relays[node]
	if !ok {
		rl = &nodeRelay{node: node, out: make(chan []room.RelayItem, relayQueue), r: r}
		r.relays[node] = rl
		go rl.run(ctx)
	}
	p := &remotePeer{relay: rl, id: id}
	r.peers[k] = p
	return p
}

// serve handles one request from another node. Runs in its own goroutine.
func (r *remote) serve(ctx context.Context, msg []byte) {
	var req Request
	if err := json.Unmarshal(msg, &req); err != nil || req.Cmd.Node == "" {
		return
	}
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
			go r.reply(ctx, cmd.Node, req.ID, rep)
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
	r.reply(cctx, cmd.Node, req.ID, rep)
}

// reply sends a command's reply to the node that asked.
func (r *remote) reply(ctx context.Context, node string, id uint64, rep Reply) {
	out, err := json.Marshal(Response{ID: id, Reply: rep})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.bus.Publish(ctx, ReplyChannel(node), out); err != nil {
		r.host.log.Warn().Err(err).Str("to", node).Msg("reply to a room command")
	}
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
