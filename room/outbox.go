package room

import "github.com/leitai/leitai/protocol"

// delivery is something the room says, waiting for the journal: one frame
// to several peers, or one frame per peer.
type delivery struct {
	peers  []Peer
	frame  *protocol.Frame  // the same frame for every peer, or nil
	frames []protocol.Frame // frames[i] for peers[i] when frame is nil
	kick   string           // after sending, close the peers' connections
	// only, if not nil, lists the peers to send to (the others were
	// relayed, see relayOut); run's range is over it.
	only []int
}

// size is how many peers run sends to.
func (d *delivery) size() int {
	if d.only != nil {
		return len(d.only)
	}
	return len(d.peers)
}

// run sends the delivery to the peers from lo to hi (see size).
func (d *delivery) run(lo, hi int) {
	for k := lo; k < hi; k++ {
		i := k
		if d.only != nil {
			i = d.only[k]
		}
		p := d.peers[i]
		if d.frame != nil {
			p.Send(d.frame)
		} else {
			p.Send(&d.frames[i])
		}
		if d.kick != "" {
			p.Kick(d.kick)
		}
	}
}

// relayOut takes what goes to relayed peers (see Relayed) out of the
// delivery, adding it to their relays' groups, and returns the delivery to
// the others.
func (d *delivery) relayOut(groups *[]relayGroup, roomID string) delivery {
	var items []*RelayItem // this delivery's item per group, by group index
	var local []int
	for i, p := range d.peers {
		rp, ok := p.(Relayed)
		if !ok {
			if items != nil {
				local = append(local, i)
			}
			continue
		}
		if items == nil {
			// The first relayed peer: those before it are all local.
			local = make([]int, i, len(d.peers))
			for k := range local {
				local[k] = k
			}
			items = make([]*RelayItem, 0, 4)
		}
		rl, id := rp.Relayed()
		gi := groupOf(groups, rl)
		for len(items) <= gi {
			items = append(items, nil)
		}
		it := items[gi]
		if it == nil {
			g := &(*groups)[gi]
			g.items = append(g.items, RelayItem{Room: roomID, Frame: d.frame, Kick: d.kick})
			it = &g.items[len(g.items)-1]
			items[gi] = it
		}
		it.IDs = append(it.IDs, id)
		if d.frame == nil {
			it.Frames = append(it.Frames, &d.frames[i])
		}
		// it points into g.items, which may grow when another delivery
		// adds to it; this delivery is done with it before that.
	}
	if items == nil {
		return *d
	}
	out := *d
	out.only = local
	if out.only == nil {
		out.only = []int{}
	}
	return out
}

// relayGroup is what one flush sends by one relay.
type relayGroup struct {
	relay Relay
	items []RelayItem
}

func groupOf(gs *[]relayGroup, rl Relay) int {
	for i := range *gs {
		if (*gs)[i].relay == rl {
			return i
		}
	}
	*gs = append(*gs, relayGroup{relay: rl})
	return len(*gs) - 1
}

// say queues a frame for peers.
func (r *Room) say(f *protocol.Frame, peers ...Peer) {
	if len(peers) > 0 {
		r.outbox = append(r.outbox, delivery{peers: peers, frame: f})
	}
}

// flush hands what the room said to the journal, to be sent once every
// entry recorded before it is durable. So nothing a player sees — a reveal
// counting an answer, a scoreboard, a result — can be undone by a crash,
// and everything keeps the order in which the room said it. Acks are sent
// by the journal's own callbacks, which come in the same order. Runs on the
// room goroutine; the sends run on the journal's goroutine, or for big
// broadcasts on the room's fan-out goroutine (see fanout), and touch only
// frames and peers, never room state.
//
// A question asked since the last flush goes out with this one: the room
// is told when (see wentOut), since its time runs from then.
func (r *Room) flush() {
	q := r.unflushed
	if len(r.outbox) == 0 && q == nil {
		return
	}
	out := r.outbox
	r.outbox, r.unflushed = nil, nil
	r.opts.Journal.Then(func(err error) {
		if r.failed.Load() {
			// One of this room's entries failed: what it said may count
			// what is not stored. The room stops and is restored from
			// its journal, and then tells everyone its state.
			return
		}
		// Noted before the question is sent: no answer to it can reach
		// the room before the room can know when it went out.
		if q != nil {
			r.wentOut(q)
		}
		// An error here is another room's (the batch was shared): this
		// room's entries before the marker are all stored.
		if len(out) > 0 {
			r.fan.send(out)
		}
	})
}
