package match

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/protocol"
)

// ModeTeam is the team quick match: a party against another party of the
// same size. It is queued only through FindTeam, never through Find.
const ModeTeam = "team"

// Party sizes.
const (
	PartyMin = 2
	PartyMax = 5
)

// Team names in a team match room: the party that waited longer is A.
const (
	TeamA = "A"
	TeamB = "B"
)

// Party errors.
var (
	ErrNoParty     = errors.New("match: no such party")
	ErrInParty     = errors.New("match: already in a party")
	ErrPartyFull   = errors.New("match: the party is full")
	ErrNotLeader   = errors.New("match: only the party's leader may do that")
	ErrPartySize   = errors.New("match: a party needs 2 to 5 members to queue")
	ErrPartyLocked = errors.New("match: the party is queued or playing")
)

// Member is a party member and where its messages go.
type Member struct {
	Player protocol.PlayerInfo
	Sink   Sink
	// Node is the node holding the member's connection in a cluster: ""
	// for the party's own node (always on a single node).
	Node string
}

// Party is a group of friends who queue together. Members[0] leads.
type Party struct {
	ID      string
	Code    string
	Members []Member
}

// State is the party.state message for the party.
func (p *Party) State() protocol.PartyState {
	st := protocol.PartyState{Party: p.ID, Code: p.Code, Members: make([]protocol.PlayerInfo, len(p.Members))}
	for i, m := range p.Members {
		st.Members[i] = m.Player
	}
	if len(p.Members) > 0 {
		st.Leader = p.Members[0].Player.ID
	}
	return st
}

// Parties holds the parties of this node. Its methods are safe for
// concurrent use. The matchmaker is asked whether a party is queued or
// playing: such a party takes no new member.
type Parties struct {
	mm *Matchmaker // Static after construction.
	// playing, if set, reports whether a player is in a match room on any
	// node; set before use.
	playing func(player string) bool

	mu       sync.Mutex
	byID     map[string]*Party
	byCode   map[string]*Party
	ofPlayer map[string]*Party
}

// NewParties makes the party registry of a matchmaker.
func NewParties(mm *Matchmaker) *Parties {
	return &Parties{mm: mm, byID: map[string]*Party{}, byCode: map[string]*Party{}, ofPlayer: map[string]*Party{}}
}

// SetPlaying makes the registry ask fn too whether a member is playing: in
// a cluster the matchmaker knows only the matches of its own node. Call it
// before any other method.
func (ps *Parties) SetPlaying(fn func(player string) bool) { ps.playing = fn }

// codeAlphabet has no 0/O or 1/I, which are misread when a code is said
// aloud or copied.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewCode makes a random invite code.
func NewCode() string { return newCode() }

func newCode() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b[:])
}

// Create makes a party led by p. The caller pushes its state.
func (ps *Parties) Create(p protocol.PlayerInfo, sink Sink) (*Party, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.ofPlayer[p.ID]; ok {
		return nil, ErrInParty
	}
	code := newCode()
	for ps.byCode[code] != nil {
		code = newCode()
	}
	pt := &Party{ID: "p-" + uuid.NewString(), Code: code, Members: []Member{{Player: p, Sink: sink}}}
	ps.byID[pt.ID], ps.byCode[code], ps.ofPlayer[p.ID] = pt, pt, pt
	return pt, nil
}

// ErrCodeTaken is returned by CreateCode for a code already in use here.
var ErrCodeTaken = errors.New("match: the invite code is in use")

// CreateCode is Create with the invite code given: in a cluster the code
// is first reserved across the nodes.
func (ps *Parties) CreateCode(p protocol.PlayerInfo, sink Sink, code string) (*Party, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.ofPlayer[p.ID]; ok {
		return nil, ErrInParty
	}
	if ps.byCode[code] != nil {
		return nil, ErrCodeTaken
	}
	pt := &Party{ID: "p-" + uuid.NewString(), Code: code, Members: []Member{{Player: p, Sink: sink}}}
	ps.byID[pt.ID], ps.byCode[code], ps.ofPlayer[p.ID] = pt, pt, pt
	cp := *pt
	cp.Members = append([]Member(nil), pt.Members...)
	return &cp, nil
}

// Roster lists the parties here: each invite code with its members' ids.
func (ps *Parties) Roster() map[string][]string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string][]string, len(ps.byCode))
	for c, pt := range ps.byCode {
		ids := make([]string, len(pt.Members))
		for i, m := range pt.Members {
			ids[i] = m.Player.ID
		}
		out[c] = ids
	}
	return out
}

// Where returns the node holding the connection of player, a member of a
// party here ("" for this node), and whether it is one.
func (ps *Parties) Where(player string) (string, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	pt, ok := ps.ofPlayer[player]
	if !ok {
		return "", false
	}
	for _, m := range pt.Members {
		if m.Player.ID == player {
			return m.Node, true
		}
	}
	return "", false
}

// Move records that the connection of player, a member of a party here,
// is now on node ("" for this node), reached through sink; so is its
// ticket, if the party is queued. It returns the party and whether the
// member was elsewhere before (nil, false if player is in no party here).
func (ps *Parties) Move(player, node string, sink Sink) (*Party, bool) {
	ps.mu.Lock()
	pt, ok := ps.ofPlayer[player]
	if !ok {
		ps.mu.Unlock()
		return nil, false
	}
	moved := false
	for i, m := range pt.Members {
		if m.Player.ID == player {
			moved = m.Node != node
			pt.Members[i].Node, pt.Members[i].Sink = node, sink
		}
	}
	cp := *pt
	cp.Members = append([]Member(nil), pt.Members...)
	ps.mu.Unlock()
	ps.mm.reroute(player, node, sink)
	return &cp, moved
}

// reroute points a queued party member's ticket at its connection's new
// node and sink. A party in the shared pool is taken out of it, to be put
// back with its members' nodes as they are now on the next tick.
func (m *Matchmaker) reroute(player, node string, sink Sink) {
	m.mu.Lock()
	t, ok := m.byPlayer[player]
	if !ok || t.team == nil {
		m.mu.Unlock()
		return
	}
	lead := t.team.tickets[0]
	repool := m.share != nil && lead.pooled && t.node != node
	if repool {
		lead.pooled = false
	}
	t.node, t.Sink = node, sink
	m.mu.Unlock()
	if repool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.share.Pool.Remove(ctx, lead.ID); err != nil {
			m.log.Warn().Err(err).Str("player", player).Msg("take a party out of the shared pool to put it back")
		}
	}
}

// Join adds p to the party with the invite code. It refuses an unknown
// code, a full party, a queued or playing party, and a player in a party.
func (ps *Parties) Join(code string, p protocol.PlayerInfo, sink Sink) (*Party, error) {
	return ps.JoinMember(code, Member{Player: p, Sink: sink})
}

// JoinMember is Join for a member whose connection may be on another
// node of a cluster (mb.Node), reached through mb.Sink.
func (ps *Parties) JoinMember(code string, mb Member) (*Party, error) {
	p := mb.Player
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.ofPlayer[p.ID]; ok {
		return nil, ErrInParty
	}
	pt, ok := ps.byCode[code]
	if !ok {
		return nil, ErrNoParty
	}
	if len(pt.Members) >= PartyMax {
		return nil, ErrPartyFull
	}
	if ps.busy(pt) {
		return nil, ErrPartyLocked
	}
	pt.Members = append(pt.Members, mb)
	ps.ofPlayer[p.ID] = pt
	cp := *pt
	cp.Members = append([]Member(nil), pt.Members...)
	return &cp, nil
}

// busy reports whether any member is queued or in a match room.
func (ps *Parties) busy(pt *Party) bool {
	for _, m := range pt.Members {
		if _, ok := ps.mm.Queued(m.Player.ID); ok {
			return true
		}
		if _, ok := ps.mm.Playing(m.Player.ID); ok {
			return true
		}
	}
	if ps.playing != nil {
		for _, m := range pt.Members {
			if ps.playing(m.Player.ID) {
				return true
			}
		}
	}
	return false
}

// Leave takes player out of its party and returns the party as it is now
// (nil when it emptied and was dissolved) and whether the player was in
// one. If the party was queued, the matchmaker takes it out of the queue
// (its members are told match.cancelled). A leader who leaves hands the
// lead to the next member.
func (ps *Parties) Leave(player string) (*Party, bool) {
	ps.mu.Lock()
	pt, ok := ps.ofPlayer[player]
	if !ok {
		ps.mu.Unlock()
		return nil, false
	}
	delete(ps.ofPlayer, player)
	for i, m := range pt.Members {
		if m.Player.ID == player {
			pt.Members = append(pt.Members[:i:i], pt.Members[i+1:]...)
			break
		}
	}
	if len(pt.Members) == 0 {
		delete(ps.byID, pt.ID)
		delete(ps.byCode, pt.Code)
		pt = nil
	}
	ps.mu.Unlock()
	ps.mm.Leave(player)
	return pt, true
}

// Of returns a copy of the party of player.
func (ps *Parties) Of(player string) (*Party, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	pt, ok := ps.ofPlayer[player]
	if !ok {
		return nil, false
	}
	cp := *pt
	cp.Members = append([]Member(nil), pt.Members...)
	return &cp, true
}

// Queue puts player's party in the team queue; only the leader may, with
// 2 to 5 members, none of them queued or playing. rating, if not nil,
// gives each member's current rating (it changes after every match).
func (ps *Parties) Queue(player, category, lang string, rating func(id string) (float64, bool)) (*Ticket, *Party, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	pt, ok := ps.ofPlayer[player]
	if !ok {
		return nil, nil, ErrNoParty
	}
	if pt.Members[0].Player.ID != player {
		return nil, nil, ErrNotLeader
	}
	if len(pt.Members) < PartyMin {
		return nil, nil, ErrPartySize
	}
	if ps.playing != nil {
		for _, m := range pt.Members {
			if ps.playing(m.Player.ID) {
				return nil, nil, ErrBusy
			}
		}
	}
	if rating != nil {
		for i := range pt.Members {
			if r, ok := rating(pt.Members[i].Player.ID); ok {
				pt.Members[i].Player.Rating = r
			}
		}
	}
	t, err := ps.mm.findTeam(pt, category, lang)
	if err != nil {
		return nil, nil, err
	}
	cp := *pt
	cp.Members = append([]Member(nil), pt.Members...)
	return t, &cp, nil
}

// teamEntry is a queued party: one ticket per member, all with one id.
type teamEntry struct {
	party   string
	tickets []*Ticket
	rating  float64 // the members' mean
	at      time.Time
	key     string
	// home is the node whose party this is when another node's party was
	// read from the shared pool; "" for this node's.
	home string
}

func (e *teamEntry) queue() string { return e.key }

// findTeam queues a party. The caller holds the party registry's lock.
func (m *Matchmaker) findTeam(pt *Party, category, lang string) (*Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mb := range pt.Members {
		if _, ok := m.byPlayer[mb.Player.ID]; ok {
			return nil, ErrBusy
		}
		if _, ok := m.playing[mb.Player.ID]; ok {
			return nil, ErrBusy
		}
		if _, ok := m.offerOf[mb.Player.ID]; ok {
			return nil, ErrBusy
		}
	}
	now := m.clock.Now()
	id := "t-" + uuid.NewString()
	e := &teamEntry{party: pt.ID, at: now}
	e.key = ModeTeam + "/" + itoa(len(pt.Members)) + "/" + category + "/" + lang
	sum := 0.0
	for _, mb := range pt.Members {
		p := mb.Player
		if p.Rating == 0 {
			p.Rating = 1500
		}
		sum += p.Rating
		t := &Ticket{ID: id, Player: p, Mode: ModeTeam, Category: category, Lang: lang, At: now, Sink: mb.Sink, team: e, node: mb.Node}
		e.tickets = append(e.tickets, t)
	}
	e.rating = sum / float64(len(pt.Members))
	if m.teams == nil {
		m.teams = map[string][]*teamEntry{}
	}
	m.teams[e.key] = append(m.teams[e.key], e)
	for _, t := range e.tickets {
		m.byPlayer[t.Player.ID] = t
	}
	return e.tickets[0], nil
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// removeTeam drops a queued party and tells its members, but not the one
// who asked (who gets the reply), match.cancelled. The caller holds mu.
func (m *Matchmaker) removeTeam(e *teamEntry, asker string) {
	m.unlinkTeam(e)
	for _, t := range e.tickets {
		if t.Player.ID != asker && t.Sink != nil {
			t.Sink.Send(protocol.NewFrame(protocol.Encode("match.cancelled", "", protocol.TicketOnly{Ticket: t.ID})))
		}
	}
}

// unlinkTeam takes a queued party out of its queue and its members out of
// byPlayer, telling nobody, and reports whether it was queued. The caller
// holds mu.
func (m *Matchmaker) unlinkTeam(e *teamEntry) bool {
	q := m.teams[e.key]
	found := false
	for i, x := range q {
		if x == e {
			m.teams[e.key] = append(q[:i:i], q[i+1:]...)
			found = true
			break
		}
	}
	if len(m.teams[e.key]) == 0 {
		delete(m.teams, e.key)
	}
	if !found {
		return false
	}
	for _, t := range e.tickets {
		if m.byPlayer[t.Player.ID] == t {
			delete(m.byPlayer, t.Player.ID)
		}
	}
	return true
}

// decideTeams pairs queued parties of each queue (one size, category and
// language) and times out those that waited MaxWait. The party that waited
// longest is served first, against the party whose mean rating is nearest
// its own within both parties' windows. The caller holds mu.
func (m *Matchmaker) decideTeams(now time.Time) ([]group, []*Ticket) {
	var groups []group
	var expired []*Ticket
	keys := make([]string, 0, len(m.teams))
	for k := range m.teams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		q := m.teams[key] // in order of arrival
		taken := make([]bool, len(q))
		groups = append(groups, m.pairTeams(q, now, taken)...)
		rest := q[:0:0]
		for i, e := range q {
			if !taken[i] && now.Sub(e.at) >= m.cfg.MaxWait {
				taken[i] = true
				expired = append(expired, e.tickets...)
			}
			if taken[i] {
				for _, t := range e.tickets {
					delete(m.byPlayer, t.Player.ID)
				}
			} else {
				rest = append(rest, e)
			}
		}
		if len(rest) == 0 {
			delete(m.teams, key)
		} else {
			m.teams[key] = rest
		}
	}
	return groups, expired
}

// pairTeams pairs the parties of one queue (q, in order of arrival): the
// party that waited longest first, against the party whose mean rating is
// nearest its own within both parties' windows. It marks taken[i] for each
// party q[i] it pairs.
func (m *Matchmaker) pairTeams(q []*teamEntry, now time.Time, taken []bool) []group {
	var groups []group
	for i, a := range q {
		if taken[i] {
			continue
		}
		wa := m.windowAt(a.at, now)
		best, bestGap := -1, math.Inf(1)
		for j := i + 1; j < len(q); j++ {
			if taken[j] {
				continue
			}
			b := q[j]
			gap := math.Abs(a.rating - b.rating)
			if gap <= wa && gap <= m.windowAt(b.at, now) && gap < bestGap {
				best, bestGap = j, gap
			}
		}
		if best < 0 {
			continue
		}
		taken[i], taken[best] = true, true
		b := q[best]
		var ts []*Ticket
		for _, t := range a.tickets {
			t.Player.Team = TeamA
			ts = append(ts, t)
		}
		for _, t := range b.tickets {
			t.Player.Team = TeamB
			ts = append(ts, t)
		}
		groups = append(groups, group{mode: ModeTeam, category: a.tickets[0].Category, tickets: ts})
	}
	return groups
}

// windowAt is the rating gap accepted after waiting since at.
func (m *Matchmaker) windowAt(at, now time.Time) float64 {
	return math.Min(m.cfg.Window+m.cfg.WidenPerSecond*now.Sub(at).Seconds(), m.cfg.MaxWindow)
}

// dropTeams ends a team match that could not be claimed: its parties are
// not put back (a member may be playing elsewhere); each member still
// there is told to queue again. The caller holds mu.
func (m *Matchmaker) dropTeams(g group, busy string) {
	for _, t := range g.tickets {
		if m.starting[t.Player.ID] == t {
			delete(m.starting, t.Player.ID)
		}
		if m.playing[t.Player.ID] == "" {
			delete(m.playing, t.Player.ID)
		}
		if t.gone || t.Sink == nil {
			continue
		}
		msg := "could not start the team match; the leader may queue again"
		if t.Player.ID == busy {
			msg = "already playing elsewhere"
		}
		t.Sink.Send(protocol.NewFrame(protocol.ErrorMessage("", &protocol.Error{Code: protocol.CodeUnavailable, Message: msg})))
	}
}
