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
	cancel, err := s.dir.Watch(ctx, s.replacedElsewhere)
	if err != nil {
		s.log.Error().Err(err).Msg("follow the session directory: a second connection on another node will not close this node's")
		return
	}
	context.AfterFunc(ctx, cancel)
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
