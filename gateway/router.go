package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
)

// router sends each command to the room it is for, wherever that runs. A
// room on this node gets it in process, with no encoding: on a single node
// that is every room, and the cost is a map lookup. A room on another node
// gets it over the Bus, on its owner's request channel, and the reply comes
// back on this node's reply channel, paired by id; an owner that does not
// answer in time is unavailable. Frames the owner sends this node's
// players come back on this node's frame channel, one message per batch.
type router struct {
	gw   *Gateway
	host *roomhost.Host
	node string
	bus  cluster.Bus // nil on a single node
	// req sends commands to rooms on other nodes, gathered per owner; nil
	// on a single node. Set by start.
	req *roomhost.Requester

	replies waiters[roomhost.Reply]

	// mu guards the following fields.
	mu     sync.Mutex
	owners map[string]string // room → owning node, as last announced or looked up
	// checks are the latest look-ups of whether a room's owner still
	// holds it, shared by the answers that wait on it (see ownerHolds).
	checks map[string]*ownerCheck
}

var errMoving = protocol.Errorf(protocol.CodeUnavailable, "the room is moving to another server; try again")

func newRouter(gw *Gateway, host *roomhost.Host) *router {
	return &router{gw: gw, host: host, node: host.Node(), bus: host.Bus(),
		owners: map[string]string{}, checks: map[string]*ownerCheck{}}
}

// start subscribes to this node's replies and frames and to room owners.
func (rt *router) start(ctx context.Context) error {
	if rt.bus == nil {
		return nil
	}
	rt.req = roomhost.NewRequester(ctx, rt.bus, rt.node, rt.failed, func(err error, to string) {
		rt.gw.log.Warn().Err(err).Str("to", to).Msg("commands to a room's server: lost")
	})
	var cancels []func()
	for _, sub := range []struct {
		ch string
		fn func([]byte)
	}{
		{roomhost.ReplyChannel(rt.node), rt.onReply},
		{roomhost.FrameChannel(rt.node), rt.onFrames},
		{roomhost.OwnersChannel, rt.onOwner},
	} {
		cancel, err := rt.bus.Subscribe(ctx, sub.ch, sub.fn)
		if err != nil {
			for _, c := range cancels {
				c()
			}
			return err
		}
		cancels = append(cancels, cancel)
	}
	if rs, ok := rt.bus.(cluster.Resubscriber); ok {
		rs.OnResubscribe(rt.resubscribed)
	}
	go func() {
		<-ctx.Done()
		for _, c := range cancels {
			c()
		}
	}()
	return nil
}

// resubscribed is told that one of this node's subscriptions came back
// after its connection dropped (Redis restarted, say). Owner announcements
// and frames published meanwhile are lost: a room may have moved, and this
// node's players missed its news. So every session here is re-attached to
// each of its rooms, wherever each runs now, and is sent its state afresh.
// Runs on the Bus's goroutine.
func (rt *router) resubscribed(channel string) {
	rt.gw.log.Warn().Str("channel", channel).Msg("a Bus subscription dropped and is back: what was published meanwhile is lost")
	if channel != roomhost.OwnersChannel && channel != roomhost.FrameChannel(rt.node) {
		return
	}
	rt.mu.Lock()
	clear(rt.owners)
	rt.mu.Unlock()
	rt.reattach(rt.gw.hub.all(), "")
}

// Re-attaching after a room moved, or after the Bus came back.
const (
	// reattachFor bounds how long a session's re-attach is tried again.
	reattachFor = 20 * time.Second
	// reattachWorkers is how many re-attaches are in flight at once: enough
	// that one unanswered command does not hold up the rest, few enough that
	// a node with thousands of players does not send them all at once.
	reattachWorkers = 64
)

// reattach attaches each connected session again to roomID ("" for each
// of the session's rooms), a player as a member and a host or screen as a
// watcher, so that each is sent the room's state afresh from wherever the
// room runs now. A try that fails is made again, with the owner looked up
// afresh, while the room may be between owners: its command went unanswered
// (the owner was itself reconnecting to the Bus and lost it, say) or the
// room is open in the store but not where it was looked for. A session
// left out would miss its room's news for good.
func (rt *router) reattach(sessions []*session, roomID string) {
	go func() {
		ctx, cancel := context.WithTimeout(rt.gw.runCtx, reattachFor)
		defer cancel()
		var wg sync.WaitGroup
		slots := make(chan struct{}, reattachWorkers)
		for _, sess := range sessions {
			ids := []string{roomID}
			if roomID == "" {
				ids = sess.roomIDs()
			}
			for _, id := range ids {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func() {
					defer func() { <-slots; wg.Done() }()
					rt.reattachOne(ctx, sess, id)
				}()
			}
		}
		wg.Wait()
	}()
}

// reattachOne is one session's re-attach to one room, tried until it
// succeeds, the session disconnects, the room is known to be gone, or ctx
// ends.
func (rt *router) reattachOne(ctx context.Context, sess *session, roomID string) {
	op := roomhost.OpAttach
	if sess.role != rolePlayer {
		op = roomhost.OpWatch
	}
	wait := 250 * time.Millisecond
	for sess.Connected() {
		_, err := rt.do(ctx, &roomhost.Command{Op: op, Room: roomID, Who: sess.id}, sess)
		if err == nil {
			return
		}
		rt.gw.log.Debug().Err(err).Str("room", roomID).Str("who", sess.id).Msg("re-attach to a room")
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != protocol.CodeUnavailable {
			// Refused by whoever answered: tried again only if the room is
			// still open, so not where it was looked for.
			if !rt.host.Open(ctx, roomID) {
				return
			}
		}
		rt.forget(roomID)
		t := rt.gw.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// where returns the node a command for roomID goes to: "" for this node.
func (rt *router) where(ctx context.Context, roomID string) (string, error) {
	if rt.bus == nil {
		return "", nil
	}
	if _, ok := rt.host.Rooms().Get(roomID); ok {
		return "", nil
	}
	rt.mu.Lock()
	owner, ok := rt.owners[roomID]
	rt.mu.Unlock()
	if !ok {
		var err error
		if owner, err = rt.host.Owner(ctx, roomID); err != nil {
			return "", protocol.Errorf(protocol.CodeUnavailable, "cannot reach the cluster; try again")
		}
		if owner != "" {
			rt.mu.Lock()
			rt.owners[roomID] = owner
			rt.mu.Unlock()
		}
	}
	switch owner {
	case rt.node:
		return "", nil
	case "":
		// Nobody owns it now: it is being taken over, or it is unknown or
		// finished (then this node's answer, not_found, is right).
		if rt.host.Open(ctx, roomID) {
			return "", errMoving
		}
		return "", nil
	}
	return owner, nil
}

// forget drops what the router believes of a room's owner.
func (rt *router) forget(roomID string) {
	rt.mu.Lock()
	delete(rt.owners, roomID)
	delete(rt.checks, roomID)
	rt.mu.Unlock()
}

// do sends cmd to its room and waits for the reply. peer is how a room on
// this node reaches cmd.Who.
func (rt *router) do(ctx context.Context, cmd *roomhost.Command, peer room.Peer) (roomhost.Reply, error) {
	owner, err := rt.where(ctx, cmd.Room)
	if err != nil {
		return roomhost.Reply{}, err
	}
	if owner == "" {
		return rt.host.Exec(ctx, cmd, peer)
	}
	rep, err := rt.ask(ctx, owner, cmd, false, time.Time{})
	if err != nil {
		return rep, err
	}
	if rep.Err != nil {
		return rep, rep.Err
	}
	return rep, nil
}

// tell sends cmd to its room without waiting (a detach, an unwatch).
func (rt *router) tell(ctx context.Context, cmd *roomhost.Command, peer room.Peer) {
	owner, err := rt.where(ctx, cmd.Room)
	if err != nil {
		return
	}
	if owner == "" {
		_, _ = rt.host.Exec(ctx, cmd, peer)
		return
	}
	_, _ = rt.ask(ctx, owner, cmd, true, time.Time{})
}

// submit hands an answer to its room: to is told the outcome once (see
// room.Room.SubmitTo). For a room on another node the reader
// does not wait: the reply is awaited on a goroutine of its own, and done
// sees the room's refusal, or unavailable if its owner is gone (see ask:
// while the owner lives, the wait runs to closes, when the question
// closes, and ReplyWait more); the ack comes back as a frame once the
// answer is durable. closes is zero when the question's close is unknown.
func (rt *router) submit(ctx context.Context, cmd *roomhost.Command, peer room.Peer, received, closes time.Time, to room.Outcome) {
	if rt.bus == nil {
		rt.host.SubmitTo(ctx, cmd, peer, received, to)
		return
	}
	owner, err := rt.where(ctx, cmd.Room)
	if err != nil {
		to.Answered(cmd.Re, err)
		return
	}
	if owner == "" {
		rt.host.SubmitTo(ctx, cmd, peer, received, to)
		return
	}
	c := *cmd
	var until time.Time
	if !closes.IsZero() {
		until = closes.Add(rt.gw.cfg.ReplyWait)
	}
	go func() {
		rep, err := rt.ask(ctx, owner, &c, false, until)
		if err == nil && rep.Err != nil {
			err = rep.Err
		}
		to.Answered(c.Re, err)
	}()
}

// ask sends cmd to owner over the Bus and, unless noReply, waits for its
// reply. The command goes with the others queued for the same owner (see
// roomhost.Requester); the reply wait, ReplyWait, starts when it is queued.
//
// An answer (until not zero, on the gateway's clock) waits longer: nothing
// between the nodes drops it or its reply, and it is timed at the edge, so
// an owner slow to take it (a starved node) harms no one by taking it late.
// Each time ReplyWait passes, the wait goes on, to until at most, if the
// owner still holds the room (its routing entry, renewed with its lease,
// names it); an owner that lost it or died, or a routing entry that cannot
// be read, makes the answer unavailable then, as a publish that fails does
// at once.
func (rt *router) ask(ctx context.Context, owner string, cmd *roomhost.Command, noReply bool, until time.Time) (roomhost.Reply, error) {
	req := roomhost.Request{Cmd: *cmd, NoReply: noReply}
	if noReply {
		req.ID = rt.replies.id()
		rt.req.Send(owner, req)
		return roomhost.Reply{}, nil
	}
	var ch <-chan roomhost.Reply
	var done func()
	req.ID, ch, done = rt.replies.wait()
	defer done()
	wait := time.NewTimer(rt.gw.cfg.ReplyWait)
	defer wait.Stop()
	rt.req.Send(owner, req)
	for {
		select {
		case rep := <-ch:
			if rep.Err == errUnreachable {
				rt.forget(cmd.Room)
				return roomhost.Reply{}, rep.Err
			}
			return rep, nil
		case <-ctx.Done():
			rt.forget(cmd.Room)
			if errors.Is(ctx.Err(), context.Canceled) {
				return roomhost.Reply{}, ctx.Err()
			}
			return roomhost.Reply{}, errNoAnswer
		case <-wait.C:
		}
		left := until.Sub(rt.gw.clock.Now())
		if until.IsZero() || left <= 0 || !rt.ownerHolds(ctx, cmd.Room, owner) {
			rt.forget(cmd.Room)
			return roomhost.Reply{}, errNoAnswer
		}
		rt.gw.metrics.AnswerWaits.Inc()
		wait.Reset(min(left, rt.gw.cfg.ReplyWait))
	}
}

var errNoAnswer = protocol.Errorf(protocol.CodeUnavailable, "the room's server did not answer; try again")

// ownerFresh is how long one look-up of a room's owner serves every answer
// waiting on the room, and ownerChecksKept how many rooms' look-ups are
// kept before stale ones are dropped.
const (
	ownerFresh      = time.Second
	ownerChecksKept = 1024
)

// ownerCheck is one look-up of whether owner still holds a room.
type ownerCheck struct {
	owner string
	at    time.Time     // when the look-up began (wall time)
	done  chan struct{} // closed once ok is set
	ok    bool
}

// ownerHolds reports whether owner still holds roomID, by its routing
// entry: one look-up per room and ownerFresh, however many answers ask.
func (rt *router) ownerHolds(ctx context.Context, roomID, owner string) bool {
	now := time.Now()
	rt.mu.Lock()
	c := rt.checks[roomID]
	fresh := c != nil && c.owner == owner && now.Sub(c.at) < ownerFresh
	if !fresh {
		if len(rt.checks) >= ownerChecksKept {
			for id, old := range rt.checks {
				if now.Sub(old.at) >= ownerFresh {
					delete(rt.checks, id)
				}
			}
		}
		c = &ownerCheck{owner: owner, at: now, done: make(chan struct{})}
		rt.checks[roomID] = c
	}
	rt.mu.Unlock()
	if !fresh {
		lctx, cancel := context.WithTimeout(ctx, dirTimeout)
		holder, err := rt.host.Owner(lctx, roomID)
		cancel()
		c.ok = err == nil && holder == owner
		close(c.done)
	}
	select {
	case <-c.done:
		return c.ok
	case <-ctx.Done():
		return false
	}
}

var errUnreachable = protocol.Errorf(protocol.CodeUnavailable, "cannot reach the room's server; try again")

// failed answers the requests whose message could not be published:
// their owner is unreachable. Runs on the Requester's goroutine.
func (rt *router) failed(reqs []roomhost.Request) {
	for _, r := range reqs {
		rt.deliver(roomhost.Response{ID: r.ID, Reply: roomhost.Reply{Err: errUnreachable}})
	}
}

// deliver hands a reply to the command waiting for it, if one still is.
func (rt *router) deliver(r roomhost.Response) {
	rt.replies.deliver(r.ID, r.Reply)
}

// onReply pairs each reply of a batch with the command waiting for it.
// Runs on the Bus's goroutine.
func (rt *router) onReply(msg []byte) {
	var b roomhost.ReplyBatch
	if json.Unmarshal(msg, &b) != nil {
		return
	}
	for _, r := range b.Replies {
		rt.deliver(r)
	}
}

// onFrames delivers what a room elsewhere says to this node's players,
// each frame decoded once for all of them. Runs on the Bus's goroutine;
// sending to a connection never blocks.
func (rt *router) onFrames(msg []byte) {
	var b roomhost.FrameBatch
	if json.Unmarshal(msg, &b) != nil {
		return
	}
	for k := range b.Items {
		it := &b.Items[k]
		shared, personal := it.Decode()
		for i, id := range it.IDs {
			sess, ok := rt.gw.hub.get(id)
			if !ok {
				continue
			}
			if it.Room != "" {
				// A room elsewhere speaks to this player: list it, so that a
				// dropped connection detaches from it and its next owner
				// re-attaches the player.
				sess.addRoom(it.Room)
			}
			if shared != nil {
				sess.Send(shared)
			} else if f := personal(i); f != nil {
				sess.Send(f)
			}
			if it.Kick != "" {
				sess.Kick(it.Kick)
			}
		}
	}
}

// onOwner notes a room's new owner and re-attaches this node's players and
// watchers of the room to it: a room taken over knows its members but not
// where they are, and each gets the room's state afresh. Runs on the
// Bus's goroutine.
func (rt *router) onOwner(msg []byte) {
	var a roomhost.Announcement
	if json.Unmarshal(msg, &a) != nil || a.Room == "" {
		return
	}
	rt.mu.Lock()
	if a.Node == "" {
		delete(rt.owners, a.Room)
	} else {
		rt.owners[a.Room] = a.Node
	}
	rt.mu.Unlock()
	if a.Node == "" {
		return
	}
	var in []*session
	for _, sess := range rt.gw.hub.all() {
		if slices.Contains(sess.roomIDs(), a.Room) {
			in = append(in, sess)
		}
	}
	if len(in) > 0 {
		rt.reattach(in, a.Room)
	}
}
