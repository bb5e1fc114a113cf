// Package web is Leitai's front door over HTTP: the API and the embedded
// pages — player, host console, projected scoreboard and organizer. It
// wires a node together: the gateway (connections and sessions, package
// gateway) serves /ws, the room host (package roomhost) runs the rooms,
// beside matchmaking, the question bank and the store. Nothing imports it
// but the binary and tests.
package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/gateway"
	"github.com/leitai/leitai/internal/addrlimit"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/org"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/tournament"
)

// Config is the gateway's configuration. Zero values mean the defaults
// given beside each field.
type Config struct {
	// Node is this node's id; it labels every metric. Default: no label.
	Node string
	// PublicURL is the base of links shown to people (join URLs, QR codes);
	// default: taken from each request's Host.
	PublicURL string
	// MaxFrame bounds an inbound frame; default 16 KiB.
	MaxFrame int64
	// HelloTimeout closes a connection that sends no hello; default 10 s.
	HelloTimeout time.Duration
	// PingEvery is the server ping period (default 15 s) for a connection
	// that has sent nothing in that time; one that keeps sending is pinged
	// every fourth period, to refresh its RTT. PongWait is how long a
	// connection lives with neither a message nor a pong (default 40 s).
	PingEvery, PongWait time.Duration
	// WriteWait bounds one socket write; default 10 s.
	WriteWait time.Duration
	// SendQueue is each connection's outbound queue length; default 64.
	// Every slot costs memory whether used or not (8 bytes each), on every
	// connection; a client that stops reading is cut off once it fills.
	SendQueue int
	// Grace is how long a dropped player keeps its queue places and session;
	// default 60 s.
	Grace time.Duration
	// AllowedOrigins lists the Origin values accepted on /ws besides the
	// server's own host; "*" accepts any.
	AllowedOrigins []string
	// MaxConnsPerAddr bounds connections from one IP address; default 2000.
	MaxConnsPerAddr int
	// MessagesPerSecond and MessageBurst bound a connection's requests;
	// defaults 20 and 40. A refused request is answered with rate_limited,
	// at most once a second; a connection that keeps exceeding them is
	// closed with 1008 (see Server.strike).
	MessagesPerSecond float64
	MessageBurst      int
	// JoinsPerSecondPerAddr and JoinBurstPerAddr bound how fast one IP
	// address opens sessions (hello) and joins events, over all its
	// connections; defaults 200 and 5000, room for a hall behind one NAT.
	JoinsPerSecondPerAddr float64
	JoinBurstPerAddr      int
	// RegistersPerSecondPerAddr and RegisterBurstPerAddr bound POST
	// /api/v1/players from one IP address; defaults 5 and 100.
	RegistersPerSecondPerAddr float64
	RegisterBurstPerAddr      int
	// PINLookupsPerSecondPerAddr and PINLookupBurstPerAddr bound GET
	// /api/v1/pins/{pin} from one IP address; defaults 10 and 1000: a hall
	// of a thousand behind one NAT looks its PIN up at once, while walking
	// the 900,000 PINs takes a day per address.
	PINLookupsPerSecondPerAddr float64
	PINLookupBurstPerAddr      int
	// ReadHeaderTimeout bounds reading a request's headers (default 10 s);
	// ReadTimeout the whole request, body included (default 30 s);
	// WriteTimeout the handler and its response, from the end of the
	// headers (default 30 s); IdleTimeout how long a keep-alive connection
	// waits for its next request (default 60 s). A WebSocket is not bound by
	// them once upgraded: it has HelloTimeout, PongWait and WriteWait.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// TransferTimeout replaces ReadTimeout and WriteTimeout for large
	// transfers by an authenticated caller, question bank uploads and
	// results exports, once the token is checked; default 10 min.
	TransferTimeout time.Duration
	// Match tunes quick-match queues.
	Match match.Config
	// MatchQuestions and MatchTimeLimit shape quick matches; defaults 5 and 15 s.
	MatchQuestions int
	MatchTimeLimit time.Duration
	// RevealFor is how long a quick match shows each reveal; default 3 s.
	RevealFor time.Duration
	// MatchCountdown precedes a quick match's first question; default 3 s.
	MatchCountdown time.Duration
	// PointsDailyCap is how many quick matches of each kind (duel, four,
	// team) a day earn points; default 2. It sets PointCaps' duel, four
	// and team entries unless PointCaps names them.
	PointsDailyCap int
	// PointCaps is how many awards a day each point source pays a player
	// (store.Caps); defaults: duel, four and team PointsDailyCap, event 3, daily
	// 1, challenge 1, qualifier 1.
	PointCaps store.Caps
	// TimeZone is where days, weeks (from Monday) and months of the points
	// ledger begin; default Asia/Shanghai.
	TimeZone *time.Location
	// ParticipationTarget is the weekly participation rate a unit should
	// reach (0.4 is 40 %); units under it are marked in the weekly ranking.
	ParticipationTarget float64
	// BlockedWords may not appear in nicknames.
	BlockedWords []string
	// Expiry says when guests who never played and unused tokens are
	// removed from the store.
	Expiry ExpiryConfig
	// RTTCreditMax caps the round-trip credit fair timing takes off an
	// answer's time (the connection's whole smoothed round trip); default
	// 350 ms. It covers the round trips fair timing is promised for (up to
	// 300 ms) with room for jitter, and bounds what a client gains by
	// holding back its pongs to inflate its round trip.
	RTTCreditMax time.Duration
	// LeaseTTL is how long a room's lease lasts unrenewed in a cluster;
	// default 2 s (see roomhost.Cluster). ReplyWait is how long a command
	// to a room on another node waits for its reply before it is
	// unavailable; default 5 s.
	LeaseTTL, ReplyWait time.Duration
	// IgnoreRTT turns off fair timing's round-trip credit: answer times are
	// measured from when the question was written, nothing taken off. Tests
	// that run rooms on a fake clock set it, as real round trips would
	// make their timings wobble.
	IgnoreRTT bool
	// TournamentTick is how often the tournament scheduler looks for due
	// rounds and matches to move on; default 1 s.
	TournamentTick time.Duration
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = 16 << 10
	}
	def(&c.HelloTimeout, 10*time.Second)
	def(&c.PingEvery, 15*time.Second)
	def(&c.PongWait, 40*time.Second)
	def(&c.WriteWait, 10*time.Second)
	def(&c.Grace, 60*time.Second)
	def(&c.TournamentTick, time.Second)
	def(&c.ReadHeaderTimeout, 10*time.Second)
	def(&c.ReadTimeout, 30*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.TransferTimeout, 10*time.Minute)
	def(&c.MatchTimeLimit, 15*time.Second)
	def(&c.RevealFor, 3*time.Second)
	def(&c.MatchCountdown, 3*time.Second)
	def(&c.RTTCreditMax, 350*time.Millisecond)
	if c.SendQueue <= 0 {
		c.SendQueue = 64
	}
	if c.MaxConnsPerAddr <= 0 {
		c.MaxConnsPerAddr = 2000
	}
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = 20
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = 40
	}
	if c.JoinsPerSecondPerAddr <= 0 {
		c.JoinsPerSecondPerAddr = 200
	}
	if c.JoinBurstPerAddr <= 0 {
		c.JoinBurstPerAddr = 5000
	}
	if c.RegistersPerSecondPerAddr <= 0 {
		c.RegistersPerSecondPerAddr = 5
	}
	if c.RegisterBurstPerAddr <= 0 {
		c.RegisterBurstPerAddr = 100
	}
	if c.PINLookupsPerSecondPerAddr <= 0 {
		c.PINLookupsPerSecondPerAddr = 10
	}
	if c.PINLookupBurstPerAddr <= 0 {
		c.PINLookupBurstPerAddr = 1000
	}
	if c.MatchQuestions <= 0 {
		c.MatchQuestions = 5
	}
	if c.PointsDailyCap <= 0 {
		c.PointsDailyCap = 2
	}
	c.pointDefaults()
}

// Deps are the server's collaborators.
type Deps struct {
	Store     store.Store
	Committer *store.Committer
	Bank      *questionbank.Bank
	// Bus carries live state between nodes; nil means the in-process bus
	// of a single node.
	Bus cluster.Bus
	// Leases, if not nil, make the node one of a cluster (see
	// roomhost.Cluster): rooms are owned through these leases, and
	// commands and frames for rooms on other nodes travel over Bus.
	// Config.Node names the node.
	Leases cluster.Leases
	// State is what a cluster node shares with the others through Redis
	// (clusterstate.Redis); nil on a single node, which keeps it in memory.
	State *clusterstate.State
	Clock clock.Clock
	// RateClock is what the per-connection message limits run on; nil
	// means wall time, like the sockets they protect. Tests inject a fake
	// to show a connection forgiven after a quiet while.
	RateClock clock.Clock
	Log       zerolog.Logger

	// Collectors are added to /metrics as they are, for the parts a node
	// runs beside the server: the bus's metrics (cluster.Metrics, which
	// carry their own node label).
	Collectors []prometheus.Collector

	// MetricsListener, if set, is where GET /metrics is served, and then
	// only there: the main listener does not serve it. Run serves it and
	// closes it when it returns.
	MetricsListener net.Listener

	// TournamentLease lets one node of a cluster run the tournament
	// scheduler at a time; nil means a lease over Bus if it keeps
	// cluster.Leases (the in-process bus does), else none.
	TournamentLease tournament.Lease
}

// Server is one Leitai node: its gateway (package gateway), the rooms it
// runs (package roomhost), and the HTTP API and pages in front of them.
type Server struct {
	cfg     Config // Static after construction.
	store   store.Store
	journal *store.Committer
	bank    *questionbank.Bank
	clock   clock.Clock
	log     zerolog.Logger

	// running is closed once Run has begun serving (see Running).
	running     chan struct{}
	runningOnce sync.Once

	host    *roomhost.Host
	gw      *gateway.Gateway
	bus     cluster.Bus // /readyz pings it when it can be (Redis)
	metrics *metrics
	mux     *http.ServeMux
	handler http.Handler // mux behind the security headers

	// metricsLn serves /metrics apart; nil serves it on the main handler.
	metricsLn net.Listener

	expiry *expirer // removes guests and tokens nobody uses

	// importing is held by the one question-bank import running; a second
	// is refused rather than queued, so imports cannot pile up beside the
	// contests (see handleImport).
	importing sync.Mutex

	// Static after construction: HTTP requests per address.
	registers  *addrlimit.Limits // POST /api/v1/players
	pinLookups *addrlimit.Limits // GET /api/v1/pins/{pin}

	// lease lets one node at a time run the tournament scheduler.
	lease tournament.Lease
	// ranks keeps the live qualifier rankings (api_tournament_run.go).
	ranks rankCache
	// boards keeps the units leaderboards' inputs for BoardFresh.
	boards *store.BoardCache
}

// New makes a server. Call Run, or use Handler with Start for tests.
func New(cfg Config, deps Deps) *Server {
	cfg.defaults()
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.RateClock == nil {
		deps.RateClock = clock.Real{}
	}
	if deps.Bus == nil {
		deps.Bus = cluster.NewLocal(deps.Clock)
	}
	s := &Server{
		cfg: cfg, store: deps.Store, journal: deps.Committer, bank: deps.Bank, clock: deps.Clock, log: deps.Log,
		metrics: newMetrics(deps.Committer, cfg.Node, deps.Collectors),
		bus:     deps.Bus,
		running: make(chan struct{}),
		boards:  store.NewBoardCache(deps.Store, deps.Clock, BoardFresh),
	}
	s.metricsLn = deps.MetricsListener
	s.registers = addrlimit.New(cfg.RegistersPerSecondPerAddr, cfg.RegisterBurstPerAddr)
	s.pinLookups = addrlimit.New(cfg.PINLookupsPerSecondPerAddr, cfg.PINLookupBurstPerAddr)
	s.expiry = newExpirer(cfg.Expiry, deps.Store, deps.Clock, deps.Log.With().Str("part", "expiry").Logger())
	state := deps.State
	if state == nil {
		// A single node: its own session directory (players' rooms by
		// key), everything else in the host's memory.
		state = &clusterstate.State{Node: cfg.Node, Sessions: clusterstate.NewLocalSessionHub().Node(cfg.Node)}
	}
	s.host = roomhost.New(roomhost.Config{
		Match: cfg.Match, MatchQuestions: cfg.MatchQuestions, MatchTimeLimit: cfg.MatchTimeLimit,
		RevealFor: cfg.RevealFor, MatchCountdown: cfg.MatchCountdown,
		PointCaps: cfg.PointCaps, TimeZone: cfg.TimeZone,
	}, roomhost.Deps{
		Store: deps.Store, Journal: deps.Committer, Bank: deps.Bank, Bus: deps.Bus, Clock: deps.Clock, Log: deps.Log,
		Marks: s.expiry, Metrics: roomhost.Metrics{Opened: s.metrics.rooms, Finished: s.metrics.finished},
		State: state,
	})
	if deps.Leases != nil {
		s.host.SetCluster(roomhost.Cluster{Node: cfg.Node, Bus: deps.Bus, Leases: deps.Leases, LeaseTTL: cfg.LeaseTTL})
	}
	s.gw = gateway.New(gateway.Config{
		PublicURL: cfg.PublicURL, MaxFrame: cfg.MaxFrame,
		HelloTimeout: cfg.HelloTimeout, PingEvery: cfg.PingEvery, PongWait: cfg.PongWait,
		WriteWait: cfg.WriteWait, Grace: cfg.Grace, SendQueue: cfg.SendQueue,
		AllowedOrigins: cfg.AllowedOrigins, MaxConnsPerAddr: cfg.MaxConnsPerAddr,
		MessagesPerSecond: cfg.MessagesPerSecond, MessageBurst: cfg.MessageBurst,
		JoinsPerSecondPerAddr: cfg.JoinsPerSecondPerAddr, JoinBurstPerAddr: cfg.JoinBurstPerAddr,
		MatchTimeLimit: cfg.MatchTimeLimit, RevealFor: cfg.RevealFor, MatchCountdown: cfg.MatchCountdown,
		BlockedWords: cfg.BlockedWords, RTTCreditMax: cfg.RTTCreditMax, IgnoreRTT: cfg.IgnoreRTT, ReplyWait: cfg.ReplyWait,
	}, gateway.Deps{
		Store: deps.Store, Host: s.host, Clock: deps.Clock, RateClock: deps.RateClock, Log: deps.Log,
		Marks: s.expiry, Metrics: s.metrics.gateway, Directory: state.Sessions,
	})
	if deps.TournamentLease == nil {
		if l, ok := deps.Bus.(cluster.Leases); ok {
			deps.TournamentLease = TournamentLease(l)
		}
	}
	s.lease = deps.TournamentLease
	s.host.OnAttempt(s.ranks.staleRanking)
	s.routes()
	return s
}

// Handler serves the API, the pages and /ws. It may serve requests only
// once Run has begun (Running): before, the gateway has no context to run
// them under and the rooms are not started.
func (s *Server) Handler() http.Handler { return s.handler }

// Running is closed once Run has started everything and is about to
// serve: from then on Handler may serve requests on other listeners too.
func (s *Server) Running() <-chan struct{} { return s.running }

// Matchmaker exposes the matchmaker (tests drive its Process directly).
func (s *Server) Matchmaker() *match.Matchmaker { return s.host.Matchmaker() }

// Rooms exposes the room registry.
func (s *Server) Rooms() *room.Registry { return s.host.Rooms() }

// Sessions counts this node's sessions (live or within their grace window).
func (s *Server) Sessions() int { return s.gw.Sessions() }

// Connected reports whether a player has a live connection to this node.
func (s *Server) Connected(player string) bool { return s.gw.Connected(player) }

// Run serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets the journal finish its writes, and closes every
// connection with 1001 so clients reconnect and resume elsewhere or later.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	roomCtx, stopRooms := context.WithCancel(context.Background())
	defer stopRooms()
	if err := s.gw.Begin(roomCtx); err != nil {
		return err
	}
	defer s.serveMetrics()()
	if err := s.host.Begin(roomCtx); err != nil {
		return err
	}
	srv := s.httpServer(s.handler)
	var wg sync.WaitGroup
	wg.Add(6)
	go func() { defer wg.Done(); _ = s.host.Matchmaker().Run(roomCtx) }()
	go func() { defer wg.Done(); s.gw.Janitor(roomCtx) }()
	go func() { defer wg.Done(); s.host.RunTournaments(roomCtx, s.lease, s.cfg.TournamentTick, s.cfg.Node) }()
	go func() { defer wg.Done(); _ = s.expiry.Run(roomCtx) }()
	go func() { defer wg.Done(); s.janitor(roomCtx) }()
	errc := make(chan error, 1)
	s.runningOnce.Do(func() { close(s.running) })
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.gw.BeginShutdown()
	// Stop accepting; hijacked WebSocket connections are not touched by this.
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(shutCtx)
	cancel()
	// Stop the rooms and the matchmaker, then make every accepted answer
	// durable (its ack is queued to its connection when it is), and close
	// the connections with 1001.
	s.host.Stop(stopRooms)
	s.gw.CloseAll()
	wg.Wait()
	return err
}

// janitor forgets idle addresses of the HTTP limits, until ctx ends. Runs
// in its own goroutine.
func (s *Server) janitor(ctx context.Context) {
	t := s.clock.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			s.registers.Sweep()
			s.pinLookups.Sweep()
		}
	}
}

// httpServer serves h with the configured timeouts, so that a body that
// trickles in or a connection left idle is closed instead of held open.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
	}
}

// transfer gives a request TransferTimeout, from now, to send its body and
// receive its response, in place of the server's ReadTimeout and
// WriteTimeout. Call it only once the caller is authenticated, so that an
// anonymous client cannot hold a connection that long.
func (s *Server) transfer(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	until := time.Now().Add(s.cfg.TransferTimeout)
	_ = rc.SetReadDeadline(until)
	_ = rc.SetWriteDeadline(until)
}

// DefaultTimeZone is where ledger days begin unless configured.
const DefaultTimeZone = "Asia/Shanghai"

// pointDefaults fills the ledger's settings.
func (c *Config) pointDefaults() {
	caps := store.Caps{
		store.SourceDuel: c.PointsDailyCap, store.SourceFour: c.PointsDailyCap, store.SourceTeam: c.PointsDailyCap,
		store.SourceEvent: 3, store.SourceDaily: 1, store.SourceChallenge: 1, store.SourceQualifier: 1,
	}
	for k, v := range c.PointCaps {
		caps[k] = v
	}
	c.PointCaps = caps
	if c.TimeZone == nil {
		loc, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			loc = time.FixedZone("CST", 8*3600) // Shanghai has had no DST since 1991
		}
		c.TimeZone = loc
	}
	if c.ParticipationTarget <= 0 {
		c.ParticipationTarget = org.DefaultTarget
	}
}
