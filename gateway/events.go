package gateway

import (
	"context"
	"slices"
	"strings"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/roomhost"
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
	join := roomhost.Command{Op: roomhost.OpJoin, Room: roomID, Who: sess.id, Name: name, Team: strings.TrimSpace(d.Team), Addr: c.addr, Re: in.ID}
	if _, err := s.rt.do(ctx, &join, sess); err != nil {
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
	if _, err := s.rt.do(ctx, &roomhost.Command{Op: roomhost.OpControl, Room: d.Room, Who: sess.id, Action: d.Action, Target: d.Player}, sess); err != nil {
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
	if slices.Contains(sess.roomIDs(), d.Room) {
		// A rewatch after a reconnect: one subscription only.
		s.rt.tell(ctx, &roomhost.Command{Op: roomhost.OpUnwatch, Room: d.Room, Who: sess.id}, sess)
	}
	if _, err := s.rt.do(ctx, &roomhost.Command{Op: roomhost.OpWatch, Room: d.Room, Who: sess.id, Re: in.ID}, sess); err != nil {
		return err
	}
	sess.addRoom(d.Room)
	return nil
}
