package gateway

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// The session directory: one connection per player across every node, and
// each player's rooms by key. A single node's is in memory
// (clusterstate.LocalSessions), where Watch never fires.

// dirTimeout bounds each directory call, so a slow Redis cannot hold a
// hello or a seat for long; a failed call is logged and the request goes on.
const dirTimeout = 2 * time.Second

// connID names a connection in the directory.
func (s *Gateway) connID() string { return uuid.NewString() }

// watchDirectory closes, with 4001, each connection of this node that a
// newer one on another node replaced. Called by Begin.
func (s *Gateway) watchDirectory(ctx context.Context) {
	go s.sweepDirectory(ctx)
	cancel, err := s.dir.Watch(ctx, s.replacedElsewhere)
	if err != nil {
		s.log.Error().Err(err).Msg("follow the session directory: this node's connections replaced elsewhere are closed by the sweep only")
		return
	}
	context.AfterFunc(ctx, cancel)
}

// sweepEvery is how often the gateway checks its connections against the
// directory: a notice lost in transit (pub/sub is not durable) leaves a
// replaced connection open no longer than this.
const sweepEvery = 30 * time.Second

// sweepDirectory closes, every sweepEvery until ctx ends, this node's
// connections that the directory says were replaced elsewhere. Runs in its
// own goroutine.
func (s *Gateway) sweepDirectory(ctx context.Context) {
	t := s.clock.NewTicker(sweepEvery)
	defer t.Stop()
	suspects := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			suspects = s.sweepOnce(ctx, suspects)
		}
	}
}

// sweepOnce checks every connected session once. A connection the directory
// does not name is closed only when two sweeps in a row find it so (it is
// in suspects, returned for the next sweep): one just adopted may not be
// registered yet.
func (s *Gateway) sweepOnce(ctx context.Context, suspects map[string]bool) map[string]bool {
	next := map[string]bool{}
	var sessions []*session
	var conns []*conn
	var ids []string
	s.hub.mu.Lock()
	for id, sess := range s.hub.sessions {
		sess.mu.Lock()
		c := sess.conn
		sess.mu.Unlock()
		if c != nil {
			sessions, conns, ids = append(sessions, sess), append(conns, c), append(ids, id)
		}
	}
	s.hub.mu.Unlock()
	if len(ids) == 0 {
		return next
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hs, err := s.dir.Holders(ctx, ids)
	if err != nil {
		s.log.Warn().Err(err).Msg("sweep the session directory")
		return suspects
	}
	for i, h := range hs {
		// A connection that another one replaced is closed; one the
		// directory lost (Redis lost its data) is registered again.
		switch c := conns[i]; {
		case h.Node == "" && h.Conn == "":
			s.register(sessions[i], c)
		case h.Conn != c.id && suspects[c.id]:
			s.replacedElsewhere(ids[i], c.id)
		case h.Conn != c.id:
			next[c.id] = true
		}
	}
	return next
}

// replacedElsewhere closes the player's connection here if it is still the
// one another node replaced (a newer one here is left alone).
func (s *Gateway) replacedElsewhere(player, connID string) {
	sess, ok := s.hub.get(player)
	if !ok {
		return
	}
	sess.mu.Lock()
	c := sess.conn
	sess.mu.Unlock()
	if c != nil && c.id == connID {
		c.closeWith(reasonReplaced, "replaced by a newer connection")
	}
}

// register makes c the player's connection in the directory, which closes
// one the player has on another node.
func (s *Gateway) register(sess *session, c *conn) {
	ctx, cancel := context.WithTimeout(s.runCtx, dirTimeout)
	defer cancel()
	if err := s.dir.Register(ctx, sess.id, c.id); err != nil {
		s.log.Warn().Err(err).Str("player", sess.id).Msg("register a connection in the session directory")
	}
}

// unregister forgets c in the directory, if it is still the player's.
func (s *Gateway) unregister(sess *session, c *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), dirTimeout)
	defer cancel()
	if err := s.dir.Unregister(ctx, sess.id, c.id); err != nil {
		s.log.Warn().Err(err).Str("player", sess.id).Msg("unregister a connection from the session directory")
	}
}

// roomsOf lists the rooms the directory has for player: the hello of a
// session new to this node finds them by key instead of asking every room.
func (s *Gateway) roomsOf(ctx context.Context, player string) []string {
	ctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	ids, err := s.dir.Rooms(ctx, player)
	if err != nil {
		s.log.Warn().Err(err).Str("player", player).Msg("read the player's rooms from the session directory")
	}
	return ids
}

// indexRoom records in the directory that player is in room, or (in false)
// that it left.
func (s *Gateway) indexRoom(player, room string, in bool) {
	ctx, cancel := context.WithTimeout(s.runCtx, dirTimeout)
	defer cancel()
	var err error
	if in {
		err = s.dir.AddRoom(ctx, player, room)
	} else {
		err = s.dir.RemoveRoom(ctx, player, room)
	}
	if err != nil {
		s.log.Warn().Err(err).Str("player", player).Str("room", room).Msg("update the player's rooms in the session directory")
	}
}
