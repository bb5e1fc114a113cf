package roomhost

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
)

// What goes between two nodes goes in as few Bus messages as the traffic
// allows: whatever queued for one node while the previous message was on
// its way goes out in the next, cut into messages of at most busBudget
// bytes. One Redis message costs about the same whatever it carries up to a
// few hundred KiB, so under load the number of messages follows the number
// of flushes, not the number of answers.
//
// The queues never drop. What waits in one is bounded by what made it: a
// room's frames for another node's players (each player gets at most one
// ack per answer, and a room says one question, reveal or scoreboard at a
// time), the replies to commands that node sent (each connection reads one
// command at a time and is rate-limited), and this node's own commands
// (likewise). While the Bus is slow the queue takes what would have been
// the publishes in flight; a publish that fails (Redis unreachable for its
// 5 s) is logged and counted, and the nodes resync as after a Redis restart
// (the edge re-attaches its players on resubscription).

// busBudget bounds the bytes of one Bus message made of gathered items. A
// single item larger than it (a frame bigger than busBudget) goes alone.
// Redis's pub/sub output buffer must hold several: see docs/operations.md.
const busBudget = 512 << 10

// publishWait bounds one publish of gathered items.
const publishWait = 5 * time.Second

// batchQueue gathers values for one sender goroutine; put never blocks and
// never drops.
type batchQueue[T any] struct {
	wake chan struct{} // Static after construction; capacity 1.

	// mu guards items.
	mu    sync.Mutex
	items []T
}

func newBatchQueue[T any]() *batchQueue[T] {
	return &batchQueue[T]{wake: make(chan struct{}, 1)}
}

// put appends vs and wakes the sender.
func (q *batchQueue[T]) put(vs ...T) {
	q.mu.Lock()
	q.items = append(q.items, vs...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns everything queued, in order, and empties the queue.
func (q *batchQueue[T]) take() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	v := q.items
	q.items = nil
	return v
}

// pack joins encoded elements into messages head+e1,e2,...+tail of at most
// budget bytes each (an element too big for one goes alone), in order, and
// says how many elements each message holds.
func pack(head, tail string, elems [][]byte, budget int) (out [][]byte, counts []int) {
	var cur []byte
	for _, e := range elems {
		if cur != nil && len(cur)+1+len(e)+len(tail) > budget {
			out = append(out, append(cur, tail...))
			cur = nil
		}
		if cur == nil {
			counts = append(counts, 0)
			cur = append(make([]byte, 0, min(budget, len(head)+len(e)+len(tail)+64)), head...)
		} else {
			cur = append(cur, ',')
		}
		counts[len(counts)-1]++
		cur = append(cur, e...)
	}
	if cur != nil {
		out = append(out, append(cur, tail...))
	}
	return out, counts
}

// RequestBatch is what one node sends another's rooms at once: commands in
// the order they were sent.
type RequestBatch struct {
	Reqs []Request `json:"reqs"`
}

// ReplyBatch is the replies one node sends another at once.
type ReplyBatch struct {
	Replies []Response `json:"replies"`
}

// encodeRequests makes the Bus messages of reqs; it returns the requests
// each message carries beside it, so a failed publish fails exactly them.
func encodeRequests(reqs []Request, budget int) (msgs [][]byte, of [][]Request) {
	elems := make([][]byte, 0, len(reqs))
	kept := reqs[:0:0]
	for _, r := range reqs {
		b, err := json.Marshal(r)
		if err != nil {
			continue
		}
		elems = append(elems, b)
		kept = append(kept, r)
	}
	msgs, counts := pack(`{"reqs":[`, `]}`, elems, budget)
	// pack keeps the order, so the messages take the requests in turn.
	i := 0
	for _, n := range counts {
		of = append(of, kept[i:i+n])
		i += n
	}
	return msgs, of
}

func encodeReplies(reps []Response, budget int) [][]byte {
	elems := make([][]byte, 0, len(reps))
	for _, r := range reps {
		if b, err := json.Marshal(r); err == nil {
			elems = append(elems, b)
		}
	}
	msgs, _ := pack(`{"replies":[`, `]}`, elems, budget)
	return msgs
}

// Requester sends this node's commands to the rooms of other nodes,
// gathered per owner: one goroutine per owner node takes whatever queued
// while its previous message went out and sends it as one RequestBatch (or
// a few, by busBudget). The owner's replies come back gathered the same
// way, on this node's ReplyChannel.
type Requester struct {
	bus  cluster.Bus     // Static after construction.
	ctx  context.Context // Static after construction: ends the senders.
	fail func([]Request) // Static after construction.
	node string          // Static after construction: this node.
	log  func(err error, to string)

	// mu guards to.
	mu sync.Mutex
	to map[string]*batchQueue[Request]
}

// NewRequester makes the Requester of node. fail is called, on a sender's
// goroutine, with the requests whose message could not be published; log,
// if not nil, is told of each such failure.
func NewRequester(ctx context.Context, bus cluster.Bus, node string, fail func([]Request), log func(err error, to string)) *Requester {
	return &Requester{bus: bus, ctx: ctx, fail: fail, node: node, log: log, to: map[string]*batchQueue[Request]{}}
}

// Send queues req for owner's rooms, with this node as its sender. It
// never blocks.
func (s *Requester) Send(owner string, req Request) {
	req.Cmd.Node = s.node
	s.mu.Lock()
	q, ok := s.to[owner]
	if !ok {
		q = newBatchQueue[Request]()
		s.to[owner] = q
		go s.run(owner, q)
	}
	s.mu.Unlock()
	q.put(req)
}

func (s *Requester) run(owner string, q *batchQueue[Request]) {
	for {
		select {
		case <-s.ctx.Done():
			if reqs := q.take(); len(reqs) > 0 {
				s.fail(reqs)
			}
			return
		case <-q.wake:
		}
		reqs := q.take()
		if len(reqs) == 0 {
			continue
		}
		msgs, of := encodeRequests(reqs, busBudget)
		for i, m := range msgs {
			pctx, cancel := context.WithTimeout(s.ctx, publishWait)
			err := s.bus.Publish(pctx, RequestChannel(owner), m)
			cancel()
			if err != nil {
				if s.log != nil {
					s.log(err, owner)
				}
				s.fail(of[i])
			}
		}
	}
}

// The encoding of frames for another node's players.

// idCost estimates the encoded bytes of one id of an item beside its
// frame (quotes, comma, and for personal frames the frame or its middle).
func idCost(id string) int { return len(id) + 3 }

// quotedLen is at least the length of b as a JSON string (json.Marshal
// escapes quotes, backslashes, control characters and <, >, &).
func quotedLen(b []byte) int {
	n := len(b) + 2
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			n++
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 5
		}
	}
	return n
}

// spliced reports whether every frame is prefix + middle + suffix with the
// same prefix and suffix (as the room's personal broadcasts are: reveal,
// room.finished), so that the item can carry them once.
func spliced(fs []*protocol.Frame) bool {
	if len(fs) == 0 {
		return false
	}
	a := fs[0]
	if len(a.Parts) != 3 {
		return false
	}
	for _, f := range fs[1:] {
		if len(f.Parts) != 3 || !samePart(f.Parts[0], a.Parts[0]) || !samePart(f.Parts[2], a.Parts[2]) {
			return false
		}
	}
	return true
}

func samePart(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return bytes.Equal(a, b)
}

// frameItems turns one RelayItem into FrameItems of at most about budget
// bytes each, splitting its ids when it is bigger.
func frameItems(it room.RelayItem, budget int) []FrameItem {
	base := FrameItem{Room: it.Room, Kick: it.Kick}
	f := it.Frame
	var mids []string
	var whole []json.RawMessage
	fixed := 64 + len(it.Room) + len(it.Kick)
	switch {
	case f != nil:
		base.Frame = f.Bytes()
		fixed += len(base.Frame)
	case spliced(it.Frames):
		f = it.Frames[0]
		base.Pre, base.Suf = string(f.Parts[0]), string(f.Parts[2])
		fixed += quotedLen(f.Parts[0]) + quotedLen(f.Parts[2]) + 16
		mids = make([]string, len(it.Frames))
		for k, pf := range it.Frames {
			mids[k] = string(pf.Parts[1])
		}
	default:
		whole = make([]json.RawMessage, len(it.Frames))
		for k, pf := range it.Frames {
			whole[k] = pf.Bytes()
		}
		if len(it.Frames) > 0 {
			f = it.Frames[0]
		}
	}
	if f != nil {
		base.Mark, base.Probe = f.Mark, f.Probe
	}
	var out []FrameItem
	lo, size := 0, fixed
	cut := func(hi int) {
		fi := base
		fi.IDs = it.IDs[lo:hi]
		if mids != nil {
			fi.Mids = mids[lo:hi]
		}
		if whole != nil {
			fi.Frames = whole[lo:hi]
		}
		out = append(out, fi)
		lo, size = hi, fixed
	}
	for i, id := range it.IDs {
		c := idCost(id)
		switch {
		case mids != nil:
			c += quotedLen(it.Frames[i].Parts[1]) + 1
		case whole != nil:
			c += len(whole[i]) + 1
		}
		if i > lo && size+c > budget {
			cut(i)
		}
		size += c
	}
	if lo < len(it.IDs) || len(out) == 0 {
		cut(len(it.IDs))
	}
	return out
}

// encodeFrames makes the Bus messages of items, each a FrameBatch of at
// most about budget bytes, in order.
func encodeFrames(items []room.RelayItem, budget int) [][]byte {
	var elems [][]byte
	for _, it := range items {
		for _, fi := range frameItems(it, budget) {
			b, err := json.Marshal(fi)
			if err != nil {
				continue
			}
			elems = append(elems, b)
		}
	}
	msgs, _ := pack(`{"items":[`, `]}`, elems, budget)
	return msgs
}

// Decode returns the item's frames: shared, the one frame for every id,
// or else personal(i), the frame of IDs[i] (nil if the item has none for
// it, as a kick alone).
func (it *FrameItem) Decode() (shared *protocol.Frame, personal func(i int) *protocol.Frame) {
	if len(it.Frame) > 0 {
		shared = protocol.NewShared(it.Frame)
		shared.Mark, shared.Probe = it.Mark, it.Probe
		return shared, nil
	}
	pre, suf := []byte(it.Pre), []byte(it.Suf)
	return nil, func(i int) *protocol.Frame {
		var f *protocol.Frame
		switch {
		case i < len(it.Mids):
			f = &protocol.Frame{Parts: [][]byte{pre, []byte(it.Mids[i]), suf}}
		case i < len(it.Frames):
			f = protocol.NewFrame(it.Frames[i])
		default:
			return nil
		}
		f.Mark, f.Probe = it.Mark, it.Probe
		return f
	}
}
