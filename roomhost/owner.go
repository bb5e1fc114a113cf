package roomhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// Cluster makes a host one node of several. Each room is owned by one node
// through a lease with a fencing epoch (cluster.Leases); its journal
// entries carry the epoch, so that the store refuses a former owner's.
type Cluster struct {
	Node   string
	Bus    cluster.Bus
	Leases cluster.Leases
	// LeaseTTL is how long a lease lasts unrenewed; default 2 s. Leases are
	// renewed every third of it, and every node looks for lapsed ones as
	// often: a dead owner's rooms are taken over within about LeaseTTL
	// and a half.
	LeaseTTL time.Duration
}

// leaseKey names a room's lease, and its routing entry on the Bus.
func leaseKey(roomID string) string { return "room:" + roomID }

// nodeKey names a node's own lease: held while the node lives, renewed
// with its rooms' leases. When it lapses the node is dead, and the rooms
// here stop counting its players as connected.
func nodeKey(node string) string { return "node:" + node }

// owned is a room this node runs under a lease.
type owned struct {
	lease  cluster.Lease
	room   *room.Room
	cancel context.CancelFunc
	// renewed is when the lease was last taken or renewed, on the host's
	// clock: a lease not renewed for its TTL has lapsed, whatever the
	// reason the renewals failed, and its room stops here.
	renewed time.Time
}

// owner keeps this node's leases.
type owner struct {
	cfg    Cluster
	host   *Host
	remote *remote

	// mu guards held and alive.
	mu    sync.Mutex
	held  map[string]*owned
	alive cluster.Lease // this node's own lease, see nodeKey
	// aliveAt is when alive was last taken or renewed, on the host's clock.
	aliveAt time.Time
	// taking holds the rooms being taken over, so that two watchers of
	// one node do not both try.
	taking sync.Map
}

// SetCluster makes the host a node of a cluster. Call it before Begin.
func (s *Host) SetCluster(c Cluster) {
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 2 * time.Second
	}
	o := &owner{cfg: c, host: s, held: map[string]*owned{}}
	o.remote = &remote{node: c.Node, bus: c.Bus, host: s, relays: map[string]*nodeRelay{}, peers: map[peerKey]*remotePeer{}}
	s.cl = o
}

// Node is this node's id in a cluster; "" on a single node.
func (s *Host) Node() string {
	if s.cl == nil {
		return ""
	}
	return s.cl.cfg.Node
}

// Bus is the cluster's bus, nil on a single node.
func (s *Host) Bus() cluster.Bus {
	if s.cl == nil {
		return nil
	}
	return s.cl.cfg.Bus
}

// Owner returns the node that owns a room, "" if none does now.
func (s *Host) Owner(ctx context.Context, roomID string) (string, error) {
	if _, ok := s.rooms.Get(roomID); ok || s.cl == nil {
		return s.Node(), nil
	}
	return s.cl.cfg.Bus.Owner(ctx, leaseKey(roomID))
}

// run serves the cluster until ctx ends: requests from other nodes, lease
// renewal, and taking over rooms whose owner died or handed them over.
func (o *owner) run(ctx context.Context) error {
	bus := o.cfg.Bus
	unsub, err := bus.Subscribe(ctx, RequestChannel(o.cfg.Node), func(msg []byte) {
		go o.remote.serve(ctx, msg)
	})
	if err != nil {
		return fmt.Errorf("subscribe to room requests: %w", err)
	}
	unsubOwners, err := bus.Subscribe(ctx, OwnersChannel, func(msg []byte) {
		var a Announcement
		if json.Unmarshal(msg, &a) == nil && a.Node == "" && a.Room != "" {
			go o.takeOver(ctx, a.Room, 0)
		}
	})
	if err != nil {
		unsub()
		return fmt.Errorf("subscribe to room owners: %w", err)
	}
	go func() {
		<-ctx.Done()
		unsub()
		unsubOwners()
	}()
	if l, ok, err := o.cfg.Leases.TakeLease(ctx, nodeKey(o.cfg.Node), o.cfg.Node, o.cfg.LeaseTTL); err == nil && ok {
		o.mu.Lock()
		o.alive, o.aliveAt = l, o.host.clock.Now()
		o.mu.Unlock()
	}
	go o.renew(ctx)
	go cluster.WatchLapsed(ctx, o.cfg.Leases, o.host.clock, o.cfg.LeaseTTL/3, func(l cluster.Lease) {
		if id, ok := cutPrefix(l.Key, "room:"); ok {
			go o.takeOver(ctx, id, l.Epoch)
		}
		if node, ok := cutPrefix(l.Key, "node:"); ok && node != o.cfg.Node {
			go o.nodeDied(ctx, node, l)
		}
	}, func(err error) { o.host.log.Warn().Err(err).Msg("list lapsed leases") })
	go o.adoptOrphans(ctx)
	return nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// own takes the lease of a new room: its epoch is what the room journals
// under.
func (o *owner) own(ctx context.Context, roomID string) (cluster.Lease, error) {
	l, ok, err := o.cfg.Leases.TakeLease(ctx, leaseKey(roomID), o.cfg.Node, o.cfg.LeaseTTL)
	if err != nil {
		return l, err
	}
	if !ok {
		return l, fmt.Errorf("room %s is owned by %s", roomID, l.Holder)
	}
	return l, nil
}

// start runs r under lease l: registered for routing, renewed with the
// others, stopped at once if the lease is lost.
func (o *owner) start(r *room.Room, l cluster.Lease) error {
	ctx, cancel := context.WithCancel(o.host.runCtx)
	if err := o.host.rooms.Start(ctx, r); err != nil {
		cancel()
		return err
	}
	o.mu.Lock()
	o.held[r.ID()] = &owned{lease: l, room: r, cancel: cancel, renewed: o.host.clock.Now()}
	o.mu.Unlock()
	actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer acancel()
	if _, err := o.cfg.Bus.Claim(actx, leaseKey(r.ID()), o.cfg.Node, o.cfg.LeaseTTL); err != nil {
		o.host.log.Warn().Err(err).Str("room", r.ID()).Msg("route a room")
	}
	o.announce(actx, r.ID(), o.cfg.Node)
	go o.watch(r)
	return nil
}

// watch lets a room's lease go once the room has finished.
func (o *owner) watch(r *room.Room) {
	<-r.Done()
	if !r.Finished() {
		return // stopped: by a lost lease, a hand-over or a journal failure, each seen to elsewhere
	}
	o.mu.Lock()
	h, ok := o.held[r.ID()]
	if ok && h.room == r {
		delete(o.held, r.ID())
	}
	o.mu.Unlock()
	if ok {
		o.release(h)
	}
}

func (o *owner) release(h *owned) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.cfg.Leases.ReleaseLease(ctx, h.lease); err != nil && !errors.Is(err, cluster.ErrLeaseLost) {
		o.host.log.Warn().Err(err).Str("room", h.lease.Key).Msg("release a room's lease")
	}
	_ = o.cfg.Bus.Release(ctx, h.lease.Key, o.cfg.Node)
}

func (o *owner) announce(ctx context.Context, roomID, node string) {
	msg, _ := json.Marshal(Announcement{Room: roomID, Node: node})
	if err := o.cfg.Bus.Publish(ctx, OwnersChannel, msg); err != nil {
		o.host.log.Warn().Err(err).Str("room", roomID).Msg("announce a room's owner")
	}
}

// lost drops a room whose lease passed to another node: it stops at once.
func (o *owner) lost(roomID string) {
	o.mu.Lock()
	h, ok := o.held[roomID]
	delete(o.held, roomID)
	o.mu.Unlock()
	if ok {
		h.cancel()
		o.forget(h.lease)
		o.host.log.Warn().Str("room", roomID).Uint64("epoch", h.lease.Epoch).Msg("lease lost: the room stops here")
	}
}

// forget stops counting a lease given up without reaching its keeper.
func (o *owner) forget(l cluster.Lease) {
	if f, ok := o.cfg.Leases.(cluster.LeaseForgetter); ok {
		f.ForgetLease(l)
	}
}

// renew extends every lease this node holds, every third of the TTL, in
// one loop for all its rooms. Runs in its own goroutine.
func (o *owner) renew(ctx context.Context) {
	t := o.host.clock.NewTicker(o.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		o.mu.Lock()
		rooms := make([]*owned, 0, len(o.held))
		for _, h := range o.held {
			rooms = append(rooms, h)
		}
		alive, aliveAt := o.alive, o.aliveAt
		o.mu.Unlock()
		o.renewAlive(ctx, alive, aliveAt)
		for _, h := range rooms {
			rctx, cancel := context.WithTimeout(ctx, o.cfg.LeaseTTL/3)
			l, err := o.cfg.Leases.RenewLease(rctx, h.lease, o.cfg.LeaseTTL)
			if err == nil {
				_, err = o.cfg.Bus.Claim(rctx, h.lease.Key, o.cfg.Node, o.cfg.LeaseTTL)
			}
			cancel()
			o.mu.Lock()
			renewed := h.renewed
			o.mu.Unlock()
			switch {
			case errors.Is(err, cluster.ErrLeaseLost):
				o.lost(h.room.ID())
			case err != nil && o.host.clock.Now().Sub(renewed) >= o.cfg.LeaseTTL:
				// Unrenewed for a whole TTL: the lease has lapsed and another
				// node may be taking the room; it must not run here too.
				o.host.log.Error().Err(err).Str("room", h.room.ID()).Msg("lease not renewed in time")
				o.lost(h.room.ID())
			case err != nil:
				o.host.log.Warn().Err(err).Str("room", h.room.ID()).Msg("renew a room's lease")
			default:
				o.mu.Lock()
				if cur, ok := o.held[h.room.ID()]; ok && cur == h {
					h.lease, h.renewed = l, o.host.clock.Now()
				}
				o.mu.Unlock()
			}
		}
	}
}

// renewAlive renews this node's own lease, or takes it afresh if it was
// lost (say, Redis lost its data, or it went unrenewed for a whole TTL
// while Redis was away).
func (o *owner) renewAlive(ctx context.Context, held cluster.Lease, at time.Time) {
	rctx, cancel := context.WithTimeout(ctx, o.cfg.LeaseTTL/3)
	defer cancel()
	var l cluster.Lease
	var err error
	if held.Key != "" {
		l, err = o.cfg.Leases.RenewLease(rctx, held, o.cfg.LeaseTTL)
	}
	if held.Key == "" || errors.Is(err, cluster.ErrLeaseLost) {
		var ok bool
		l, ok, err = o.cfg.Leases.TakeLease(rctx, nodeKey(o.cfg.Node), o.cfg.Node, o.cfg.LeaseTTL)
		if err == nil && !ok {
			return
		}
	}
	if err == nil {
		o.mu.Lock()
		o.alive, o.aliveAt = l, o.host.clock.Now()
		o.mu.Unlock()
		return
	}
	if held.Key != "" && o.host.clock.Now().Sub(at) >= o.cfg.LeaseTTL {
		// Lapsed as far as anyone can tell: let it go, and take it afresh
		// once the keeper answers again.
		o.forget(held)
		o.mu.Lock()
		if o.alive == held {
			o.alive = cluster.Lease{}
		}
		o.mu.Unlock()
	}
}

// nodeDied notes that node's lease lapsed: its players' connections are
// gone, so the rooms here stop waiting for their answers. One node clears
// the lapsed lease (takes and releases it) so it is reported once.
func (o *owner) nodeDied(ctx context.Context, node string, l cluster.Lease) {
	n := o.remote.disconnectNode(node)
	if n > 0 {
		o.host.log.Warn().Str("dead", node).Int("players", n).Msg("a node's lease lapsed: its players count as disconnected")
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if took, ok, err := o.cfg.Leases.TakeLease(lctx, l.Key, o.cfg.Node, o.cfg.LeaseTTL); err == nil && ok {
		_ = o.cfg.Leases.ReleaseLease(lctx, took)
	}
}

// takeOver restores a room whose lease lapsed (its owner died) or was
// handed over, if this node wins its lease: it fences the room in the store
// at the new epoch, so nothing the old owner still writes counts, folds the
// journal and runs the room. floor is the lapsed lease's epoch.
func (o *owner) takeOver(ctx context.Context, roomID string, floor uint64) {
	if _, busy := o.taking.LoadOrStore(roomID, true); busy {
		return
	}
	defer o.taking.Delete(roomID)
	if _, ok := o.host.rooms.Get(roomID); ok {
		return
	}
	log := o.host.log.With().Str("room", roomID).Logger()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec, err := o.host.store.Room(sctx, roomID)
	if err != nil {
		log.Warn().Err(err).Msg("take over: read the room")
		return
	}
	floor = max(floor, uint64(max(rec.Epoch, 0)))
	l, ok, err := o.cfg.Leases.TakeLeaseAbove(sctx, leaseKey(roomID), o.cfg.Node, o.cfg.LeaseTTL, floor)
	if err != nil || !ok {
		return
	}
	h := &owned{lease: l}
	if !rec.FinishedAt.IsZero() {
		o.release(h) // finished: nothing to run; the lease is freed for good
		return
	}
	if err := o.host.store.FenceRoom(sctx, roomID, int64(l.Epoch)); err != nil {
		log.Error().Err(err).Msg("take over: fence the room")
		o.release(h)
		return
	}
	if err := o.host.restoreOne(sctx, rec, int64(l.Epoch), func(r *room.Room) error { return o.start(r, l) }); err != nil {
		log.Error().Err(err).Msg("take over: restore the room")
		o.release(h)
		return
	}
	if _, ok := o.host.rooms.Get(roomID); !ok {
		o.release(h) // it had finished: its result is stored now
		return
	}
	log.Info().Uint64("epoch", l.Epoch).Msg("room taken over")
}

// adoptOrphans takes open rooms that no node routes for, at start and every
// few lease periods: rooms whose lease record is gone (Redis lost its
// data) are not lapsed, only unowned. A room whose owner still holds its
// lease is not taken: TakeLease refuses.
func (o *owner) adoptOrphans(ctx context.Context) {
	t := o.host.clock.NewTicker(5 * o.cfg.LeaseTTL)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		open, err := o.host.store.OpenRooms(sctx)
		cancel()
		if err == nil {
			for _, rec := range open {
				if _, ok := o.host.rooms.Get(rec.ID); ok {
					continue
				}
				octx, cancel := context.WithTimeout(ctx, 2*time.Second)
				who, err := o.cfg.Bus.Owner(octx, leaseKey(rec.ID))
				cancel()
				if err == nil && who == "" {
					o.takeOver(ctx, rec.ID, 0)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// handOver stops every room this node owns, makes what they journaled
// durable, and lets their leases go with an announcement, so that another
// node takes each at once (SIGTERM).
func (o *owner) handOver(flush func()) {
	o.mu.Lock()
	rooms := make([]*owned, 0, len(o.held))
	for _, h := range o.held {
		rooms = append(rooms, h)
	}
	o.held = map[string]*owned{}
	o.mu.Unlock()
	for _, h := range rooms {
		h.cancel()
	}
	for _, h := range rooms {
		<-h.room.Done()
	}
	flush()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, h := range rooms {
		o.release(h)
		o.announce(ctx, h.room.ID(), "")
	}
	o.mu.Lock()
	alive := o.alive
	o.mu.Unlock()
	if alive.Key != "" {
		_ = o.cfg.Leases.ReleaseLease(ctx, alive) // leaving, not dead: no one need mark it so
	}
	if len(rooms) > 0 {
		o.host.log.Info().Int("rooms", len(rooms)).Msg("rooms handed over")
	}
}

// restoreOne folds a stored room's journal and runs it with start; a room
// that finished without its result stored is settled instead.
func (s *Host) restoreOne(ctx context.Context, rec store.Room, epoch int64, start func(*room.Room) error) error {
	var cfg room.Config
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return fmt.Errorf("bad config: %w", err)
	}
	entries, err := s.store.Journal(ctx, rec.ID)
	if err != nil {
		return err
	}
	r, err := room.Restore(cfg, s.roomOptions(epoch), entries)
	if err != nil {
		return err
	}
	if res, done := r.FinishedResult(); done {
		s.Finished(ctx, res)
		return nil
	}
	if cfg.Kind == room.KindDuel || cfg.Kind == room.KindFour || cfg.Kind == room.KindTeam {
		s.matcher.Occupy(ctx, rec.ID, r.Members())
	}
	if err := start(r); err != nil {
		return err
	}
	if cfg.Kind == room.KindEvent {
		s.registerEvent(ctx, rec.ID)
	}
	return nil
}

// Open reports whether a room is recorded in the store and not finished.
func (s *Host) Open(ctx context.Context, roomID string) bool {
	rec, err := s.store.Room(ctx, roomID)
	return err == nil && rec.FinishedAt.IsZero()
}
