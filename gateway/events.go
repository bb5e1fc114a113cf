package gateway

import (
	"context"
	"slices"
	"strings"

	"github.com/leitai/leitai/protocol"
)

// Stage events, as their players, hosts and screens reach them: joining by
// PIN, the host's controls, and watching on a screen.

func (s *Gateway) eventJoin(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players join events")
	}
	var d protocol.EventJoin
	if err := decode(in, &d); err != nil {
		return err
	}
	roomID, ok := s.host.EventRoom(strings.TrimSpace(d.PIN))
	if !ok {
		return protocol.Errorf(protocol.CodeNotFound, "no live event with that PIN").Because("pin_unknown", nil)
	}
	name := d.Name
	if name == "" {
		name = sess.name
	}
	name, err := s.cleanName(name)
	if err != nil {
		return err
	}
	r, err := s.roomOf(roomID)
	if err != nil {
		return err
	}
	if err := r.JoinFrom(ctx, sess.id, name, strings.TrimSpace(d.Team), c.addr, sess, in.ID); err != nil {
		return err
	}
	sess.addRoom(roomID)
	s.marks.MarkPlayed(sess.id)
	return nil
}

func (s *Gateway) hostControl(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	var d protocol.HostControl
	if err := decode(in, &d); err != nil {
		return err
	}
	if sess.role != roleHost {
		return protocol.Errorf(protocol.CodeForbidden, "only the event's host controls it")
	}
	evRoom, _, ok := s.host.Event(sess.event())
	if !ok || evRoom != d.Room {
		return protocol.Errorf(protocol.CodeForbidden, "your host token is for another event")
	}
	r, err := s.roomOf(d.Room)
	if err != nil {
		return err
	}
	if err := r.Control(ctx, d.Action, d.Player); err != nil {
		return err
	}
	s.reply(c, in.ID, nil)
	return nil
}

func (s *Gateway) watch(ctx context.Context, sess *session, in protocol.Inbound) error {
	var d protocol.Watch
	if err := decode(in, &d); err != nil {
		return err
	}
	switch sess.role {
	case roleScreen, roleHost:
		evRoom, _, ok := s.host.Event(sess.event())
		if !ok || evRoom != d.Room {
			return protocol.Errorf(protocol.CodeForbidden, "your token is for another event")
		}
	case roleOrganizer:
	default:
		return protocol.Errorf(protocol.CodeForbidden, "players cannot watch")
	}
	r, err := s.roomOf(d.Room)
	if err != nil {
		return err
	}
	if slices.Contains(sess.roomIDs(), d.Room) {
		r.Unwatch(sess) // a rewatch after a reconnect: one subscription only
	}
	if err := r.Watch(ctx, sess, in.ID); err != nil {
		return err
	}
	sess.addRoom(d.Room)
	return nil
}
