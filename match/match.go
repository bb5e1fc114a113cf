// Package match runs quick-match queues: players ask for a duel or a
// four-player race, and the matchmaker groups them by rating, widening the
// acceptable rating gap the longer they wait, and hands each group to a
// Starter that opens their room. It also keeps ratings and awards profile
// points when a match ends.
package match

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
)

// Modes and their room sizes.
const (
	ModeDuel = "duel"
	ModeFour = "four"
)

// Size returns the number of players a mode seats, or 0 for an unknown mode.
func Size(mode string) int {
	switch mode {
	case ModeDuel:
		return 2
	case ModeFour:
		return 4
	}
	return 0
}

// Sentinel errors.
var (
	ErrBusy      = errors.New("match: already queued or playing")
	ErrNoTicket  = errors.New("match: no such ticket")
	ErrBadMode   = errors.New("match: unknown mode")
	ErrNotQueued = errors.New("match: not queued")
)

// Sink receives a queued player's messages (match.found, match.timeout).
type Sink interface {
	Send(f *protocol.Frame) bool
}

// Ticket is one player's place in a queue.
type Ticket struct {
	ID       string
	Player   protocol.PlayerInfo
	Mode     string
	Category string
	At       time.Time // when it joined the queue
	Sink     Sink
	Bot      bool

	// gone is set (under the matchmaker's lock) when the player cancelled
	// or left while its match was starting: it is not put back in a queue.
	gone bool

	// Lang is the language of the questions the player wants ("" = the
	// default, Chinese). Players are matched only within one language.
	Lang string

	// team is the queued party of a team match ticket, nil for the others.
	team *teamEntry

	// For a shared matchmaker (see Share): seq is the ticket's number in
	// the pool, pooled whether it is there, node the node holding another
	// node's ticket ("" for this node's).
	seq    int64
	pooled bool
	node   string
}

// queue is the key of the ticket's queue: players wait with those who want
// the same mode, category and language.
func (t *Ticket) queue() string { return t.Mode + "/" + t.Category + "/" + t.Lang }

// Starter opens the room of a match under the id the matchmaker chose
// (the players have already been sent match.found with it). It is called
// from the matchmaker's goroutine and must not call back into the
// matchmaker's locked methods.
type Starter interface {
	StartMatch(ctx context.Context, room, mode, category string, tickets []*Ticket) error
}

// Claims records which room a player is in where every node can see it, so
// a player is never in two match rooms even across nodes. cluster.Bus
// implements it.
type Claims interface {
	Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key, owner string) error
}

// claimTTL bounds a player's claim on a match room should its release be
// lost (a node dying); a match lasts minutes.
const claimTTL = 2 * time.Hour

func claimKey(player string) string { return "player:" + player }

// ClaimKey is the key of the claim a player in a match room holds on the
// Bus, its owner the room.
func ClaimKey(player string) string { return claimKey(player) }

// Config tunes matchmaking. Zero values mean the defaults.
type Config struct {
	// Tick is how often the queues are processed; default 250 ms.
	Tick time.Duration
	// MaxWait is how long a player waits before match.timeout; default 30 s.
	MaxWait time.Duration
	// BotFill fills a match with bots instead of timing out.
	BotFill bool
	// Window is the rating gap accepted at once (default 100); it widens by
	// WidenPerSecond (default 20) for every second waited, up to MaxWindow
	// (default 800).
	Window, WidenPerSecond, MaxWindow float64
	// RematchWindow is how long the other players have to accept a
	// rematch; default 20 s.
	RematchWindow time.Duration
	// RematchKeep is how long after a match ends a rematch may be asked
	// for; default 2 min.
	RematchKeep time.Duration
}

func (c *Config) defaults() {
	if c.Tick <= 0 {
		c.Tick = 250 * time.Millisecond
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 30 * time.Second
	}
	if c.Window <= 0 {
		c.Window = 100
	}
	if c.WidenPerSecond <= 0 {
		c.WidenPerSecond = 20
	}
	if c.MaxWindow <= 0 {
		c.MaxWindow = 800
	}
	if c.RematchWindow <= 0 {
		c.RematchWindow = 20 * time.Second
	}
	if c.RematchKeep <= 0 {
		c.RematchKeep = 2 * time.Minute
	}
}

// Matchmaker holds the queues. Its methods are safe for concurrent use.
type Matchmaker struct {
	cfg     Config      // Static after construction.
	clock   clock.Clock // Static after construction.
	starter Starter     // Static after construction.
	claims  Claims      // Static after construction.
	log     zerolog.Logger

	// mu guards the following fields.
	mu       sync.Mutex
	queues   map[string][]*Ticket // by Ticket.queue
	byPlayer map[string]*Ticket   // queued players
	starting map[string]*Ticket   // tickets taken from a queue, their match not yet started
	playing  map[string]string    // player id -> room id
	matched  int64
	past     map[string]*pastMatch   // match rooms by id, for rematches
	offerOf  map[string]*pastMatch   // players of a pending rematch offer
	teams    map[string][]*teamEntry // queued parties by size, category, language

	share     *Sharing                   // nil on a single node; set before Run
	cancelled map[string]cancelledTicket // pooled tickets cancelled here, by id
	teamsOut  map[string]teamOut         // pooled parties of this node taken or cancelled, by ticket id
}

// New makes a matchmaker.
func New(cfg Config, clk clock.Clock, starter Starter, claims Claims, log zerolog.Logger) *Matchmaker {
	cfg.defaults()
	if clk == nil {
		clk = clock.Real{}
	}
	return &Matchmaker{
		cfg: cfg, clock: clk, starter: starter, claims: claims, log: log,
		queues: map[string][]*Ticket{}, byPlayer: map[string]*Ticket{}, starting: map[string]*Ticket{}, playing: map[string]string{},
		past: map[string]*pastMatch{}, offerOf: map[string]*pastMatch{}, cancelled: map[string]cancelledTicket{},
		teamsOut: map[string]teamOut{},
	}
}

// Find queues a player for questions in the default language. It fails
// with ErrBusy if the player is queued or in a match room already.
func (m *Matchmaker) Find(p protocol.PlayerInfo, mode, category string, sink Sink) (*Ticket, error) {
	return m.FindLang(p, mode, category, "", sink)
}

// FindLang is Find for questions in lang: the player is matched only with
// players who asked for the same language.
func (m *Matchmaker) FindLang(p protocol.PlayerInfo, mode, category, lang string, sink Sink) (*Ticket, error) {
	if Size(mode) == 0 {
		return nil, fmt.Errorf("%w %q", ErrBadMode, mode)
	}
	if p.Rating == 0 {
		p.Rating = 1500
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byPlayer[p.ID]; ok {
		return nil, ErrBusy
	}
	if _, ok := m.playing[p.ID]; ok {
		return nil, ErrBusy
	}
	if pm, ok := m.offerOf[p.ID]; ok {
		if pm.offer.accepted[p.ID] {
			return nil, ErrBusy // waiting for the others to accept
		}
		m.failOffer(pm, ReasonLeft) // an invited player chose a new match instead
	}
	t := &Ticket{ID: "t-" + uuid.NewString(), Player: p, Mode: mode, Category: category, Lang: lang, At: m.clock.Now(), Sink: sink}
	key := t.queue()
	m.queues[key] = append(m.queues[key], t)
	m.byPlayer[p.ID] = t
	if m.share == nil {
		return t, nil
	}
	m.mu.Unlock()
	defer m.mu.Lock()
	// Shared: the ticket is in every node's queue at once. Should the pool
	// be out of reach, it stays queued here and the next tick adds it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.publish(ctx, t); errors.Is(err, ErrBusy) {
		return nil, ErrBusy
	}
	return t, nil
}

// Cancel takes a player's ticket out of its queue.
func (m *Matchmaker) Cancel(player, ticket string) error {
	m.mu.Lock()
	if t, ok := m.starting[player]; ok && (ticket == "" || t.ID == ticket) {
		t.gone = true // its match is being started; it is not requeued
		m.mu.Unlock()
		return nil
	}
	t, ok := m.byPlayer[player]
	if !ok || (ticket != "" && t.ID != ticket) {
		m.mu.Unlock()
		return ErrNoTicket
	}
	if t.team != nil {
		m.removeTeam(t.team, player) // any member cancels the whole party
		unpool := m.unpoolTeam(t.team)
		m.mu.Unlock()
		unpool()
		return nil
	}
	m.remove(t)
	unpool := m.unpool(t)
	m.mu.Unlock()
	unpool()
	return nil
}

// Leave takes the player out of any queue (its connection is gone for good).
func (m *Matchmaker) Leave(player string) {
	unpool := func() {}
	m.mu.Lock()
	if t, ok := m.starting[player]; ok {
		t.gone = true
	}
	if t, ok := m.byPlayer[player]; ok {
		if t.team != nil {
			m.removeTeam(t.team, player)
			unpool = m.unpoolTeam(t.team)
		} else {
			m.remove(t)
			unpool = m.unpool(t)
		}
	}
	if pm, ok := m.offerOf[player]; ok {
		m.failOffer(pm, ReasonLeft)
	}
	m.mu.Unlock()
	unpool()
}

// remove drops t from its queue. The caller holds mu.
func (m *Matchmaker) remove(t *Ticket) {
	key := t.queue()
	q := m.queues[key]
	for i, x := range q {
		if x == t {
			m.queues[key] = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(m.queues[key]) == 0 {
		delete(m.queues, key)
	}
	delete(m.byPlayer, t.Player.ID)
}

// Queued reports the ticket of a queued player.
func (m *Matchmaker) Queued(player string) (*Ticket, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byPlayer[player]
	return t, ok
}

// Playing reports the match room a player is in.
func (m *Matchmaker) Playing(player string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.playing[player]
	return r, ok
}

// Release marks the players of a finished match room free again.
func (m *Matchmaker) Release(ctx context.Context, room string, players []string) {
	m.mu.Lock()
	for _, p := range players {
		if m.playing[p] == room {
			delete(m.playing, p)
		}
	}
	if pm, ok := m.past[room]; ok && pm.endedAt.IsZero() {
		pm.endedAt = m.clock.Now()
	}
	m.mu.Unlock()
	for _, p := range players {
		if err := m.claims.Release(ctx, claimKey(p), room); err != nil {
			m.log.Warn().Err(err).Str("player", p).Msg("release claim")
		}
	}
}

// Occupy marks players as playing in room, as after a restart that rebuilt
// the room: they may not queue again until it finishes and Release frees
// them.
func (m *Matchmaker) Occupy(ctx context.Context, room string, players []string) {
	m.mu.Lock()
	for _, p := range players {
		m.playing[p] = room
	}
	m.mu.Unlock()
	for _, p := range players {
		if _, err := m.claims.Claim(ctx, claimKey(p), room, claimTTL); err != nil {
			m.log.Warn().Err(err).Str("player", p).Msg("claim restored player")
		}
	}
}

// claim takes every human player's claim on room; on any failure it gives
// back what it took. A player already elsewhere is named with ErrBusy; a
// Bus error is returned as it is, naming nobody, since it says nothing
// about where the player is.
func (m *Matchmaker) claim(ctx context.Context, room string, g group) (string, error) {
	var took []string
	for _, t := range g.tickets {
		if t.Bot {
			continue
		}
		ok, err := m.claims.Claim(ctx, claimKey(t.Player.ID), room, claimTTL)
		if err != nil || !ok {
			for _, p := range took {
				_ = m.claims.Release(ctx, claimKey(p), room)
			}
			if err != nil {
				return "", err
			}
			return t.Player.ID, ErrBusy
		}
		took = append(took, t.Player.ID)
	}
	return "", nil
}

// Matched counts the matches made so far.
func (m *Matchmaker) Matched() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.matched
}

// Run processes the queues every Tick until ctx ends. Runs in its own
// goroutine.
func (m *Matchmaker) Run(ctx context.Context) error {
	t := m.clock.NewTicker(m.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			m.Process(ctx)
		}
	}
}

// group is a match decided under the lock, started after it.
type group struct {
	mode, category string
	tickets        []*Ticket
}

// Process forms every match it can now, times out the tickets that waited
// too long, and starts the rooms. Tests call it directly.
func (m *Matchmaker) Process(ctx context.Context) {
	m.expireRematches(m.clock.Now())
	if m.share != nil {
		m.processShared(ctx, m.clock.Now())
		return
	}
	groups, expired := m.decide(m.clock.Now())
	for _, t := range expired {
		t.Sink.Send(protocol.NewFrame(protocol.Encode("match.timeout", "", protocol.TicketOnly{Ticket: t.ID})))
	}
	m.startAll(ctx, groups)
}

// startConcurrency bounds the matches one tick starts at once.
const startConcurrency = 64

// startAll starts a tick's groups side by side, at most startConcurrency
// at a time, and returns once every one has started. Each start draws its
// questions and writes its room's header; started one after the other, a
// tick's matches waited for each other's writes, while side by side the
// store commits the headers written at once in one transaction. Groups
// share no player, so their starts are independent.
func (m *Matchmaker) startAll(ctx context.Context, groups []group) {
	if len(groups) == 1 {
		m.start(ctx, groups[0])
		return
	}
	sem := make(chan struct{}, startConcurrency)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m.start(ctx, g)
		}()
	}
	wg.Wait()
}

// window is the rating gap a ticket accepts after waiting.
func (m *Matchmaker) window(t *Ticket, now time.Time) float64 {
	w := m.cfg.Window + m.cfg.WidenPerSecond*now.Sub(t.At).Seconds()
	return math.Min(w, m.cfg.MaxWindow)
}

// decide picks the groups to start and the tickets to time out, removing
// them all from the queues. Within a queue, tickets are sorted by rating and
// a group is a run of consecutive tickets whose rating spread fits in every
// member's window; the longest-waiting ticket is served first.
func (m *Matchmaker) decide(now time.Time) ([]group, []*Ticket) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var groups []group
	var expired []*Ticket
	keys := make([]string, 0, len(m.queues))
	for k := range m.queues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		q := m.queues[key]
		if len(q) == 0 {
			continue
		}
		size := Size(q[0].Mode)
		taken := make([]bool, len(q))
		for _, run := range m.runs(q, size, now, taken) {
			groups = append(groups, group{mode: q[0].Mode, category: q[0].Category, tickets: run})
		}
		for i, t := range q {
			if taken[i] || now.Sub(t.At) < m.cfg.MaxWait {
				continue
			}
			taken[i] = true
			if m.cfg.BotFill {
				run := []*Ticket{t}
				for len(run) < size {
					run = append(run, m.bot(t))
				}
				groups = append(groups, group{mode: t.Mode, category: t.Category, tickets: run})
				continue
			}
			expired = append(expired, t)
		}
		// Keep the rest in order of arrival, in one pass.
		rest := q[:0:0]
		for i, t := range q {
			if taken[i] {
				delete(m.byPlayer, t.Player.ID)
			} else {
				rest = append(rest, t)
			}
		}
		if len(rest) == 0 {
			delete(m.queues, key)
		} else {
			m.queues[key] = rest
		}
	}
	tg, te := m.decideTeams(now)
	groups, expired = append(groups, tg...), append(expired, te...)
	for _, g := range groups {
		for _, t := range g.tickets {
			if !t.Bot {
				m.playing[t.Player.ID] = "" // reserved until the room id is known
				m.starting[t.Player.ID] = t
			}
		}
	}
	return groups, expired
}

// runs serves the tickets of one queue (q, in order of arrival) oldest
// first: each untaken ticket takes the run of size untaken neighbours by
// rating that includes it, has the smallest rating spread, and fits every
// member's window (of equal spreads, the lowest-rated run). It marks
// taken[i] for every ticket q[i] it places.
//
// The untaken tickets are kept in rating order as a doubly linked list, so
// a ticket's neighbours are found, and a run taken out, in O(size) steps:
// O(n log n) in all, for the sort.
func (m *Matchmaker) runs(q []*Ticket, size int, now time.Time, taken []bool) [][]*Ticket {
	n := len(q)
	if n < size {
		return nil
	}
	// byRating[k] is the arrival index of the k-th ticket by rating (ties
	// in order of arrival); at[i] is where q[i] stands in it.
	byRating := make([]int32, n)
	for i := range byRating {
		byRating[i] = int32(i)
	}
	sort.SliceStable(byRating, func(a, b int) bool { return q[byRating[a]].Player.Rating < q[byRating[b]].Player.Rating })
	at := make([]int32, n)
	prev := make([]int32, n) // by rating position; -1 ends the list
	next := make([]int32, n) // by rating position; n ends the list
	for k, i := range byRating {
		at[i] = int32(k)
		prev[k], next[k] = int32(k-1), int32(k+1)
	}
	windows := make([]float64, n) // by arrival index
	for i, t := range q {
		windows[i] = m.window(t, now)
	}
	var out [][]*Ticket
	seg := make([]int32, 0, 2*size-1) // rating positions around a ticket
	for i := range q {
		if taken[i] {
			continue
		}
		// The untaken neighbours within size-1 places each side, lowest
		// rating first: every run of size that includes q[i] lies in seg.
		k := at[i]
		seg = seg[:0]
		for p, j := prev[k], 1; p >= 0 && j < size; p, j = prev[p], j+1 {
			seg = append(seg, p)
		}
		slices.Reverse(seg)
		pos := len(seg)
		seg = append(seg, k)
		for p, j := next[k], 1; p < int32(n) && j < size; p, j = next[p], j+1 {
			seg = append(seg, p)
		}
		best, bestSpread := -1, math.Inf(1)
		for lo := max(0, pos-size+1); lo <= pos && lo+size <= len(seg); lo++ {
			run := seg[lo : lo+size]
			spread := q[byRating[run[size-1]]].Player.Rating - q[byRating[run[0]]].Player.Rating
			ok := true
			for _, p := range run {
				if spread > windows[byRating[p]] {
					ok = false
					break
				}
			}
			if ok && spread < bestSpread {
				best, bestSpread = lo, spread
			}
		}
		if best < 0 {
			continue
		}
		run := make([]*Ticket, size)
		for j, p := range seg[best : best+size] {
			a := byRating[p]
			run[j] = q[a]
			taken[a] = true
			// Unlink p.
			if prev[p] >= 0 {
				next[prev[p]] = next[p]
			}
			if next[p] < int32(n) {
				prev[next[p]] = prev[p]
			}
		}
		out = append(out, run)
	}
	return out
}

// bot makes a bot ticket to fill t's match, at t's rating.
func (m *Matchmaker) bot(t *Ticket) *Ticket {
	id := botPrefix + uuid.NewString()[:8]
	return &Ticket{ID: "t-" + id, Player: protocol.PlayerInfo{ID: id, Name: "Bot " + id[len(botPrefix):], Rating: t.Player.Rating}, Mode: t.Mode, Category: t.Category, Lang: t.Lang, At: t.At, Bot: true}
}

// start tells a group's players their room, then opens it, so match.found
// reaches each player before anything the room sends.
func (m *Matchmaker) start(ctx context.Context, g group) {
	roomID := "r-" + uuid.NewString()
	if who, err := m.claim(ctx, roomID, g); err != nil {
		if who == "" {
			m.log.Warn().Err(err).Str("mode", g.mode).Msg("claim players; the match is tried again")
		}
		if m.share != nil && g.mode != ModeTeam {
			m.requeueShared(ctx, g, who)
		} else {
			m.requeue(g, who)
		}
		return
	}
	m.mu.Lock()
	for _, t := range g.tickets {
		if !t.Bot && m.starting[t.Player.ID] == t {
			delete(m.starting, t.Player.ID)
		}
	}
	m.mu.Unlock()
	players := make([]protocol.PlayerInfo, len(g.tickets))
	for i, t := range g.tickets {
		players[i] = t.Player
	}
	for _, t := range g.tickets {
		if t.Sink != nil {
			t.Sink.Send(protocol.NewFrame(protocol.Encode("match.found", "", protocol.MatchFound{Ticket: t.ID, Room: roomID, Mode: g.mode, Players: players})))
		}
	}
	err := m.starter.StartMatch(ctx, roomID, g.mode, g.category, g.tickets)
	m.mu.Lock()
	for _, t := range g.tickets {
		if t.Bot {
			continue
		}
		if err != nil {
			delete(m.playing, t.Player.ID)
		} else if _, ok := m.playing[t.Player.ID]; ok {
			m.playing[t.Player.ID] = roomID
		}
	}
	if err == nil {
		m.matched++
		if g.mode != ModeTeam {
			m.remember(roomID, g) // team matches have no rematch
		}
	}
	m.mu.Unlock()
	if err == nil && m.share != nil && g.mode != ModeTeam {
		// Players of other nodes ask for a rematch there: their node finds
		// this one by the room.
		if _, cerr := m.claims.Claim(ctx, RematchKey(roomID), m.share.Node, claimTTL); cerr != nil {
			m.log.Warn().Err(cerr).Str("room", roomID).Msg("record where a match's rematch is asked for")
		}
	}
	if err != nil {
		var ps []string
		for _, t := range g.tickets {
			ps = append(ps, t.Player.ID)
		}
		m.Release(ctx, roomID, ps)
		m.log.Error().Err(err).Str("mode", g.mode).Msg("could not start a match")
		for _, t := range g.tickets {
			if t.Sink != nil {
				t.Sink.Send(protocol.NewFrame(protocol.ErrorMessage("", &protocol.Error{Code: protocol.CodeUnavailable, Message: "could not start the match"})))
			}
		}
	}
}

// requeue puts a group back in its queue, where it keeps its place by
// waiting time, except the player found playing elsewhere (busy), who is
// told so, and the players who cancelled or left meanwhile.
func (m *Matchmaker) requeue(g group, busy string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g.mode == ModeTeam {
		m.dropTeams(g, busy)
		return
	}
	key := g.tickets[0].queue()
	for _, t := range g.tickets {
		if t.Bot {
			continue
		}
		if m.starting[t.Player.ID] == t {
			delete(m.starting, t.Player.ID)
		}
		if m.playing[t.Player.ID] == "" {
			delete(m.playing, t.Player.ID)
		}
		if t.gone {
			continue
		}
		if _, ok := m.byPlayer[t.Player.ID]; ok {
			continue // queued again already
		}
		if t.Player.ID == busy {
			if t.Sink != nil {
				t.Sink.Send(protocol.NewFrame(protocol.ErrorMessage("", &protocol.Error{Code: protocol.CodeWrongPhase, Message: "already playing elsewhere"})))
			}
			continue
		}
		m.queues[key] = append(m.queues[key], t)
		m.byPlayer[t.Player.ID] = t
	}
	// A queue is in order of arrival, which decide relies on.
	q := m.queues[key]
	sort.SliceStable(q, func(i, j int) bool { return q[i].At.Before(q[j].At) })
}
