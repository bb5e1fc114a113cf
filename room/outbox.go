package room

import "github.com/leitai/leitai/protocol"

// delivery is something the room says, waiting for the journal: one frame
// to several peers, or one frame per peer.
type delivery struct {
	peers  []Peer
	frame  *protocol.Frame  // the same frame for every peer, or nil
	frames []protocol.Frame // frames[i] for peers[i] when frame is nil
	kick   string           // after sending, close the peers' connections
}

// run sends the delivery to peers[lo:hi].
func (d *delivery) run(lo, hi int) {
	for i := lo; i < hi; i++ {
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
func (r *Room) flush() {
	if len(r.outbox) == 0 {
		return
	}
	out := r.outbox
	r.outbox = nil
	r.opts.Journal.Then(func(err error) {
		if r.failed.Load() {
			// One of this room's entries failed: what it said may count
			// what is not stored. The room stops and is restored from
			// its journal, and then tells everyone its state.
			return
		}
		// An error here is another room's (the batch was shared): this
		// room's entries before the marker are all stored.
		r.fan.send(out)
	})
}
