package roomhost

import (
	"context"
	"errors"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// What a gateway asks of a room. Each is a Command with a Reply, both plain
// data: on the room's own node they are handed over in process, with no
// encoding; from another node they travel over the Bus (see Remote).
const (
	OpJoin     = "join"     // an event's player joins (or rejoins): Name, Team, Addr, Re
	OpAttach   = "attach"   // a member's new connection: the room sends it the state
	OpDetach   = "detach"   // a member's connection dropped
	OpLeave    = "leave"    // a member leaves for good
	OpWatch    = "watch"    // a host or screen watches: Re
	OpUnwatch  = "unwatch"  // it stops
	OpAnswer   = "answer"   // an answer: Index, Choice, Text, Elapsed, Timed, Re
	OpControl  = "control"  // a host's action: Action, Target
	OpSnapshot = "snapshot" // the room's phase and scores
	OpMember   = "member"   // whether Who is a member
)

// Command is one request to a room.
type Command struct {
	Op   string `json:"op"`
	Room string `json:"room"`
	// Who is the player, or the watcher's session id.
	Who string `json:"who"`
	// Node is the node that holds Who's connection, where the room's
	// frames for Who are delivered; empty on the room's own node.
	Node   string   `json:"node,omitempty"`
	Name   string   `json:"name,omitempty"`
	Team   string   `json:"team,omitempty"`
	Addr   string   `json:"addr,omitempty"`
	Re     string   `json:"re,omitempty"`
	Action string   `json:"action,omitempty"`
	Target string   `json:"target,omitempty"`
	Index  int      `json:"index,omitempty"`
	Choice []string `json:"choice,omitempty"`
	Text   *string  `json:"text,omitempty"`
	// Elapsed is the answer's time, measured at the edge where the
	// question was written and the round trip is known; Timed says it
	// was (see room.AnswerIn).
	Elapsed time.Duration `json:"elapsed,omitempty"`
	Timed   bool          `json:"timed,omitempty"`
}

// Reply is a room's answer to a Command. Err is nil on success.
type Reply struct {
	Err      *protocol.Error `json:"err,omitempty"`
	Kind     string          `json:"kind,omitempty"` // the room's kind (attach)
	Member   bool            `json:"member,omitempty"`
	Snapshot *room.Snapshot  `json:"snapshot,omitempty"`
}

// ProtocolError maps any error to the protocol error a client should see.
func ProtocolError(err error) *protocol.Error {
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, room.ErrClosed):
		return &protocol.Error{Code: protocol.CodeNotFound, Message: "the room has finished"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "the server is busy or shutting down"}
	case errors.Is(err, store.ErrNotFound):
		return &protocol.Error{Code: protocol.CodeNotFound, Message: "not found"}
	}
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error"}
}

// Exec carries out a command (any but OpAnswer, see Submit) on a room
// running here. peer is how the room reaches Who: its session on this
// node, or a relayed peer for a player on another.
func (s *Host) Exec(ctx context.Context, cmd *Command, peer room.Peer) (Reply, error) {
	r, err := s.Room(cmd.Room)
	if err != nil {
		return Reply{}, err
	}
	var out Reply
	switch cmd.Op {
	case OpJoin:
		err = r.JoinFrom(ctx, cmd.Who, cmd.Name, cmd.Team, cmd.Addr, peer, cmd.Re)
	case OpAttach:
		err = r.Attach(ctx, cmd.Who, peer)
		out.Kind = r.Config().Kind
	case OpDetach:
		r.Detach(cmd.Who)
	case OpLeave:
		err = r.Leave(ctx, cmd.Who)
	case OpWatch:
		err = r.Watch(ctx, peer, cmd.Re)
	case OpUnwatch:
		r.Unwatch(peer)
	case OpControl:
		err = r.Control(ctx, cmd.Action, cmd.Target)
	case OpSnapshot:
		var snap room.Snapshot
		if snap, err = r.Snapshot(ctx); err == nil {
			out.Snapshot = &snap
		}
	case OpMember:
		out.Member = r.IsMember(ctx, cmd.Who)
	default:
		err = protocol.Errorf(protocol.CodeBadRequest, "unknown room command %q", trimID(cmd.Op))
	}
	return out, err
}

// Submit hands an answer to a room running here without waiting for it
// (see room.Room.Submit): done is called once with the outcome, and the
// ack goes to peer once the answer is durable. received is when the edge
// read it.
func (s *Host) Submit(ctx context.Context, cmd *Command, peer room.Peer, received time.Time, done func(error)) {
	r, err := s.Room(cmd.Room)
	if err != nil {
		done(err)
		return
	}
	r.Submit(ctx, answerIn(cmd, peer, received), done)
}

// SubmitTo is Submit telling the outcome to an Outcome (see
// room.Room.SubmitTo).
func (s *Host) SubmitTo(ctx context.Context, cmd *Command, peer room.Peer, received time.Time, to room.Outcome) {
	r, err := s.Room(cmd.Room)
	if err != nil {
		to.Answered(cmd.Re, err)
		return
	}
	r.SubmitTo(ctx, answerIn(cmd, peer, received), to)
}

func answerIn(cmd *Command, peer room.Peer, received time.Time) room.AnswerIn {
	return room.AnswerIn{Room: cmd.Room, Player: cmd.Who, Index: cmd.Index, Choice: cmd.Choice, Text: cmd.Text, Re: cmd.Re,
		Peer: peer, Received: received, Elapsed: cmd.Elapsed, Timed: cmd.Timed}
}

// SubmitAll is Submit for answers to one room (cmds[i] answered by
// peers[i]), handed to it as one inbox item: done(i, err) reports each.
func (s *Host) SubmitAll(ctx context.Context, roomID string, cmds []*Command, peers []room.Peer, done func(i int, err error)) {
	r, err := s.Room(roomID)
	if err != nil {
		for i := range cmds {
			done(i, err)
		}
		return
	}
	ins := make([]room.AnswerIn, len(cmds))
	for i, c := range cmds {
		ins[i] = answerIn(c, peers[i], time.Time{})
	}
	r.SubmitAll(ctx, ins, done)
}
