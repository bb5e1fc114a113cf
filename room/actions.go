package room

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
)

func perr(code, format string, args ...any) *protocol.Error {
	return protocol.Errorf(code, format, args...)
}

// Join adds a player (or re-attaches one who is already a member) and sends
// it the room's state as the reply to request re.
func (r *Room) Join(ctx context.Context, id, name, team string, peer Peer, re string) error {
	return r.JoinFrom(ctx, id, name, team, "", peer, re)
}

// JoinFrom is Join for a player connected from addr (a client IP; empty if
// unknown). A new player whose name or address a kick barred is refused
// with forbidden, until the host allows the kicked player back.
func (r *Room) JoinFrom(ctx context.Context, id, name, team, addr string, peer Peer, re string) error {
	return r.do(ctx, func() error {
		s := r.st
		if p, ok := s.players[id]; ok {
			if p.kicked {
				return perr(protocol.CodeForbidden, "you were removed from this room").Because("removed", nil)
			}
			p.peer = peer
			if p.left {
				r.record(kindJoin, joinData{Player: id, Name: p.name, Team: p.team}, nil)
			}
			r.sendState(p.peer, p, re)
			return nil
		}
		if r.cfg.Kind != KindEvent {
			return perr(protocol.CodeForbidden, "this room is for the matched players only")
		}
		if s.phase == PhaseFinished {
			return perr(protocol.CodeWrongPhase, "the event has ended").Because("event_ended", nil)
		}
		if s.phase != PhaseLobby && !r.cfg.LateJoin {
			return perr(protocol.CodeRoomFull, "the event has started and late join is off").Because("late_join_off", nil)
		}
		if b, ok := s.barred(name, addr); ok {
			if b.name == questionbank.Fold(name) {
				return perr(protocol.CodeForbidden, "the host removed %q from this event; only the host can let that name back in", name)
			}
			return perr(protocol.CodeForbidden, "the host removed a player who joined from this address; only the host can let players from it back in")
		}
		if r.cfg.TeamMode != "" && !slices.Contains(r.cfg.Teams, team) {
			return perr(protocol.CodeBadRequest, "pick one of the teams: %v", r.cfg.Teams).Because("team_required", nil)
		}
		if r.cfg.TeamMode == "" {
			team = ""
		}
		r.record(kindJoin, joinData{Player: id, Name: r.uniqueName(name), Team: team, Addr: addr}, nil)
		p := s.players[id]
		p.peer = peer
		r.sendState(peer, p, re)
		r.announceJoin(p)
		return nil
	})
}

// uniqueName gives a name a suffix if someone in the room already has it.
func (r *Room) uniqueName(name string) string {
	if !r.st.names[name] {
		return name
	}
	for i := 2; ; i++ {
		n := name + " (" + strconv.Itoa(i) + ")"
		if !r.st.names[n] {
			return n
		}
	}
}

// Seat places the players of a quick match. Call it before Run.
func (r *Room) Seat(players []protocol.PlayerInfo, peers []Peer) {
	for i, pl := range players {
		r.record(kindJoin, joinData{Player: pl.ID, Name: pl.Name, Team: pl.Team}, nil)
		r.st.players[pl.ID].peer = peers[i]
	}
}

// Attach gives a member a new peer after a reconnect and sends it the room's
// state. re is empty: the state is pushed.
func (r *Room) Attach(ctx context.Context, id string, peer Peer) error {
	return r.do(ctx, func() error {
		p, ok := r.st.players[id]
		if !ok || p.kicked {
			return perr(protocol.CodeNotFound, "not a member of this room")
		}
		p.peer = peer
		r.sendState(peer, p, "")
		return nil
	})
}

// Detach notes that a member's connection dropped. It stays a member: it
// may come back, and meanwhile the room does not wait for its answers.
func (r *Room) Detach(id string) {
	_ = r.do(context.Background(), func() error {
		if r.st.phase == PhaseQuestion && r.st.everyoneAnswered() && r.st.answered > 0 {
			r.closeQuestion()
		}
		return nil
	})
}

// Leave removes a member for good (it may join an event again).
func (r *Room) Leave(ctx context.Context, id string) error {
	return r.do(ctx, func() error {
		p, ok := r.st.players[id]
		if !ok || p.left {
			return perr(protocol.CodeNotFound, "not a member of this room")
		}
		r.record(kindLeave, playerData{Player: id}, nil)
		r.maybeCloseEarly()
		return nil
	})
}

// Watch adds a screen or host that receives the room's public messages.
func (r *Room) Watch(ctx context.Context, w Peer, re string) error {
	return r.do(ctx, func() error {
		r.watchers = append(r.watchers, w)
		r.sendState(w, nil, re)
		return nil
	})
}

// Unwatch removes a watcher.
func (r *Room) Unwatch(w Peer) {
	_ = r.do(context.Background(), func() error {
		r.watchers = slices.DeleteFunc(r.watchers, func(x Peer) bool { return x == w })
		return nil
	})
}

// AnswerIn is a player's answer as the gateway received it.
type AnswerIn struct {
	Room   string
	Player string
	Index  int
	Choice []string
	Text   *string
	Re     string
	Peer   Peer
	// Received is when the gateway read the answer; it is carried to the
	// ack, for the gateway's latency metric.
	Received time.Time
	// Elapsed is the answer's time as the gateway measured it at the
	// edge: from when it wrote the question to the player's connection to
	// when it read the answer, less the connection's round trip (see
	// docs/architecture.md, "Fair timing"). Timed says it did; an answer
	// it could not time (a bot's, or one for a question it has no record
	// of writing) is timed by the room, from when it asked the question.
	Elapsed time.Duration
	Timed   bool
}

// Answer takes a player's answer. Errors are protocol errors for the
// player; on success the ack is sent to the peer once the answer is durable.
func (r *Room) Answer(ctx context.Context, in AnswerIn) error {
	return r.do(ctx, func() error { return r.answer(in) })
}

// Submit hands a player's answer to the room without waiting for it to be
// taken, so a connection's reader can go on reading. done is called once
// with the outcome: nil when the room has taken the answer (the ack follows
// once it is durable), a protocol error for the player, or ErrClosed if the
// room has ended. It runs on the room's goroutine, or on the caller's if
// the room had ended, and must not block. Submit waits only while the
// room's inbox is full, or until ctx ends.
func (r *Room) Submit(ctx context.Context, in AnswerIn, done func(error)) {
	r.submit(ctx, &answerTask{in: in, done: done})
}

// SubmitTo is Submit telling the outcome to an Outcome: a connection's,
// say, which costs no callback made for each answer.
func (r *Room) SubmitTo(ctx context.Context, in AnswerIn, to Outcome) {
	r.submit(ctx, &answerTask{in: in, to: to})
}

func (r *Room) submit(ctx context.Context, t *answerTask) {
	select {
	case r.inbox <- command{answer: t}:
	case <-r.done:
		t.report(r.closedErr())
		return
	case <-ctx.Done():
		t.report(ctx.Err())
		return
	}
	// The room may have ended after the hand-over, and after emptying its
	// inbox: then no one else will claim the answer.
	select {
	case <-r.done:
		if t.claim() {
			t.report(r.closedErr())
		}
	default:
	}
}

// SubmitAll is Submit for many answers at once, as they come gathered from
// another node: they go to the room as one inbox item, taken in order, and
// done(i, err) is called once for each ins[i] as Submit's done would be.
func (r *Room) SubmitAll(ctx context.Context, ins []AnswerIn, done func(i int, err error)) {
	if len(ins) == 0 {
		return
	}
	ts := make([]answerTask, len(ins))
	for i := range ins {
		ts[i] = answerTask{in: ins[i], done: func(err error) { done(i, err) }}
	}
	refuse := func(err error) {
		for i := range ts {
			if ts[i].claim() {
				ts[i].done(err)
			}
		}
	}
	select {
	case r.inbox <- command{answers: ts}:
	case <-r.done:
		refuse(r.closedErr())
		return
	case <-ctx.Done():
		refuse(ctx.Err())
		return
	}
	select {
	case <-r.done:
		refuse(r.closedErr())
	default:
	}
}

func (r *Room) answer(in AnswerIn) error {
	r.takeOut() // an answer can come before the room heard its question went out
	s := r.st
	p, ok := s.players[in.Player]
	if !ok || p.left {
		return perr(protocol.CodeForbidden, "not a player in this room")
	}
	if in.Index < 0 || in.Index >= len(r.cfg.Questions) {
		return perr(protocol.CodeBadRequest, "no question %d", in.Index)
	}
	if a, dup := p.answers[in.Index]; dup {
		ack := protocol.Ack{Index: in.Index, Accepted: true, Elapsed: a.elapsed.Milliseconds(), Duplicate: true}
		r.ackWhenDurable(&a.ack, in, ack)
		return nil
	}
	if in.Index != s.index || (s.phase != PhaseQuestion && s.phase != PhasePaused) {
		if in.Index == s.index || in.Index < s.index {
			return perr(protocol.CodeTooLate, "question %d is closed", in.Index).Because("time_up", nil)
		}
		return perr(protocol.CodeWrongPhase, "question %d is not open", in.Index)
	}
	if s.phase == PhasePaused {
		return perr(protocol.CodeWrongPhase, "the room is paused").Because("paused", nil)
	}
	q := &r.cfg.Questions[in.Index]
	text := ""
	if q.Type == questionbank.Text {
		if in.Text == nil {
			return perr(protocol.CodeBadRequest, "a text question is answered with text")
		}
		if len(*in.Text) > 500 {
			return perr(protocol.CodeBadRequest, "answer text too long")
		}
		text = *in.Text
	} else if len(in.Choice) == 0 || !q.ValidChoice(in.Choice) || (q.Type != questionbank.Multi && len(in.Choice) != 1) {
		return perr(protocol.CodeBadRequest, "choice must name option keys of the question")
	}
	elapsed, late := r.elapsed(in.Elapsed, in.Timed)
	if late {
		return perr(protocol.CodeTooLate, "your time for question %d is up", in.Index).Because("time_up", nil)
	}
	ack := protocol.Ack{Index: in.Index, Accepted: true, Elapsed: elapsed.Milliseconds()}
	if a := r.recordAnswer(&answerData{Player: p.id, Index: in.Index, Choice: in.Choice, Text: text, Elapsed: elapsed.Milliseconds()}); a != nil {
		r.ackWhenDurable(&a.ack, in, ack)
	}
	r.noteProgress()
	r.maybeCloseEarly()
	return nil
}

// ackWhenDurable sends the ack once the answer's journal entry is durable.
func (r *Room) ackWhenDurable(pa *pendingAck, in AnswerIn, ack protocol.Ack) {
	pa.then(&ackSend{peer: in.Peer, re: in.Re, received: in.Received, ack: ack})
}

// elapsed is a player's answer time: the time measured at the edge (or,
// for an answer the gateway did not time, the time since the question was
// asked), less any pause, clamped to the limit. It also reports whether the
// player's own deadline has passed.
func (r *Room) elapsed(measured time.Duration, timed bool) (time.Duration, bool) {
	s := r.st
	now := r.now()
	d := now.Sub(s.qStart) // the longest an answer can have taken
	if timed {
		d = min(measured, d)
	}
	d = (d - s.paused).Round(time.Millisecond)
	if d < 0 {
		d = 0
	}
	if d > r.cfg.TimeLimit {
		return r.cfg.TimeLimit, d > r.cfg.TimeLimit+r.cfg.Grace/2 || now.After(s.deadline.Add(r.cfg.Grace))
	}
	return d, false
}

// maybeCloseEarly ends the question once every connected player answered.
func (r *Room) maybeCloseEarly() {
	if r.st.phase == PhaseQuestion && r.st.answered > 0 && r.st.everyoneAnswered() {
		r.closeQuestion()
	}
}

// Host actions.
const (
	ActStart  = "start"
	ActNext   = "next"
	ActReveal = "reveal"
	ActPause  = "pause"
	ActResume = "resume"
	ActSkip   = "skip"
	ActEnd    = "end"
	ActKick   = "kick"
	ActAllow  = "allow" // lift a kick: the player, its name and its address may join again
)

// Control carries out a host's action.
func (r *Room) Control(ctx context.Context, action, target string) error {
	return r.do(ctx, func() error { return r.control(action, target) })
}

func (r *Room) control(action, target string) error {
	s := r.st
	wrong := func() error { return perr(protocol.CodeWrongPhase, "cannot %s in phase %s", action, s.phase) }
	switch action {
	case ActStart:
		if s.phase != PhaseLobby {
			return wrong()
		}
		r.record(kindStart, nil, nil)
		f := protocol.NewShared(protocol.EncodeCountdown(protocol.Countdown{Room: r.cfg.ID, Index: 0, StartsAt: s.phaseAt.Add(r.cfg.Countdown).UnixMilli()}))
		f.Probe = true // fresh round trips for the first question's timing
		r.broadcast(f, true)
		r.arm()
	case ActNext:
		if s.phase != PhaseReveal {
			return wrong()
		}
		r.advance()
	case ActReveal:
		if s.phase != PhaseQuestion {
			return wrong()
		}
		r.closeQuestion()
	case ActSkip:
		if s.phase != PhaseQuestion {
			return wrong()
		}
		if r.progressC != nil {
			r.progressTimer.Stop()
			r.progressC = nil
		}
		r.record(kindSkip, indexData{Index: s.index}, nil)
		r.broadcastReveal()
		r.arm()
	case ActPause:
		var left time.Duration
		switch s.phase {
		case PhaseQuestion:
			left = s.deadline.Sub(r.now())
		case PhaseCountdown:
			left = s.phaseAt.Add(r.cfg.Countdown).Sub(r.now())
		case PhaseReveal:
			left = s.phaseAt.Add(r.cfg.RevealFor).Sub(r.now())
		default:
			return wrong()
		}
		left = max(left, 0)
		r.record(kindPause, pauseData{From: s.phase, Remaining: left.Milliseconds()}, nil)
		r.broadcast(protocol.NewShared(protocol.Encode("paused", "", protocol.Paused{Room: r.cfg.ID, RemainingMS: left.Milliseconds()})), true)
		r.arm()
	case ActResume:
		if s.phase != PhasePaused {
			return wrong()
		}
		r.record(kindResume, nil, nil)
		dl := s.deadline
		if s.phase != PhaseQuestion {
			dl = r.now().Add(s.remaining)
		}
		r.broadcast(protocol.NewShared(protocol.Encode("resumed", "", protocol.Resumed{Room: r.cfg.ID, Deadline: dl.UnixMilli()})), true)
		r.arm()
	case ActEnd:
		if s.phase == PhaseFinished {
			return wrong()
		}
		if s.phase == PhaseQuestion {
			r.record(kindReveal, indexData{Index: s.index}, nil)
		}
		r.finish()
	case ActKick:
		p, ok := s.players[target]
		if !ok {
			return perr(protocol.CodeNotFound, "no player %q", target)
		}
		if p.kicked {
			return nil
		}
		r.record(kindKick, playerData{Player: target}, nil)
		if p.peer != nil {
			const why = "removed by the host"
			f := protocol.NewFrame(protocol.Encode("kicked", "", protocol.Kicked{Room: r.cfg.ID, Reason: why, Code: "removed_by_host"}))
			r.outbox = append(r.outbox, delivery{peers: []Peer{p.peer}, frame: f, kick: why})
		}
		r.maybeCloseEarly()
	case ActAllow:
		p, ok := s.players[target]
		if !ok {
			return perr(protocol.CodeNotFound, "no player %q", target)
		}
		if !p.kicked {
			return nil
		}
		r.record(kindAllow, playerData{Player: target}, nil)
	default:
		return perr(protocol.CodeBadRequest, "unknown action %q", action)
	}
	return nil
}

// Snapshot is a read-only view for tests and the HTTP API.
type Snapshot struct {
	Phase   string
	Index   int
	Players int
	Scores  map[string]int64
}

// Snapshot returns the room's phase and scores.
func (r *Room) Snapshot(ctx context.Context) (Snapshot, error) {
	var out Snapshot
	err := r.do(ctx, func() error {
		out = Snapshot{Phase: r.st.phase, Index: r.st.index, Players: r.st.present(), Scores: map[string]int64{}}
		for _, p := range r.st.order {
			out.Scores[p.id] = p.score
		}
		return nil
	})
	return out, err
}

// IsMember reports whether id is a (not kicked) member.
func (r *Room) IsMember(ctx context.Context, id string) bool {
	var ok bool
	err := r.do(ctx, func() error {
		p, found := r.st.players[id]
		ok = found && !p.kicked
		return nil
	})
	return err == nil && ok
}
