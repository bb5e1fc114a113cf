// Package roomhost is the owner's side of rooms: it opens them, runs them,
// restores them from their journals, and settles them when they finish
// (results, ratings, points, the events they belong to). It does no
// connection work: whoever holds the players' connections (the gateway)
// hands it peers, and it hands rooms their journal and their finisher.
package roomhost

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// Config shapes the rooms a host opens and how it settles them. Zero
// values take the defaults given beside each field.
type Config struct {
	// Match tunes quick-match queues.
	Match match.Config
	// MatchQuestions and MatchTimeLimit shape quick matches; defaults 5
	// and 15 s. RevealFor (default 3 s) and MatchCountdown (default 3 s)
	// are a quick match's reveal and its first countdown.
	MatchQuestions                            int
	MatchTimeLimit, RevealFor, MatchCountdown time.Duration
	// PointCaps is how many awards a day each point source pays a player.
	PointCaps store.Caps
	// TimeZone is where ledger days begin; default UTC.
	TimeZone *time.Location
}

// Sessions is what the host asks of the gateway about players: their
// peers on this node and their ratings while they are connected.
type Sessions interface {
	// Peer returns the player's peer, if the player has a session here.
	Peer(player string) (room.Peer, bool)
	// Seated tells the player's session it was seated in room: it lists
	// the room and measures its round trip afresh.
	Seated(player, room string)
	// Rating returns the rating the player's session holds.
	Rating(player string) (float64, bool)
	// SetRating updates it after a match.
	SetRating(player string, rating float64)
}

// Marks notes players who joined a room, so that guest expiry spares them.
type Marks interface {
	MarkPlayed(player string)
}

// Metrics are the host's counters; nil fields are not counted.
type Metrics struct {
	Opened   prometheus.Counter // rooms opened
	Finished prometheus.Counter // rooms finished
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

// Deps are the host's collaborators.
type Deps struct {
	Store   store.Store
	Journal *store.Committer
	Bank    *questionbank.Bank
	Bus     cluster.Bus
	Clock   clock.Clock
	Log     zerolog.Logger
	Marks   Marks
	Metrics Metrics

	// State is what this node shares with the others (question history,
	// the PIN directory, imports, the quick-match pool, the session
	// directory whose rooms index it fills). Nil, or a nil field, keeps
	// that piece in memory as a single node does; a nil PINs or Sharing
	// means this node's events and queues are the only ones.
	State *clusterstate.State
}

// Host runs this node's rooms.
type Host struct {
	cfg      Config // Static after construction.
	store    store.Store
	journal  *store.Committer
	bank     *questionbank.Bank
	clock    clock.Clock
	log      zerolog.Logger
	marks    Marks
	metrics  Metrics
	sessions Sessions // Static once SetSessions is called, before Begin.

	rooms   *room.Registry
	matcher *match.Matchmaker
	history clusterstate.History
	events  *eventDir
	banks   *clusterstate.Banks
	// pins is the cluster's PIN directory; nil on a single node, where
	// events (this node's live events) is the whole directory.
	pins clusterstate.PINs
	// sharing is the cluster's quick-match pool; nil on a single node.
	sharing *match.Sharing
	// dir is the session directory, whose rooms index the host fills for
	// restored rooms and empties for finished ones; nil: none.
	dir clusterstate.Sessions

	// runCtx is the context rooms run under; set by Begin.
	runCtx context.Context

	// reopening holds the ids of rooms being restored after a journal
	// failure: requests to them are unavailable, not not_found.
	reopening sync.Map

	// settling counts finishers still storing a result.
	settling sync.WaitGroup
	// paying counts the goroutines that pay event points in the
	// background (retries and the sweep); they end with the run context.
	paying sync.WaitGroup
	// awarding holds the rooms whose event points this node is paying,
	// so the sweep leaves them to their payer.
	awarding sync.Map

	// cl is the node's part in a cluster; nil on a single node.
	cl *owner
	// tour runs tournaments; nil if the store keeps none.
	tour *tours
}

// New makes a host. Call SetSessions, then Begin.
func New(cfg Config, deps Deps) *Host {
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if deps.Bus == nil {
		deps.Bus = cluster.NewLocal(deps.Clock)
	}
	s := &Host{
		cfg: cfg, store: deps.Store, journal: deps.Journal, bank: deps.Bank, clock: deps.Clock, log: deps.Log,
		marks: deps.Marks, metrics: deps.Metrics,
		rooms:   room.NewRegistry(),
		history: clusterstate.NewLocalHistory(200),
		events:  newEventDir(),
		banks:   clusterstate.NewLocalBanks(deps.Bank),
		runCtx:  context.Background(),
	}
	if st := deps.State; st != nil {
		if st.History != nil {
			s.history = st.History
		}
		if st.Banks != nil {
			s.banks = st.Banks
		}
		s.pins, s.sharing, s.dir = st.PINs, st.Sharing, st.Sessions
	}
	s.matcher = match.New(cfg.Match, deps.Clock, s, deps.Bus, deps.Log.With().Str("part", "match").Logger())
	s.tour = newTours(s)
	return s
}

// SetSessions gives the host the gateway's sessions. Call it once, before
// Begin.
func (s *Host) SetSessions(ss Sessions) { s.sessions = ss }

// Matchmaker is the quick-match matchmaker whose matches this host opens.
func (s *Host) Matchmaker() *match.Matchmaker { return s.matcher }

// Rooms is the registry of the rooms running here.
func (s *Host) Rooms() *room.Registry { return s.rooms }

// Begin restores the rooms that were running when the node stopped and
// runs them, and every room opened from now on, under ctx.
//
// In a cluster a node restores no room at start: it takes over rooms whose
// owner died or handed them over, and open rooms nobody owns, as it wins
// their leases.
func (s *Host) Begin(ctx context.Context) error {
	s.runCtx = ctx
	if s.sharing != nil {
		sh := *s.sharing
		if sh.PeerSink == nil {
			sh.PeerSink = s.peerSink
		}
		if _, err := s.matcher.Share(ctx, sh); err != nil {
			return err
		}
	}
	cancel, err := s.banks.Watch(ctx)
	if err != nil {
		return err
	}
	context.AfterFunc(ctx, cancel)
	if s.pins != nil {
		go clusterstate.KeepPINs(ctx, s.pins, s.clock, pinKeep, s.liveEvents, func(err error) {
			s.log.Warn().Err(err).Msg("put a live event back in the PIN directory")
		})
	}
	if s.cl != nil {
		s.paying.Add(1)
		go s.keepSweeping(ctx)
		return s.cl.run(ctx)
	}
	if err := s.Restore(ctx); err != nil {
		return err
	}
	// After the restore: a room that finished again there has paid (or is
	// paying) its own points.
	s.paying.Add(1)
	go s.keepSweeping(ctx)
	return nil
}

// peerSink is how the matchmaker reaches a player directly: its session
// here (node ""), or through node's relay, in order with what a room here
// says to it next. Nil if neither is possible.
func (s *Host) peerSink(node, player string) match.Sink {
	if node == "" {
		if s.sessions == nil {
			return nil
		}
		if p, ok := s.sessions.Peer(player); ok {
			return p
		}
		return nil
	}
	if p := s.RemotePeer(node, player); p != nil {
		return p
	}
	return nil
}

// pinKeep is how often the PIN directory is given this node's live events
// again, should it have lost them.
const pinKeep = 30 * time.Second

// Banks keeps this node's question bank in step with the others'.
func (s *Host) Banks() *clusterstate.Banks { return s.banks }

// Stop ends the rooms at shutdown: no room opens from now on, the rooms
// end once stop (the cancel of Begin's context) is called, their results
// are stored, and every accepted answer is made durable and its ack
// handed to its connection.
//
// In a cluster the rooms are handed over: once what they journaled is
// durable, their leases are released and announced, and another node
// takes each at once.
func (s *Host) Stop(stop context.CancelFunc) {
	s.rooms.Close() // a match or event opened from now on is refused
	if s.cl != nil {
		s.cl.handOver(func() {
			s.settling.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.journal.Flush(ctx); err != nil {
				s.log.Error().Err(err).Msg("journal flush at hand-over")
			}
		})
	}
	stop()
	s.rooms.Wait()
	s.settling.Wait()
	s.paying.Wait()
	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if ferr := s.journal.Flush(flushCtx); ferr != nil {
		s.log.Error().Err(ferr).Msg("journal flush at shutdown")
	}
	cancel()
	s.rooms.WaitSent()
}

// Room returns a room running here: not_found if there is none, and
// unavailable while one is being restored after a journal failure.
func (s *Host) Room(id string) (*room.Room, error) {
	r, ok := s.rooms.Get(id)
	if !ok {
		if _, busy := s.reopening.Load(id); busy {
			return nil, protocol.Errorf(protocol.CodeUnavailable, "the room is being restored; try again")
		}
		return nil, protocol.Errorf(protocol.CodeNotFound, "no room %q", trimID(id))
	}
	return r, nil
}

// Finish implements room.Finisher: the result is settled on a goroutine
// of its own, never the room's, and done tells the room the points paid.
func (s *Host) Finish(res *room.Result, done func(awarded map[string]int64)) {
	s.settling.Add(1)
	go func() {
		defer s.settling.Done()
		done(s.Finished(context.Background(), res))
	}()
}

// HasCategory reports whether the bank has questions of category cat.
func (s *Host) HasCategory(cat string) bool {
	for _, c := range s.bank.Categories() {
		if c == cat {
			return true
		}
	}
	return false
}

// Draw draws n questions for players, avoiding what they saw lately.
func (s *Host) Draw(players []string, setID, category, lang string, difficulty, n int) ([]questionbank.Question, error) {
	return s.drawFor(players, setID, category, lang, difficulty, n)
}

// Day is the ledger day of t in the configured time zone.
func (s *Host) Day(t time.Time) string { return s.day(t) }

func trimID(t string) string {
	if len(t) > 40 {
		return t[:40] + "…"
	}
	return t
}
