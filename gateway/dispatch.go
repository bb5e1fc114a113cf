package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/internal/names"
	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

var (
	errNotPlayer    = &protocol.Error{Code: protocol.CodeForbidden, Message: "only players answer"}
	errRateLimited  = &protocol.Error{Code: protocol.CodeRateLimited, Message: "slow down"}
	errShuttingDown = &protocol.Error{Code: protocol.CodeUnavailable, Message: "the server is shutting down; resume after it restarts"}
)

// resumeTTL is how long a resume token names its player. Re-attaching to
// queues is bounded by the grace window; rooms take a player back as long as
// they run.
const resumeTTL = 24 * time.Hour

func (s *Gateway) send(c *conn, typ, re string, data any) {
	c.send(protocol.NewFrame(protocol.Encode(typ, re, data)))
}

// reply answers a request with err (as an error message) or ok.
func (s *Gateway) reply(c *conn, re string, err error) {
	if err == nil {
		s.send(c, "ok", re, nil)
		return
	}
	c.send(protocol.NewFrame(protocol.ErrorMessage(re, ToProtocol(err))))
}

// ToProtocol maps any error to the protocol error a client should see.
func ToProtocol(err error) *protocol.Error { return roomhost.ProtocolError(err) }

// handle serves one inbound message on the connection's reader goroutine.
func (s *Gateway) handle(c *conn, data []byte) {
	sess := c.sess.Load()
	// The hot path first: an answer read in one pass, without reflection.
	// What that does not take, the generic decoder below judges.
	if id, d, ok := protocol.DecodeAnswer(data, sess.heldRoom); ok {
		switch {
		case sess == nil:
			s.reply(c, id, protocol.Errorf(protocol.CodeUnauthenticated, "send hello first"))
		case s.stopping():
			s.reply(c, id, errShuttingDown)
		default:
			s.answer(c, sess, id, d)
		}
		return
	}
	in, perr := protocol.Decode(data)
	if perr != nil {
		s.reply(c, in.ID, perr)
		return
	}
	switch in.Type {
	case "ping":
		var p protocol.Ping
		if e := protocol.DecodeData(in, &p); e != nil {
			s.reply(c, in.ID, e)
			return
		}
		s.send(c, "pong", in.ID, protocol.Pong{T: p.T, ServerTime: s.clock.Now().UnixMilli()})
		return
	case "hello":
		if sess != nil {
			s.reply(c, in.ID, protocol.Errorf(protocol.CodeWrongPhase, "already welcomed"))
			return
		}
		if !s.joins.Allow(c.addr) {
			s.strike(c, in.ID)
			return
		}
		s.hello(c, in)
		return
	}
	if sess == nil {
		s.reply(c, in.ID, protocol.Errorf(protocol.CodeUnauthenticated, "send hello first"))
		return
	}
	if s.stopping() {
		// Rooms are stopping: take nothing new. What was taken is made
		// durable and acked before the connection closes with 1001.
		s.reply(c, in.ID, errShuttingDown)
		return
	}
	if in.Type == "answer" {
		// The hot path: no deadline of its own, and no waiting for the
		// room; its reply comes from the room.
		if sess.role != rolePlayer {
			s.refuse(c, in.ID, errNotPlayer)
			return
		}
		var d protocol.Answer
		if err := decode(in, &d); err != nil {
			s.refuse(c, in.ID, err)
			return
		}
		s.answer(c, sess, in.ID, d)
		return
	}
	ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
	defer cancel()
	var err error
	switch in.Type {
	case "match.find":
		err = s.matchFind(ctx, c, sess, in)
	case "match.cancel":
		var d protocol.MatchCancel
		if err = decode(in, &d); err == nil {
			if err = s.matcher.Cancel(sess.id, d.Ticket); err != nil {
				err = s.cancelTeam(sess.id, d.Ticket) // a party elsewhere's ticket
			}
			if err != nil {
				err = protocol.Errorf(protocol.CodeNotFound, "no such ticket")
			} else {
				s.send(c, "match.cancelled", in.ID, protocol.TicketOnly{Ticket: d.Ticket})
			}
		}
	case "match.rematch", "match.rematch_decline":
		err = s.matchRematch(ctx, c, sess, in)
	case "party.create", "party.join", "party.leave":
		err = s.party(c, sess, in)
	case "event.join":
		if !s.joins.Allow(c.addr) {
			s.strike(c, in.ID)
			return
		}
		if err = s.eventJoin(ctx, c, sess, in); err == nil {
			c.probe() // the event may start in a moment
		}
	case "solo.start":
		err = s.soloStart(ctx, c, sess, in)
	case "tournament.checkin", "tournament.attempt", "tournament.next":
		err = s.tournamentMessage(ctx, c, sess, in)
	case "host.control":
		err = s.hostControl(ctx, c, sess, in)
	case "watch":
		err = s.watch(ctx, sess, in)
	case "room.leave":
		var d protocol.RoomLeave
		if err = decode(in, &d); err == nil {
			if _, err = s.rt.do(ctx, &roomhost.Command{Op: roomhost.OpLeave, Room: d.Room, Who: sess.id}, sess); err == nil {
				sess.dropRoom(d.Room)
				s.indexRoom(sess.id, d.Room, false)
				s.reply(c, in.ID, nil)
			}
		}
	default:
		err = protocol.Errorf(protocol.CodeBadRequest, "unknown message type %q", trimType(in.Type))
	}
	if err != nil {
		s.refuse(c, in.ID, err)
	}
}

// refuse replies to a failed request with its error.
func (s *Gateway) refuse(c *conn, re string, err error) {
	if s.stopping() && stoppedUnder(err) {
		err = errShuttingDown // the room stopped under the request
	}
	s.reply(c, re, err)
}

// stoppedUnder reports whether err is what a request meets when its room
// stops, or leaves the registry, while the request is on its way.
func stoppedUnder(err error) bool {
	var pe *protocol.Error
	return errors.Is(err, room.ErrClosed) || (errors.As(err, &pe) && pe.Code == protocol.CodeNotFound)
}

func trimType(t string) string {
	if len(t) > 40 {
		return t[:40] + "…"
	}
	return t
}

func decode(in protocol.Inbound, v any) error {
	if e := protocol.DecodeData(in, v); e != nil {
		return e
	}
	return nil
}

// cleanName checks a nickname: 1–32 characters, visible, no blocked word.
func (s *Gateway) cleanName(name string) (string, error) {
	return names.Clean(name, s.cfg.BlockedWords)
}

// hello authenticates a connection as a guest, by token, or by resume token.
func (s *Gateway) hello(c *conn, in protocol.Inbound) {
	var h protocol.Hello
	if e := protocol.DecodeData(in, &h); e != nil {
		s.reply(c, in.ID, e)
		return
	}
	ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
	defer cancel()
	w, err := s.authenticate(ctx, c, h)
	if err != nil {
		s.reply(c, in.ID, err)
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
	w.ServerTime = s.clock.Now().UnixMilli()
	s.send(c, "welcome", in.ID, w)
	c.probe() // the round trip, known well before any first question
	sess := c.sess.Load()
	if sess.role == rolePlayer {
		s.reattach(ctx, sess)
	}
}

func (s *Gateway) authenticate(ctx context.Context, c *conn, h protocol.Hello) (protocol.Welcome, error) {
	now := s.clock.Now()
	switch {
	case h.Resume != "":
		tok, err := s.store.Token(ctx, token.Hash(h.Resume))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return protocol.Welcome{}, StoreUnavailable(err)
		}
		if err != nil || tok.Kind != store.TokenResume || (!tok.ExpiresAt.IsZero() && now.After(tok.ExpiresAt)) {
			return protocol.Welcome{}, protocol.Errorf(protocol.CodeUnauthenticated, "unknown or expired resume token").Because("resume_expired", nil)
		}
		s.marks.MarkUsed(tok.Hash)
		sess, err := s.playerSession(ctx, tok.Subject)
		if err != nil {
			return protocol.Welcome{}, err
		}
		s.adopt(sess, c)
		return protocol.Welcome{Player: protocol.PlayerInfo{ID: sess.id, Name: sess.name}, Role: rolePlayer, Resume: h.Resume, Resumed: true}, nil
	case h.Token != "":
		tok, err := s.store.Token(ctx, token.Hash(h.Token))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return protocol.Welcome{}, StoreUnavailable(err)
		}
		if err != nil || (!tok.ExpiresAt.IsZero() && now.After(tok.ExpiresAt)) {
			return protocol.Welcome{}, protocol.Errorf(protocol.CodeUnauthenticated, "unknown or expired token").Because("token_unknown", nil)
		}
		s.marks.MarkUsed(tok.Hash)
		switch tok.Kind {
		case store.TokenPlayer:
			sess, err := s.playerSession(ctx, tok.Subject)
			if err != nil {
				return protocol.Welcome{}, err
			}
			s.adopt(sess, c)
			return s.welcomePlayer(ctx, sess)
		case store.TokenHost, store.TokenScreen:
			_, info, ok := s.host.Event(tok.Subject)
			if !ok {
				return protocol.Welcome{}, protocol.Errorf(protocol.CodeNotFound, "the event is not running").Because("event_not_running", nil)
			}
			role, id := roleHost, "host:"+info.ID
			if tok.Kind == store.TokenScreen {
				role, id = roleScreen, "screen:"+uuid.NewString()
			}
			sess := s.hub.getOrAdd(id, func() *session { return s.newSession(id, role, role) })
			sess.setEvent(info.ID)
			s.adopt(sess, c)
			if s.cfg.PublicURL != "" {
				info.JoinURL = strings.TrimRight(s.cfg.PublicURL, "/") + "/?pin=" + info.PIN
			}
			return protocol.Welcome{Player: protocol.PlayerInfo{ID: sess.id, Name: role}, Role: role, Event: info}, nil
		case store.TokenOrganizer:
			id := "org:" + uuid.NewString()
			sess := s.hub.getOrAdd(id, func() *session { return s.newSession(id, "organizer", roleOrganizer) })
			s.adopt(sess, c)
			return protocol.Welcome{Player: protocol.PlayerInfo{ID: id, Name: "organizer"}, Role: roleOrganizer}, nil
		}
		return protocol.Welcome{}, protocol.Errorf(protocol.CodeUnauthenticated, "this token does not open a session")
	default:
		name, err := s.cleanName(h.Name)
		if err != nil {
			return protocol.Welcome{}, err
		}
		// The player and its resume token go in one write.
		p := store.Player{ID: "p-" + uuid.NewString(), Name: name, Rating: 1500, CreatedAt: now}
		secret, tok := s.resumeToken(p.ID)
		if err := s.store.CreatePlayer(ctx, p, tok); err != nil {
			return protocol.Welcome{}, StoreUnavailable(err)
		}
		sess := s.hub.getOrAdd(p.ID, func() *session { return s.newSession(p.ID, p.Name, rolePlayer) })
		sess.setRating(p.Rating)
		s.adopt(sess, c)
		return protocol.Welcome{Player: protocol.PlayerInfo{ID: sess.id, Name: sess.name}, Role: rolePlayer, Resume: secret}, nil
	}
}

// StoreUnavailable is the answer to a hello that the store could not
// serve: the client should try again, its credentials are not in doubt.
// Only a token or player that is missing or expired is unauthenticated.
func StoreUnavailable(err error) error {
	_ = err // the cause stays on the server: the client only needs to retry
	return protocol.Errorf(protocol.CodeUnavailable, "the server cannot reach its store; try again")
}

// welcomePlayer issues a fresh resume token for a player session.
func (s *Gateway) welcomePlayer(ctx context.Context, sess *session) (protocol.Welcome, error) {
	secret, tok := s.resumeToken(sess.id)
	if err := s.store.PutToken(ctx, tok); err != nil {
		return protocol.Welcome{}, StoreUnavailable(err)
	}
	return protocol.Welcome{Player: protocol.PlayerInfo{ID: sess.id, Name: sess.name}, Role: rolePlayer, Resume: secret}, nil
}

// resumeToken makes a new resume token for player: the secret for the
// client and the record to store.
func (s *Gateway) resumeToken(player string) (string, store.Token) {
	secret, hash := token.New()
	now := s.clock.Now()
	return secret, store.Token{Hash: hash, Kind: store.TokenResume, Subject: player, CreatedAt: now, ExpiresAt: now.Add(resumeTTL)}
}

// playerSession finds the live session of a player or makes one from the
// stored player.
func (s *Gateway) playerSession(ctx context.Context, id string) (*session, error) {
	if sess, ok := s.hub.get(id); ok {
		return sess, nil
	}
	p, err := s.store.Player(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "unknown player")
	}
	if err != nil {
		return nil, StoreUnavailable(err)
	}
	sess := s.hub.getOrAdd(id, func() *session { return s.newSession(p.ID, p.Name, rolePlayer) })
	sess.setRating(p.Rating)
	return sess, nil
}

func (s *Gateway) newSession(id, name, role string) *session {
	return &session{srv: s, id: id, name: name, role: role}
}

// adopt makes c the session's connection; an older one is closed with 4001.
func (s *Gateway) adopt(sess *session, c *conn) {
	if old := sess.attach(c); old != nil && old != c {
		old.closeWith(reasonReplaced, "replaced by a newer connection")
	}
	s.register(sess, c) // and one on another node
	if s.pnet != nil && sess.role == rolePlayer {
		go s.pnet.arrived(sess) // its party may be reaching it elsewhere
	}
}

// reattach sends a resumed player the state of each room it is in, and its
// place in a queue. A session new to this node (after a restart, or coming
// from another node) finds its rooms by key in the session directory.
func (s *Gateway) reattach(ctx context.Context, sess *session) {
	ids := sess.roomIDs()
	if len(ids) == 0 {
		ids = s.roomsOf(ctx, sess.id)
		for _, id := range ids {
			sess.addRoomLocal(id)
		}
	}
	for _, id := range ids {
		_, err := s.rt.do(ctx, &roomhost.Command{Op: roomhost.OpAttach, Room: id, Who: sess.id}, sess)
		if err != nil && ToProtocol(err).Code != protocol.CodeUnavailable {
			// Gone for good. A room that is unavailable (moving to another
			// node) stays listed: its new owner's announcement attaches it.
			sess.dropRoom(id)
		}
	}
	if t, ok := s.matcher.Queued(sess.id); ok {
		sess.Send(protocol.NewFrame(protocol.Encode("match.queued", "", protocol.MatchQueued{Ticket: t.ID, Mode: t.Mode})))
	}
}

func (s *Gateway) matchFind(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players can play quick matches")
	}
	var d protocol.MatchFind
	if err := decode(in, &d); err != nil {
		return err
	}
	if d.Category != "" && !s.hasCategory(d.Category) {
		return protocol.Errorf(protocol.CodeBadRequest, "unknown category %q", trimType(d.Category)).Because("category_unknown", map[string]any{"category": trimType(d.Category)})
	}
	switch d.Lang {
	case "":
		d.Lang = "zh"
	case "zh", "en":
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "lang must be zh or en").Because("bad_lang", nil)
	}
	if d.Mode == match.ModeTeam {
		return s.teamFind(c, sess, in, d)
	}
	if match.Size(d.Mode) == 0 {
		return protocol.Errorf(protocol.CodeBadRequest, "mode must be duel or four").Because("mode_unknown", nil)
	}
	var t *match.Ticket
	err := s.partyIdle(ctx, sess.id) // a party elsewhere may be queued or playing
	if err == nil {
		t, err = s.matcher.FindLang(protocol.PlayerInfo{ID: sess.id, Name: sess.name, Rating: sess.getRating()}, d.Mode, d.Category, d.Lang, sess)
	}
	switch {
	case errors.Is(err, match.ErrBadMode):
		return protocol.Errorf(protocol.CodeBadRequest, "mode must be duel or four").Because("mode_unknown", nil)
	case errors.Is(err, match.ErrBusy):
		return protocol.Errorf(protocol.CodeWrongPhase, "already queued or playing").Because("already_playing", nil)
	case err != nil:
		return err
	}
	s.send(c, "match.queued", in.ID, protocol.MatchQueued{Ticket: t.ID, Mode: t.Mode})
	return nil
}

// matchRematch asks for, accepts or declines a rematch of a finished quick
// match. The outcome comes later: match.found, or match.rematch_cancelled
// (and match.queued for those who wanted to play).
func (s *Gateway) matchRematch(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players can play quick matches")
	}
	var d protocol.MatchRematch
	if err := decode(in, &d); err != nil {
		return err
	}
	if d.Room == "" {
		return protocol.Errorf(protocol.CodeBadRequest, "room is required")
	}
	var err error
	me := protocol.PlayerInfo{ID: sess.id, Name: sess.name, Rating: sess.getRating()}
	if in.Type == "match.rematch_decline" {
		err = s.matcher.DeclineRematch(sess.id, d.Room)
	} else {
		err = s.matcher.Rematch(ctx, me, d.Room, sess)
	}
	if s.pnet != nil && (errors.Is(err, match.ErrNoMatch) || errors.Is(err, match.ErrNoOffer)) {
		// A match started by another node is asked of that node.
		err = s.pnet.rematch(ctx, me, d.Room, in.Type == "match.rematch_decline", err)
	}
	switch {
	case errors.Is(err, match.ErrNoMatch):
		return protocol.Errorf(protocol.CodeNotFound, "no finished match %q of yours to play again", trimType(d.Room))
	case errors.Is(err, match.ErrNoOffer):
		return protocol.Errorf(protocol.CodeNotFound, "no rematch is offered for %q", trimType(d.Room))
	case errors.Is(err, match.ErrNotFinished):
		return protocol.Errorf(protocol.CodeWrongPhase, "the match has not finished")
	case errors.Is(err, match.ErrBusy):
		return protocol.Errorf(protocol.CodeWrongPhase, "already queued or playing")
	case err != nil:
		return err
	}
	s.reply(c, in.ID, nil)
	return nil
}

func (s *Gateway) hasCategory(cat string) bool { return s.host.HasCategory(cat) }

// answer hands an answer to its room and goes back to reading: the room
// replies with the error, or the ack once the answer is durable.
func (s *Gateway) answer(c *conn, sess *session, re string, d protocol.Answer) {
	if sess.role != rolePlayer {
		s.refuse(c, re, errNotPlayer)
		return
	}
	cmd := roomhost.Command{Op: roomhost.OpAnswer, Room: d.Room, Who: sess.id, Index: d.Index, Choice: d.Choice, Text: d.Text, Re: re}
	cmd.Elapsed, cmd.Timed = s.answerTime(c, sess, d.Room, d.Index)
	var until time.Time // how long a room elsewhere is waited for: not needed on a single node
	if s.rt.bus != nil {
		until, _ = sess.openUntil(d.Room, d.Index)
	}
	s.rt.submit(s.runCtx, &cmd, sess, c.received, until, c)
}

var _ room.Outcome = (*conn)(nil)

// Answered implements room.Outcome for the answers read from c: the room
// took the answer (its ack follows once durable) or refused it. The
// connection itself is told, so an answer costs no callback of its own.
func (c *conn) Answered(re string, err error) {
	if err != nil {
		c.srv.refuse(c, re, err)
		return
	}
	c.srv.metrics.Answers.Inc()
}

// answerTime measures an answer at the edge, where the question was
// written and the answer read: from when the question (roomID, index) was
// written to this player's connection to now, less the connection's whole
// smoothed round trip (the question travels one way, the answer the
// other), the credit capped at RTTCreditMax. It reports false if no
// question of that index was written to the player; the room then times
// the answer itself.
func (s *Gateway) answerTime(c *conn, sess *session, roomID string, index int) (time.Duration, bool) {
	at, ok := sess.writtenAt(roomID, index)
	if !ok {
		return 0, false
	}
	var credit time.Duration
	if !s.cfg.IgnoreRTT {
		credit = min(c.rtt(), s.cfg.RTTCreditMax)
	}
	return max(s.clock.Now().Sub(at)-credit, 0), true
}
