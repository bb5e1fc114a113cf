package match

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/leitai/leitai/protocol"
)

// Relay carries messages between the matchmakers of a cluster's nodes.
// cluster.Bus implements it.
type Relay interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (cancel func(), err error)
}

// Sharing is what a Matchmaker needs to queue players with the other nodes
// of a cluster.
type Sharing struct {
	// Node names this node; every node's must differ.
	Node string
	// Pool holds every node's tickets of the ordinary queues.
	Pool Pool
	// Relay tells a ticket's node that another node matched it.
	Relay Relay
	// TicketTTL is how long a ticket stays in the pool without its node
	// renewing it (every Tick): a node that dies leaves its players in the
	// queue no longer than this. Default 10 s.
	TicketTTL time.Duration
	// TakenHold is how long a taken ticket is remembered as taken, so that
	// its node does not queue it again before it hears of the match.
	// Default 1 min.
	TakenHold time.Duration
	// PeerSink, if set, is how this node reaches a player whose connection
	// is on node ("" for this node) directly: match.found for the members
	// of another node's party goes there, in order with what their room
	// says next. Nil (or a nil Sink) sends it through the party's node.
	PeerSink func(node, player string) Sink
}

// relayMsg is what a node that took another node's ticket sends to that
// node: the frame for the ticket's player (match.found, or an error when
// the match could not start), which also means the ticket left the queue.
type relayMsg struct {
	Ticket string          `json:"ticket"`
	Player string          `json:"player"`
	Frame  json.RawMessage `json:"frame,omitempty"` // none: only that the ticket left the queue
	// Requeue, instead, asks the node to queue its player afresh (a
	// rematch offer it accepted failed on the node that made it).
	Requeue *PoolTicket `json:"requeue,omitempty"`
}

func relayChannel(node string) string { return "match:node:" + node }

// Share makes m queue its players of the ordinary queues (duel and four)
// in s.Pool with every other node's, and decide matches from all of them.
// Parties queue there too, one ticket each (see processTeams); rematch
// offers stay on the node. Call it before Run; a
// Matchmaker never shared keeps its queues in memory, as on a single node.
// The returned stop ends the subscription to this node's relay channel.
func (m *Matchmaker) Share(ctx context.Context, s Sharing) (stop func(), err error) {
	if s.Node == "" || s.Pool == nil || s.Relay == nil {
		return nil, errors.New("match: sharing needs a node, a pool and a relay")
	}
	if s.TicketTTL <= 0 {
		s.TicketTTL = 10 * time.Second
	}
	if s.TakenHold <= 0 {
		s.TakenHold = time.Minute
	}
	cancel, err := s.Relay.Subscribe(ctx, relayChannel(s.Node), m.relayed)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.share = &s
	m.mu.Unlock()
	return cancel, nil
}

// remoteSink is the Sink of a ticket queued on another node.
type remoteSink struct {
	m      *Matchmaker
	node   string
	ticket string
	player string
}

// Send implements Sink: it relays f to the ticket's node. A match.found or
// an error (playing elsewhere) ends the ticket there.
func (r *remoteSink) Send(f *protocol.Frame) bool {
	b := f.Bytes()
	msg, _ := json.Marshal(relayMsg{Ticket: r.ticket, Player: r.player, Frame: b})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.m.share.Relay.Publish(ctx, relayChannel(r.node), msg); err != nil {
		r.m.log.Warn().Err(err).Str("node", r.node).Str("player", r.player).Msg("relay a match message")
		return false
	}
	return true
}

// relayed delivers a message from another node to the ticket's player.
func (m *Matchmaker) relayed(b []byte) {
	var msg relayMsg
	if err := json.Unmarshal(b, &msg); err != nil {
		m.log.Warn().Err(err).Msg("bad relayed match message")
		return
	}
	if q := msg.Requeue; q != nil {
		if Size(q.Mode) > 0 && q.Player.ID != "" && m.share.PeerSink != nil {
			go m.requeued(*q) // off the Bus's goroutine: it adds to the pool
		}
		return
	}
	m.mu.Lock()
	t, ok := m.byPlayer[msg.Player]
	switch {
	case ok && t.ID == msg.Ticket && t.team != nil:
		// A party of this node, taken by another: it leaves the queue
		// whole, and its members' messages that follow find it.
		m.unlinkTeam(t.team)
		m.teamsOut[t.ID] = teamOut{e: t.team, at: m.clock.Now()}
	case ok && t.ID == msg.Ticket:
		m.remove(t)
	default:
		if out, ok := m.teamsOut[msg.Ticket]; ok {
			t = out.e.member(msg.Player)
			break
		}
		// Cancelled here after another node took it: the player is in
		// that match all the same, as on a single node, so is told.
		t = m.cancelled[msg.Ticket].t
		delete(m.cancelled, msg.Ticket)
	}
	m.mu.Unlock()
	if t != nil && t.Sink != nil && len(msg.Frame) > 0 {
		t.Sink.Send(protocol.NewFrame(msg.Frame))
	}
}

// syncPool puts this node's new tickets in the pool, renews the others,
// and puts back those the pool lost (expired while the node could not
// reach it).
func (m *Matchmaker) syncPool(ctx context.Context) {
	s := m.share
	m.mu.Lock()
	now := m.clock.Now()
	for id, c := range m.cancelled {
		if now.Sub(c.at) > s.TakenHold {
			delete(m.cancelled, id)
		}
	}
	for id, c := range m.teamsOut {
		if now.Sub(c.at) > s.TakenHold {
			delete(m.teamsOut, id)
		}
	}
	var add, renew []*Ticket
	for _, q := range m.queues {
		for _, t := range q {
			if t.pooled {
				renew = append(renew, t)
			} else {
				add = append(add, t)
			}
		}
	}
	for _, q := range m.teams {
		for _, e := range q {
			// A party is in the pool as its leader's ticket.
			if t := e.tickets[0]; t.pooled {
				renew = append(renew, t)
			} else {
				add = append(add, t)
			}
		}
	}
	m.mu.Unlock()
	for _, t := range add {
		if err := m.publish(ctx, t); errors.Is(err, ErrBusy) && t.Sink != nil {
			t.Sink.Send(protocol.NewFrame(protocol.ErrorMessage("", &protocol.Error{Code: protocol.CodeWrongPhase, Message: "already queued elsewhere"})))
		}
	}
	if len(renew) == 0 {
		return
	}
	ids := make([]string, len(renew))
	for i, t := range renew {
		ids[i] = t.ID
	}
	states, err := s.Pool.Renew(ctx, ids, s.TicketTTL)
	if err != nil {
		m.log.Warn().Err(err).Msg("renew tickets in the shared pool")
		return
	}
	m.mu.Lock()
	for i, st := range states {
		if st == TicketGone {
			renew[i].pooled = false // added again, with its place, next tick
		}
	}
	m.mu.Unlock()
}

// publish adds this node's ticket t to the pool. ErrBusy (the player has a
// ticket on another node) drops t and tells its player; another failure
// leaves t to be added again on the next tick.
func (m *Matchmaker) publish(ctx context.Context, t *Ticket) error {
	s := m.share
	seq, err := s.Pool.Add(ctx, t.poolTicket(s.Node), s.TicketTTL)
	m.mu.Lock()
	cur := m.byPlayer[t.Player.ID]
	switch {
	case err == nil && cur == t:
		t.seq, t.pooled = seq, true
	case err == nil:
		// Cancelled while being added.
		m.mu.Unlock()
		_ = s.Pool.Remove(ctx, t.ID)
		return nil
	case errors.Is(err, ErrBusy):
		if cur == t && t.team != nil {
			m.removeTeam(t.team, t.Player.ID)
		} else if cur == t {
			m.remove(t)
		}
		m.mu.Unlock()
		return ErrBusy
	default:
		m.log.Warn().Err(err).Str("player", t.Player.ID).Msg("queue a ticket in the shared pool; tried again")
	}
	m.mu.Unlock()
	return err
}

// Node is the node holding the connection of the ticket's player, as the
// shared pool says: "" for this node's own tickets (and always on a single
// node). A Starter seats a player of another node through that node.
func (t *Ticket) Node() string { return t.node }

func (t *Ticket) poolTicket(node string) PoolTicket {
	pt := PoolTicket{ID: t.ID, Player: t.Player, Mode: t.Mode, Category: t.Category, Lang: t.Lang, At: t.At, Seq: t.seq, Node: node}
	if e := t.team; e != nil {
		pt.Player.Rating = e.rating
		pt.Team = make([]TeamMember, len(e.tickets))
		for i, x := range e.tickets {
			pt.Team[i] = TeamMember{Player: x.Player, Node: x.node}
			if x.node == "" {
				pt.Team[i].Node = node
			}
		}
	}
	return pt
}

// processShared is Process for a shared matchmaker: the ordinary queues are
// decided from the whole pool, each match taken from it atomically; team
// queues are decided on the node as ever.
func (m *Matchmaker) processShared(ctx context.Context, now time.Time) {
	s := m.share
	m.syncPool(ctx)
	snap, err := s.Pool.Snapshot(ctx)
	if err != nil {
		m.log.Warn().Err(err).Msg("read the shared pool")
	}
	var groups, botted []group
	var expired []*Ticket
	m.mu.Lock()
	queues := map[string][]*Ticket{}
	teamQs := map[string][]*teamEntry{}
	for _, pt := range snap {
		if pt.Mode == ModeTeam {
			if e := m.pooledTeam(pt); e != nil {
				teamQs[e.key] = append(teamQs[e.key], e)
			}
			continue
		}
		var t *Ticket
		if pt.Node == s.Node {
			t = m.byPlayer[pt.Player.ID]
			if t == nil || t.ID != pt.ID || t.team != nil {
				continue // cancelled here; its removal is on its way
			}
		} else {
			t = &Ticket{ID: pt.ID, Player: pt.Player, Mode: pt.Mode, Category: pt.Category, Lang: pt.Lang, At: pt.At, seq: pt.Seq, node: pt.Node}
			t.Sink = &remoteSink{m: m, node: pt.Node, ticket: pt.ID, player: pt.Player.ID}
		}
		if Size(t.Mode) == 0 {
			continue
		}
		queues[t.queue()] = append(queues[t.queue()], t)
	}
	keys := make([]string, 0, len(queues))
	for k, q := range queues {
		keys = append(keys, k)
		sort.Slice(q, func(i, j int) bool {
			if !q[i].At.Equal(q[j].At) {
				return q[i].At.Before(q[j].At)
			}
			return q[i].seq < q[j].seq
		})
	}
	sort.Strings(keys)
	for _, key := range keys {
		q := queues[key]
		size := Size(q[0].Mode)
		taken := make([]bool, len(q))
		for _, run := range m.runs(q, size, now, taken) {
			groups = append(groups, group{mode: q[0].Mode, category: q[0].Category, tickets: run})
		}
		for i, t := range q {
			// A node times out, or fills with bots, only its own tickets.
			if taken[i] || t.node != "" || now.Sub(t.At) < m.cfg.MaxWait {
				continue
			}
			if m.cfg.BotFill {
				run := []*Ticket{t}
				for len(run) < size {
					run = append(run, m.bot(t))
				}
				botted = append(botted, group{mode: t.Mode, category: t.Category, tickets: run})
				continue
			}
			expired = append(expired, t)
		}
	}
	teams, teamExpired := m.decideSharedTeams(teamQs, now)
	m.mu.Unlock()

	var timedOut []*Ticket
	for _, t := range expired {
		if m.takeShared(ctx, group{tickets: []*Ticket{t}}) {
			timedOut = append(timedOut, t)
		}
	}
	for _, e := range teamExpired {
		if m.takeTeams(ctx, group{tickets: e.tickets}) {
			timedOut = append(timedOut, e.tickets...)
		}
	}
	for _, t := range timedOut {
		if t.Sink != nil {
			t.Sink.Send(protocol.NewFrame(protocol.Encode("match.timeout", "", protocol.TicketOnly{Ticket: t.ID})))
		}
	}
	for _, g := range append(groups, botted...) {
		if m.takeShared(ctx, g) {
			m.start(ctx, g)
		}
	}
	for _, g := range teams {
		if m.takeTeams(ctx, g) {
			m.start(ctx, g)
		}
	}
}

// reserve marks the players of groups as starting. The caller holds mu.
func (m *Matchmaker) reserve(groups []group) {
	for _, g := range groups {
		for _, t := range g.tickets {
			if !t.Bot && t.node == "" {
				m.playing[t.Player.ID] = "" // reserved until the room id is known
				m.starting[t.Player.ID] = t
			}
		}
	}
}

// takeShared takes g's tickets from the pool. If it wins them, this node's
// tickets leave its queues and are reserved as starting (a player who
// cancelled meanwhile is marked gone: start then does not start the match
// and puts the others back, as on a single node).
func (m *Matchmaker) takeShared(ctx context.Context, g group) bool {
	var ids []string
	for _, t := range g.tickets {
		if !t.Bot {
			ids = append(ids, t.ID)
		}
	}
	ok, err := m.share.Pool.Take(ctx, ids, m.share.TakenHold)
	if err != nil {
		m.log.Warn().Err(err).Msg("take a match from the shared pool; tried again")
	}
	if !ok || err != nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range g.tickets {
		if t.Bot || t.node != "" {
			continue
		}
		if m.byPlayer[t.Player.ID] == t {
			m.remove(t)
		} else {
			t.gone = true
		}
	}
	if len(g.tickets) > 1 || g.tickets[0].Bot {
		m.reserve([]group{g})
	}
	return true
}

// requeueShared puts a group that could not start back in the pool, but for
// busy (playing elsewhere, already told so) and this node's players who
// left meanwhile.
func (m *Matchmaker) requeueShared(ctx context.Context, g group, busy string) {
	var back []string
	m.mu.Lock()
	for _, t := range g.tickets {
		if t.Bot {
			continue
		}
		if t.node != "" {
			if t.Player.ID == busy {
				// It stays taken in the pool until its node, told through
				// the relay, drops it.
				defer t.Sink.Send(protocol.NewFrame(protocol.ErrorMessage("", &protocol.Error{Code: protocol.CodeWrongPhase, Message: "already playing elsewhere"})))
			} else {
				back = append(back, t.ID)
			}
			continue
		}
		if m.starting[t.Player.ID] == t {
			delete(m.starting, t.Player.ID)
		}
		if m.playing[t.Player.ID] == "" {
			delete(m.playing, t.Player.ID)
		}
		if _, ok := m.byPlayer[t.Player.ID]; ok || t.gone {
			continue
		}
		if t.Player.ID == busy {
			if t.Sink != nil {
				defer t.Sink.Send(protocol.NewFrame(protocol.ErrorMessage("", &protocol.Error{Code: protocol.CodeWrongPhase, Message: "already playing elsewhere"})))
			}
			continue
		}
		t.pooled = true
		m.queues[t.queue()] = append(m.queues[t.queue()], t)
		m.byPlayer[t.Player.ID] = t
		back = append(back, t.ID)
	}
	m.mu.Unlock()
	if len(back) > 0 {
		if err := m.share.Pool.Return(ctx, back, m.share.TicketTTL); err != nil {
			m.log.Warn().Err(err).Msg("return a match's tickets to the shared pool")
		}
	}
}

// cancelledTicket is a pooled ticket of this node cancelled or left, kept
// for TakenHold in case another node took it just before.
type cancelledTicket struct {
	t  *Ticket
	at time.Time
}

// unpool takes this node's ticket t, just dropped from its queue, out of
// the pool. The caller holds mu; the returned func, called after unlocking,
// does the pool I/O.
func (m *Matchmaker) unpool(t *Ticket) func() {
	if m.share == nil || t.team != nil || !t.pooled {
		return func() {}
	}
	m.cancelled[t.ID] = cancelledTicket{t: t, at: m.clock.Now()}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.share.Pool.Remove(ctx, t.ID); err != nil {
			m.log.Warn().Err(err).Str("player", t.Player.ID).Msg("remove a cancelled ticket from the shared pool; it lapses")
		}
	}
}
