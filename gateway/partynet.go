package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// Parties in a cluster. A party lives on the node where it was made, its
// home: the party, its members and its team ticket are there, as on a
// single node. The home holds two kinds of claim on the Bus for partyTTL,
// renewed every partyRenew, so that a dead home's lapse: the party's invite
// code ("party:CODE", owner the home) and each member's membership
// ("party:of:PLAYER", owner "HOME CODE"). A player on another node joins by
// code: that node finds the home by the code's claim and asks it over the
// Bus; the home seats the player as a member reached through the player's
// node (host.RemotePeer), so party.state, match.queued and match.found reach
// it there. Leaving, a dropped connection, queueing and cancelling are asked
// of the home the same way, found by the membership claim. A member whose
// connection comes back on another node is moved there by the home (see
// arrived), and its old node's grace ending does not take it out.
//
// A request that waits for its reply is sent again every partyResend until
// the reply comes (a message lost on the Bus, or a home restarting), and
// the home answers a request it has seen again with the answer it gave,
// without doing it twice. A member on another node is refused a quick
// match while its party is queued or playing, as on the home: its node
// asks the home (busy), and the home asks each member's node before it
// queues the party (idle). Every partyRenew the home asks each node holding
// members whether it still has their sessions (rollCall), so a member
// whose node restarted is not kept for ever.

const (
	partyTTL   = 30 * time.Second
	partyRenew = 10 * time.Second

	// partyResend is how often a request not yet answered is sent again.
	partyResend = 500 * time.Millisecond
	// partyKeep is how long a home remembers its answer to a request, to
	// answer it the same when it comes again.
	partyKeep = 2 * time.Minute
	// goneFor bounds how long a node keeps telling a party's home that a
	// member's connection is gone, the home out of reach.
	goneFor = 5 * time.Minute
)

func partyKey(code string) string { return "party:" + code }

func memberKey(player string) string { return "party:of:" + player }

// membership is the owner of a member's claim.
func membership(home, code string) string { return home + " " + code }

func partyRequestChannel(node string) string { return "party:rq:" + node }
func partyReplyChannel(node string) string   { return "party:rp:" + node }

// Party operations asked of a party's home.
const (
	partyJoin   = "join"
	partyLeave  = "leave"
	partyQueue  = "queue"
	partyCancel = "cancel"
	partyMove   = "move" // the member's connection is now on From
	partyGone   = "gone" // the member's connection on From is gone for good
	partyBusy   = "busy" // is the member's party queued, or the member playing?

	// Asked by a party's home of a member's node before queueing the
	// party: is the member queued or playing there?
	opIdle = "idle"
	// Asked by a party's home of each node holding members, every
	// partyRenew: which of Players has that node no session of?
	opPresent = "present"

	// Not a party's, but asked the same way of the node that started a
	// quick match: a rematch of it, and declining one.
	opRematch = "rematch"
	opDecline = "rematch_decline"
)

// partyRequest is an operation on a party, from the node of the player who
// asks (From) to the party's home.
type partyRequest struct {
	ID   uint64 `json:"id"`
	From string `json:"from"`
	// Run names the asking node's run: request ids start again when a
	// node restarts, so a home knows a request by From, Run and ID.
	Run      string              `json:"run,omitempty"`
	Op       string              `json:"op"`
	Player   protocol.PlayerInfo `json:"player"`
	Code     string              `json:"code,omitempty"`
	Category string              `json:"category,omitempty"`
	Lang     string              `json:"lang,omitempty"`
	Ticket   string              `json:"ticket,omitempty"`
	Room     string              `json:"room,omitempty"`
	NoReply  bool                `json:"noreply,omitempty"`
	Players  []string            `json:"players,omitempty"`
}

// partyReply is the home's answer: Err names a party error (errName), or
// is empty on success.
type partyReply struct {
	ID     uint64               `json:"id"`
	Err    string               `json:"err,omitempty"`
	State  *protocol.PartyState `json:"state,omitempty"`
	Ticket string               `json:"ticket,omitempty"`
	Party  string               `json:"party,omitempty"`
	Absent []string             `json:"absent,omitempty"`
}

// The party errors by name, as they cross the Bus.
var partyErrs = map[string]error{
	"no_party":   match.ErrNoParty,
	"in_party":   match.ErrInParty,
	"full":       match.ErrPartyFull,
	"not_leader": match.ErrNotLeader,
	"size":       match.ErrPartySize,
	"locked":     match.ErrPartyLocked,
	"busy":       match.ErrBusy,
	"no_ticket":  match.ErrNoTicket,

	"no_match":     match.ErrNoMatch,
	"no_offer":     match.ErrNoOffer,
	"not_finished": match.ErrNotFinished,
}

func errName(err error) string {
	if err == nil {
		return ""
	}
	for n, e := range partyErrs {
		if errors.Is(err, e) {
			return n
		}
	}
	return "internal"
}

func errOf(name string) error {
	if name == "" {
		return nil
	}
	if e, ok := partyErrs[name]; ok {
		return e
	}
	return protocol.Errorf(protocol.CodeInternal, "the party's server failed")
}

var errPartyUnreachable = protocol.Errorf(protocol.CodeUnavailable, "cannot reach the party's server; try again")

// partyNet is this node's side of parties across the cluster; nil on a
// single node.
type partyNet struct {
	gw      *Gateway
	bus     cluster.Bus
	node    string
	run     string // this run's name (see partyRequest.Run)
	replies waiters[partyReply]
	seen    answers

	calling atomic.Bool // a roll call is under way
	// absentMu guards absent: each member of a party here that its node
	// had no session of at the last roll call, with that node.
	absentMu sync.Mutex
	absent   map[string]string
}

func newPartyNet(gw *Gateway, bus cluster.Bus, node string) *partyNet {
	return &partyNet{gw: gw, bus: bus, node: node, run: uuid.NewString()[:8]}
}

// answers are the replies a home gave to requests of other nodes, kept for
// partyKeep by request (from, run, id): a request sent again, its reply
// lost, is answered the same without being done twice.
type answers struct {
	mu sync.Mutex
	m  map[string]*answer
}

type answer struct {
	done chan struct{} // closed once rep is set
	rep  partyReply
	at   time.Time
}

// begin returns the answer of the request key and whether it is new: the
// caller of a new one sets rep and closes done.
func (a *answers) begin(key string, now time.Time) (*answer, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if x, ok := a.m[key]; ok {
		return x, false
	}
	if a.m == nil {
		a.m = map[string]*answer{}
	}
	x := &answer{done: make(chan struct{}), at: now}
	a.m[key] = x
	return x, true
}

// prune forgets the answers given before cutoff.
func (a *answers) prune(cutoff time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, x := range a.m {
		if x.at.Before(cutoff) {
			select {
			case <-x.done:
				delete(a.m, k)
			default: // still being answered
			}
		}
	}
}

// start subscribes to this node's party requests and replies, and renews
// the codes of this node's parties until ctx ends.
func (pn *partyNet) start(ctx context.Context) error {
	cancelRq, err := pn.bus.Subscribe(ctx, partyRequestChannel(pn.node), func(msg []byte) {
		go pn.serve(ctx, msg)
	})
	if err != nil {
		return err
	}
	cancelRp, err := pn.bus.Subscribe(ctx, partyReplyChannel(pn.node), pn.onReply)
	if err != nil {
		cancelRq()
		return err
	}
	go func() {
		t := pn.gw.clock.NewTicker(partyRenew)
		defer t.Stop()
		defer cancelRq()
		defer cancelRp()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				pn.renew(ctx)
				pn.seen.prune(pn.gw.clock.Now().Add(-partyKeep))
				if pn.calling.CompareAndSwap(false, true) {
					go func() {
						defer pn.calling.Store(false)
						pn.rollCall(ctx)
					}()
				}
			}
		}
	}()
	return nil
}

// renew extends the claims on this node's parties' codes and members.
func (pn *partyNet) renew(ctx context.Context) {
	var claims []cluster.ClaimOf
	for code, members := range pn.gw.parties.Roster() {
		claims = append(claims, cluster.ClaimOf{Key: partyKey(code), Owner: pn.node})
		for _, id := range members {
			claims = append(claims, cluster.ClaimOf{Key: memberKey(id), Owner: membership(pn.node, code)})
		}
	}
	if len(claims) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	held, err := pn.bus.ClaimAll(cctx, claims, partyTTL)
	if err != nil {
		pn.gw.log.Warn().Err(err).Int("claims", len(claims)).Msg("renew the claims of this node's parties and members")
		return
	}
	for i, ok := range held {
		if !ok {
			pn.gw.log.Warn().Str("key", claims[i].Key).Msg("a party's code or member is claimed by another node")
		}
	}
}

// claim takes or extends a claim of this node's, logging a failure.
func (pn *partyNet) claim(ctx context.Context, key, owner string) {
	cctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	ok, err := pn.bus.Claim(cctx, key, owner, partyTTL)
	if err != nil {
		pn.gw.log.Warn().Err(err).Str("key", key).Msg("claim a party's code or member")
	} else if !ok {
		pn.gw.log.Warn().Str("key", key).Msg("a party's code or member is claimed by another node")
	}
}

// joined records that player is a member of the party here with code.
func (pn *partyNet) joined(player, code string) {
	pn.claim(context.Background(), memberKey(player), membership(pn.node, code))
}

// left records that player left the party here with code.
func (pn *partyNet) left(player, code string) {
	ctx, cancel := context.WithTimeout(context.Background(), dirTimeout)
	defer cancel()
	if err := pn.bus.Release(ctx, memberKey(player), membership(pn.node, code)); err != nil {
		pn.gw.log.Warn().Err(err).Str("player", player).Msg("release a party member's claim; it lapses")
	}
}

// reserve claims a fresh invite code for a party made here.
func (pn *partyNet) reserve(ctx context.Context) (string, error) {
	for i := 0; i < 8; i++ {
		code := match.NewCode()
		ok, err := pn.bus.Claim(ctx, partyKey(code), pn.node, partyTTL)
		if err != nil {
			return "", protocol.Errorf(protocol.CodeUnavailable, "cannot reach the cluster; try again")
		}
		if ok {
			return code, nil
		}
	}
	return "", protocol.Errorf(protocol.CodeUnavailable, "no free invite code; try again")
}

// release gives up the code of a party of this node that dissolved.
func (pn *partyNet) release(code string) {
	ctx, cancel := context.WithTimeout(context.Background(), dirTimeout)
	defer cancel()
	if err := pn.bus.Release(ctx, partyKey(code), pn.node); err != nil {
		pn.gw.log.Warn().Err(err).Str("code", code).Msg("release a dissolved party's invite code; it lapses")
	}
}

// home returns the node whose party has code: "" if none has.
func (pn *partyNet) home(ctx context.Context, code string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	owner, err := pn.bus.Owner(cctx, partyKey(code))
	if err != nil {
		return "", errPartyUnreachable
	}
	return owner, nil
}

// playing reports whether player holds a match room's claim, on any node.
// A Bus that cannot say counts as not playing: the claims taken when a
// match starts still keep a player out of two rooms.
func (pn *partyNet) playing(player string) bool {
	ctx, cancel := context.WithTimeout(pn.gw.runCtx, dirTimeout)
	defer cancel()
	owner, err := pn.bus.Owner(ctx, match.ClaimKey(player))
	return err == nil && owner != ""
}

// partyOf returns the home node and code of player's party: "" if player
// is in none (or its home is dead).
func (pn *partyNet) partyOf(ctx context.Context, player string) (home, code string, err error) {
	cctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	owner, err := pn.bus.Owner(cctx, memberKey(player))
	if err != nil {
		return "", "", errPartyUnreachable
	}
	home, code, _ = strings.Cut(owner, " ")
	return home, code, nil
}

// elsewhere returns the home of player's party if it is another node's.
func (pn *partyNet) elsewhere(ctx context.Context, player string) (string, error) {
	home, _, err := pn.partyOf(ctx, player)
	if err != nil || home == pn.node {
		return "", err
	}
	return home, nil
}

// ask sends req to node and, unless req.NoReply, waits for its reply,
// sending req again every partyResend until it comes or ReplyWait passes.
func (pn *partyNet) ask(ctx context.Context, node string, req partyRequest) (partyReply, error) {
	var reply <-chan partyReply
	if req.NoReply {
		req.ID = pn.replies.id()
	} else {
		var done func()
		req.ID, reply, done = pn.replies.wait()
		defer done()
	}
	req.From, req.Run = pn.node, pn.run
	msg, err := json.Marshal(req)
	if err != nil {
		return partyReply{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, pn.gw.cfg.ReplyWait)
	defer cancel()
	if req.NoReply {
		if err := pn.bus.Publish(pctx, partyRequestChannel(node), msg); err != nil {
			return partyReply{}, errPartyUnreachable
		}
		return partyReply{}, nil
	}
	t := time.NewTimer(partyResend)
	defer t.Stop()
	for {
		// A failed publish is tried again like a lost one.
		_ = pn.bus.Publish(pctx, partyRequestChannel(node), msg)
		select {
		case rep := <-reply:
			return rep, nil
		case <-pctx.Done():
			return partyReply{}, errPartyUnreachable
		case <-t.C:
			t.Reset(partyResend)
		}
	}
}

// onReply pairs a reply with the request waiting for it. Runs on the
// Bus's goroutine.
func (pn *partyNet) onReply(msg []byte) {
	var r partyReply
	if json.Unmarshal(msg, &r) != nil {
		return
	}
	pn.replies.deliver(r.ID, r)
}

// serve carries out a request from another node on a party of this node.
// Runs in its own goroutine.
func (pn *partyNet) serve(ctx context.Context, msg []byte) {
	var req partyRequest
	if json.Unmarshal(msg, &req) != nil || req.From == "" || req.Player.ID == "" {
		return
	}
	if req.NoReply || req.Run == "" {
		if rep, ok := pn.do(ctx, req); ok && !req.NoReply {
			pn.reply(ctx, req.From, rep)
		}
		return
	}
	// A request sent again is answered as it was the first time.
	a, first := pn.seen.begin(req.From+" "+req.Run+" "+strconv.FormatUint(req.ID, 10), pn.gw.clock.Now())
	if first {
		var ok bool
		a.rep, ok = pn.do(ctx, req)
		if !ok {
			a.rep.Err = "internal"
		}
		close(a.done)
	} else {
		select {
		case <-a.done:
		case <-ctx.Done():
			return
		}
	}
	pn.reply(ctx, req.From, a.rep)
}

// do carries out req and returns the reply, and false for a request
// that gets none.
func (pn *partyNet) do(ctx context.Context, req partyRequest) (partyReply, bool) {
	gw := pn.gw
	rep := partyReply{ID: req.ID}
	switch req.Op {
	case partyJoin:
		mb := match.Member{Player: req.Player, Sink: gw.host.RemotePeer(req.From, req.Player.ID), Node: req.From}
		if mb.Sink == nil {
			rep.Err = "internal"
			break
		}
		pt, err := gw.parties.JoinMember(req.Code, mb)
		if rep.Err = errName(err); err == nil {
			pn.joined(req.Player.ID, pt.Code)
			gw.pushParty(pt, req.Player.ID)
			st := pt.State()
			rep.State = &st
		}
	case partyLeave:
		if pt, ok := gw.parties.Of(req.Player.ID); ok {
			rep.Party = pt.ID
		}
		if !gw.leaveParty(req.Player.ID) {
			rep.Err = errName(match.ErrNoParty)
		}
	case partyGone:
		// Only if the member is still there: one that came back on
		// another node stays.
		if node, ok := gw.parties.Where(req.Player.ID); ok && node == req.From {
			gw.leaveParty(req.Player.ID)
		}
	case partyMove:
		sink := gw.host.RemotePeer(req.From, req.Player.ID)
		if sink == nil {
			return rep, false
		}
		if pt, moved := gw.parties.Move(req.Player.ID, req.From, sink); moved {
			sink.Send(protocol.NewFrame(protocol.Encode("party.state", "", pt.State())))
		}
	case partyQueue:
		t, err := gw.queueParty(req.Player.ID, req.Category, req.Lang, func(id string) (float64, bool) {
			if id == req.Player.ID {
				return req.Player.Rating, true
			}
			return gw.localRating(id)
		})
		if rep.Err = errName(err); err == nil {
			rep.Ticket = t.ID
		}
	case partyCancel:
		rep.Err = errName(gw.matcher.Cancel(req.Player.ID, req.Ticket))
	case opRematch:
		sink := gw.host.RemotePeer(req.From, req.Player.ID)
		if sink == nil {
			rep.Err = "internal"
			break
		}
		rep.Err = errName(gw.matcher.Rematch(ctx, req.Player, req.Room, sink))
	case opDecline:
		rep.Err = errName(gw.matcher.DeclineRematch(req.Player.ID, req.Room))
	case partyBusy:
		if gw.memberBusy(req.Player.ID) {
			rep.Err = errName(match.ErrBusy)
		}
	case opPresent:
		for _, id := range req.Players {
			if _, ok := gw.hub.get(id); !ok {
				rep.Absent = append(rep.Absent, id)
			}
		}
	case opIdle:
		_, queued := gw.matcher.Queued(req.Player.ID)
		_, playing := gw.matcher.Playing(req.Player.ID)
		if queued || playing {
			rep.Err = errName(match.ErrBusy)
		}
	default:
		return rep, false
	}
	return rep, true
}

// reply sends rep to the node that asked.
func (pn *partyNet) reply(ctx context.Context, to string, rep partyReply) {
	out, err := json.Marshal(rep)
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pn.bus.Publish(pctx, partyReplyChannel(to), out); err != nil {
		pn.gw.log.Warn().Err(err).Str("to", to).Msg("reply to a party request")
	}
}

// join asks the home of the party with code to take me in.
func (pn *partyNet) join(ctx context.Context, code string, me protocol.PlayerInfo) (*protocol.PartyState, error) {
	home, err := pn.home(ctx, code)
	if err != nil {
		return nil, err
	}
	if home == "" || home == pn.node {
		return nil, match.ErrNoParty
	}
	rep, err := pn.ask(ctx, home, partyRequest{Op: partyJoin, Player: me, Code: code})
	if err != nil {
		return nil, err
	}
	if err := errOf(rep.Err); err != nil {
		return nil, err
	}
	if rep.State == nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "the party's server failed")
	}
	return rep.State, nil
}

// leave asks the home of player's party elsewhere to let it go, and
// returns the party's id.
func (pn *partyNet) leave(ctx context.Context, player string) (string, error) {
	home, err := pn.elsewhere(ctx, player)
	if err != nil {
		return "", err
	}
	if home == "" {
		return "", match.ErrNoParty
	}
	rep, err := pn.ask(ctx, home, partyRequest{Op: partyLeave, Player: protocol.PlayerInfo{ID: player}})
	if err != nil {
		return "", err
	}
	if err := errOf(rep.Err); err != nil {
		return "", err
	}
	return rep.Party, nil
}

// gone tells the home of player's party elsewhere that player's connection
// here is gone for good, until the home answers: a party must not stay
// queued, nor be matched, with a member who is gone. It stops early if the
// player comes back here or is in no party elsewhere any more, and after
// goneFor.
func (pn *partyNet) gone(player string) {
	ctx, cancel := context.WithTimeout(pn.gw.runCtx, goneFor)
	defer cancel()
	wait := partyResend
	for {
		if pn.gw.Connected(player) {
			return // back here: arrived moves it
		}
		home, err := pn.elsewhere(ctx, player)
		if err == nil && home == "" {
			return
		}
		if err == nil {
			_, err = pn.ask(ctx, home, partyRequest{Op: partyGone, Player: protocol.PlayerInfo{ID: player}})
			if err == nil {
				return
			}
		}
		pn.gw.log.Warn().Err(err).Str("player", player).Str("node", home).Msg("take a gone player out of its party elsewhere; trying again")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			pn.gw.log.Warn().Str("player", player).Msg("gave up telling a party its member is gone; its claims lapse with its home")
			return
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// arrived tells the home of sess's party that its connection is now here,
// if it was elsewhere: the home reaches it here from now on, and sends it
// the party's state.
func (pn *partyNet) arrived(sess *session) {
	ctx, cancel := context.WithTimeout(pn.gw.runCtx, 2*dirTimeout)
	defer cancel()
	home, _, err := pn.partyOf(ctx, sess.id)
	switch {
	case err != nil || home == "":
		return
	case home == pn.node:
		if pt, moved := pn.gw.parties.Move(sess.id, "", sess); moved {
			sess.Send(protocol.NewFrame(protocol.Encode("party.state", "", pt.State())))
		}
		return
	}
	// Answered, so that a lost note is sent again: a member left reached
	// through its old node would be taken out when that node's grace ends.
	if _, err := pn.ask(ctx, home, partyRequest{Op: partyMove, Player: protocol.PlayerInfo{ID: sess.id}}); err != nil {
		pn.gw.log.Warn().Err(err).Str("player", sess.id).Str("node", home).Msg("tell a party its member is here now")
	}
}

// queue asks the home of me's party elsewhere to queue it, and returns the
// team ticket.
func (pn *partyNet) queue(ctx context.Context, me protocol.PlayerInfo, category, lang string) (string, error) {
	home, err := pn.elsewhere(ctx, me.ID)
	if err != nil {
		return "", err
	}
	if home == "" {
		return "", match.ErrNoParty
	}
	rep, err := pn.ask(ctx, home, partyRequest{Op: partyQueue, Player: me, Category: category, Lang: lang})
	if err != nil {
		return "", err
	}
	if err := errOf(rep.Err); err != nil {
		return "", err
	}
	return rep.Ticket, nil
}

// cancel asks the home of player's party elsewhere to cancel its ticket.
func (pn *partyNet) cancel(ctx context.Context, player, ticket string) error {
	home, err := pn.elsewhere(ctx, player)
	if err != nil {
		return err
	}
	if home == "" {
		return match.ErrNoTicket
	}
	rep, err := pn.ask(ctx, home, partyRequest{Op: partyCancel, Player: protocol.PlayerInfo{ID: player}, Ticket: ticket})
	if err != nil {
		return err
	}
	return errOf(rep.Err)
}

// rematch asks the node that started room, if another, for a rematch of
// it (or to decline one) on me's behalf; local is this node's answer,
// returned when no other node started the match.
func (pn *partyNet) rematch(ctx context.Context, me protocol.PlayerInfo, room string, decline bool, local error) error {
	cctx, cancel := context.WithTimeout(ctx, dirTimeout)
	owner, err := pn.bus.Owner(cctx, match.RematchKey(room))
	cancel()
	if err != nil {
		return errPartyUnreachable
	}
	if owner == "" || owner == pn.node {
		return local
	}
	op := opRematch
	if decline {
		op = opDecline
	}
	rep, err := pn.ask(ctx, owner, partyRequest{Op: op, Player: me, Room: room})
	if err != nil {
		return err
	}
	return errOf(rep.Err)
}

// busy asks the home of player's party elsewhere whether the party is
// queued or playing, or player is playing: ErrBusy if so.
func (pn *partyNet) busy(ctx context.Context, player, home string) error {
	rep, err := pn.ask(ctx, home, partyRequest{Op: partyBusy, Player: protocol.PlayerInfo{ID: player}})
	if err != nil {
		return err
	}
	return errOf(rep.Err)
}

// idle asks the node of a member's connection whether the member is queued
// or playing there: ErrBusy if so.
func (pn *partyNet) idle(ctx context.Context, node, player string) error {
	rep, err := pn.ask(ctx, node, partyRequest{Op: opIdle, Player: protocol.PlayerInfo{ID: player}})
	if err != nil {
		return err
	}
	return errOf(rep.Err)
}

// rollCall asks each node holding members of this node's parties which of
// them it has no session of (connected, or in its grace window): a member
// whose node restarted, or whose gone note never came, is not kept in its
// party, to be matched, for ever. A member its node names at two roll
// calls in a row, still reached through that node, is taken out as if the
// note came. A node that does not answer changes nothing: a dead node's
// members may come back on another node, and its claims lapse with it.
func (pn *partyNet) rollCall(ctx context.Context) {
	byNode := map[string][]string{}
	for _, members := range pn.gw.parties.Roster() {
		for _, id := range members {
			if node, ok := pn.gw.parties.Where(id); ok && node != "" && node != pn.node {
				byNode[node] = append(byNode[node], id)
			}
		}
	}
	var wg sync.WaitGroup
	answered := map[string][]string{} // node -> its absent players
	var mu sync.Mutex
	for node, ids := range byNode {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := pn.ask(ctx, node, partyRequest{Op: opPresent, Player: protocol.PlayerInfo{ID: ids[0]}, Players: ids})
			if err != nil || rep.Err != "" {
				return
			}
			mu.Lock()
			answered[node] = rep.Absent
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := map[string]string{} // player -> the node that has no session of it
	pn.absentMu.Lock()
	if pn.absent == nil {
		pn.absent = map[string]string{}
	}
	for node, ids := range byNode {
		absent, ok := answered[node]
		if !ok {
			continue
		}
		now := map[string]bool{}
		for _, id := range absent {
			now[id] = true
		}
		for _, id := range ids {
			switch {
			case !now[id]:
				delete(pn.absent, id)
			case pn.absent[id] == node:
				delete(pn.absent, id)
				out[id] = node
			default:
				pn.absent[id] = node
			}
		}
	}
	for id, node := range pn.absent {
		if _, ok := byNode[node]; !ok || !slices.Contains(byNode[node], id) {
			delete(pn.absent, id) // left, or moved, meanwhile
		}
	}
	pn.absentMu.Unlock()
	for id, was := range out {
		if node, ok := pn.gw.parties.Where(id); ok && node == was {
			pn.gw.log.Warn().Str("player", id).Str("node", node).Msg("a party member's node has no session of it: taken out of its party")
			pn.gw.leaveParty(id)
		}
	}
}
