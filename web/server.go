// Package web is Leitai's front door: the HTTP API, the WebSocket gateway
// (one reader and one writer goroutine per connection), and the embedded
// pages — player, host console, projected scoreboard and organizer. It wires
// rooms, matchmaking, the question bank and the store together; nothing
// imports it but the binary and tests.
package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/wsbuf"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
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
	Bus   cluster.Bus
	Clock clock.Clock
	// RateClock is what the per-connection message limits run on; nil
	// means wall time, like the sockets they protect. Tests inject a fake
	// to show a connection forgiven after a quiet while.
	RateClock clock.Clock
	Log       zerolog.Logger

	// MetricsListener, if set, is where GET /metrics is served, and then
	// only there: the main listener does not serve it. Run serves it and
	// closes it when it returns.
	MetricsListener net.Listener

	// TournamentLease lets one node of a cluster run the tournament
	// scheduler at a time; nil means a lease over Bus if it keeps
	// cluster.Leases (the in-process bus does), else none.
	TournamentLease tournament.Lease
}

// Server is one Leitai node's gateway and API.
type Server struct {
	cfg     Config // Static after construction.
	store   store.Store
	journal *store.Committer
	bank    *questionbank.Bank
	clock   clock.Clock
	rates   clock.Clock // the per-connection message limits' clock
	log     zerolog.Logger

	bus      cluster.Bus
	rooms    *room.Registry
	matcher  *match.Matchmaker
	parties  *match.Parties
	history  *questionbank.History
	hub      *hub
	events   *eventDir
	metrics  *metrics
	upgrader websocket.Upgrader
	mux      *http.ServeMux
	handler  http.Handler // mux behind the security headers

	// metricsLn serves /metrics apart; nil serves it on the main handler.
	metricsLn net.Listener

	// runCtx is the context rooms run under; set by Run before serving.
	runCtx  context.Context
	stopped chan struct{}

	// addrMu guards addrs: open connections per remote IP.
	addrMu sync.Mutex
	addrs  map[string]int

	joins *addrLimits // hellos and event joins per address

	expiry *expirer // removes guests and tokens nobody uses

	// importing is held by the one question-bank import running; a second
	// is refused rather than queued, so imports cannot pile up beside the
	// contests (see handleImport).
	importing sync.Mutex

	// Static after construction: HTTP requests per address.
	registers  *addrLimits // POST /api/v1/players
	pinLookups *addrLimits // GET /api/v1/pins/{pin}

	// liveMu guards live: every open connection, welcomed or not, so that
	// a shutdown closes each one with 1001.
	liveMu sync.Mutex
	live   map[*conn]struct{}

	conns sync.WaitGroup

	// reopening holds the ids of rooms being restored after a journal
	// failure: requests to them are unavailable, not not_found.
	reopening sync.Map

	// tour runs tournaments; nil if the store keeps none.
	tour *tourRun
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
	s := &Server{
		cfg: cfg, store: deps.Store, journal: deps.Committer, bank: deps.Bank, clock: deps.Clock, rates: deps.RateClock, log: deps.Log,
		rooms:   room.NewRegistry(),
		history: questionbank.NewHistory(200),
		hub:     newHub(),
		events:  newEventDir(),
		metrics: newMetrics(deps.Committer, cfg.Node),
		addrs:   map[string]int{},
		joins:   newAddrLimits(cfg.JoinsPerSecondPerAddr, cfg.JoinBurstPerAddr),
		live:    map[*conn]struct{}{},
		stopped: make(chan struct{}),
		runCtx:  context.Background(),
	}
	s.metricsLn = deps.MetricsListener
	s.registers = newAddrLimits(cfg.RegistersPerSecondPerAddr, cfg.RegisterBurstPerAddr)
	s.pinLookups = newAddrLimits(cfg.PINLookupsPerSecondPerAddr, cfg.PINLookupBurstPerAddr)
	if deps.Bus == nil {
		deps.Bus = cluster.NewLocal(deps.Clock)
	}
	s.bus = deps.Bus
	s.expiry = newExpirer(cfg.Expiry, deps.Store, deps.Clock, deps.Log.With().Str("part", "expiry").Logger())
	s.matcher = match.New(cfg.Match, deps.Clock, s, deps.Bus, deps.Log.With().Str("part", "match").Logger())
	s.parties = match.NewParties(s.matcher)
	if deps.TournamentLease == nil {
		if l, ok := deps.Bus.(cluster.Leases); ok {
			deps.TournamentLease = TournamentLease(l)
		}
	}
	s.tour = newTourRun(s, deps.TournamentLease)
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: cfg.WriteWait,
		CheckOrigin:      s.checkOrigin,
	}
	s.routes()
	return s
}

// Handler serves the API, the pages and /ws.
func (s *Server) Handler() http.Handler { return s.handler }

// Matchmaker exposes the matchmaker (tests drive its Process directly).
func (s *Server) Matchmaker() *match.Matchmaker { return s.matcher }

// Rooms exposes the room registry.
func (s *Server) Rooms() *room.Registry { return s.rooms }

// Run serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets the journal finish its writes, and closes every
// connection with 1001 so clients reconnect and resume elsewhere or later.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	roomCtx, stopRooms := context.WithCancel(context.Background())
	defer stopRooms()
	s.runCtx = roomCtx
	defer s.serveMetrics()()
	if err := s.Restore(roomCtx); err != nil {
		return err
	}
	srv := s.httpServer(s.handler)
	var wg sync.WaitGroup
	wg.Add(5)
	go func() { defer wg.Done(); _ = s.matcher.Run(roomCtx) }()
	go func() {
		defer wg.Done()
		if s.tour != nil {
			_ = s.tour.sched.Run(roomCtx)
		}
	}()
	go func() { defer wg.Done(); _ = s.expiry.Run(roomCtx) }()
	go func() { defer wg.Done(); s.janitor(roomCtx) }()
	errc := make(chan error, 1)
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
	// Under liveMu, as serveWS checks stopped and adds to conns: no Add
	// can follow, and so none can race the Wait below.
	s.liveMu.Lock()
	close(s.stopped)
	s.liveMu.Unlock()
	// Stop accepting; hijacked WebSocket connections are not touched by this.
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(shutCtx)
	cancel()
	// Stop the rooms and the matchmaker, then make every accepted answer
	// durable (its ack is queued to its connection when it is).
	s.rooms.Close() // a match or event opened from now on is refused
	stopRooms()
	s.rooms.Wait()
	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if ferr := s.journal.Flush(flushCtx); ferr != nil {
		s.log.Error().Err(ferr).Msg("journal flush at shutdown")
	}
	cancel()
	s.rooms.WaitSent()
	for _, c := range s.liveConns() {
		c.closeWith(reasonGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.log.Warn().Msg("connections still open after 10 s")
	}
	wg.Wait()
	return err
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

// stopping reports whether a shutdown has begun.
func (s *Server) stopping() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

// janitor expires sessions whose grace window has passed. Runs in its own
// goroutine; the work is in expire so tests can call it.
func (s *Server) janitor(ctx context.Context) {
	t := s.clock.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			s.expire()
		}
	}
}

// expire takes players whose connection has been gone longer than the
// grace window out of their queues.
func (s *Server) expire() {
	for _, sess := range s.hub.expired(s.clock.Now(), s.cfg.Grace) {
		s.matcher.Leave(sess.id)
		s.partyGone(sess.id)
	}
	s.joins.sweep()
	s.registers.sweep()
	s.pinLookups.sweep()
}

// checkOrigin accepts requests with no Origin (non-browser clients), from the
// server's own host, or from an allowed origin.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	return false
}

// acquireAddr counts a connection against its address's limit.
func (s *Server) acquireAddr(ip string) bool {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	if s.addrs[ip] >= s.cfg.MaxConnsPerAddr {
		return false
	}
	s.addrs[ip]++
	return true
}

func (s *Server) releaseAddr(ip string) {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	if s.addrs[ip]--; s.addrs[ip] <= 0 {
		delete(s.addrs, ip)
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serveWS upgrades a connection and hands it to a reader goroutine of its
// own. The handler returns at once: net/http holds the request and its
// buffered reader and writer (about 10 KiB) for as long as the handler
// runs, which for a WebSocket would be the connection's whole life.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.stopped:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	ip := remoteIP(r)
	if !s.acquireAddr(ip) {
		s.metrics.refused.Inc()
		http.Error(w, "too many connections from your address", http.StatusTooManyRequests)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.releaseAddr(ip)
		return // the upgrader has answered
	}
	if !s.addConn() {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(reasonGoingAway.code(), "server shutting down"), time.Now().Add(time.Second))
		ws.Close()
		s.releaseAddr(ip)
		return
	}
	go s.serveConn(ws, ip)
}

// addConn counts a new connection unless a shutdown has begun. The check
// and the Add are under liveMu, as is the start of a shutdown, so Add never
// races the shutdown's Wait.
func (s *Server) addConn() bool {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.stopping() {
		return false
	}
	s.conns.Add(1)
	return true
}

// serveConn runs one upgraded connection; its goroutine is the connection's
// reader. Runs in its own goroutine.
func (s *Server) serveConn(ws *websocket.Conn, ip string) {
	defer s.conns.Done()
	defer s.releaseAddr(ip)
	c := newConn(s, ws, ip)
	s.track(c)
	defer s.untrack(c)
	s.metrics.conns.Inc()
	defer s.metrics.conns.Dec()
	ws.SetReadLimit(s.cfg.MaxFrame)
	_ = ws.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	ws.SetPongHandler(c.onPong)
	s.readLoop(c)
	c.closeWith(reasonGone, "")
	if c.reason != reasonGone {
		// We are closing: read (and drop) until the client's close reply, so
		// unread input does not turn our close frame into a reset.
		_ = ws.SetReadDeadline(time.Now().Add(2 * closeWait))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				break
			}
		}
	}
	<-c.writerDone
	ws.Close()
	s.disconnected(c)
}

// track adds c to the live connections. One that arrives after a shutdown
// began is closed at once, as the shutdown may have passed it by.
func (s *Server) track(c *conn) {
	s.liveMu.Lock()
	s.live[c] = struct{}{}
	s.liveMu.Unlock()
	select {
	case <-s.stopped:
		c.closeWith(reasonGoingAway, "server shutting down")
	default:
	}
}

func (s *Server) untrack(c *conn) {
	s.liveMu.Lock()
	delete(s.live, c)
	s.liveMu.Unlock()
}

// liveConns returns every open connection.
func (s *Server) liveConns() []*conn {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	out := make([]*conn, 0, len(s.live))
	for c := range s.live {
		out = append(out, c)
	}
	return out
}

// readLoop reads and handles messages until the connection ends.
func (s *Server) readLoop(c *conn) {
	for {
		// Nothing keeps a message's bytes after handle returns (decoding
		// copies what it keeps), so they go back to the pool.
		buf, err := wsbuf.Read(c.ws)
		c.received = time.Now()
		if err == nil && c.sess.Load() != nil {
			// A message shows the peer is alive, as a pong does. Moving
			// the deadline resets a runtime timer, so a busy connection
			// moves it only every sixteenth of the wait.
			c.heardAt.Store(c.received.UnixNano())
			if c.received.Sub(c.deadlineMoved) >= s.cfg.PongWait/16 {
				c.deadlineMoved = c.received
				err = c.ws.SetReadDeadline(c.received.Add(s.cfg.PongWait))
			}
		}
		if err != nil {
			if buf != nil {
				wsbuf.Put(buf)
			}
			var ne net.Error
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				c.closeWith(reasonTooBig, "frame too big")
			case errors.As(err, &ne) && ne.Timeout() && c.sess.Load() == nil:
				c.closeWith(reasonPolicy, "no hello in time")
			}
			return
		}
		goOn := s.handleRead(c, buf.Bytes())
		wsbuf.Put(buf)
		if !goOn {
			return
		}
	}
}

// handleRead handles one message read by readLoop, within the rate limit,
// and reports whether to go on reading.
func (s *Server) handleRead(c *conn, data []byte) bool {
	if c.closing() {
		return false
	}
	s.metrics.messages.Inc()
	if !c.limiter.AllowN(s.rates.Now(), 1) {
		return s.strike(c, "")
	}
	s.handle(c, data)
	return true
}

// rateWindow is how often a connection over a rate limit is told so: the
// first refused request in a window gets rate_limited, the others in it
// no reply at all, so a flood cannot fill its own send queue with
// refusals and be mistaken for a slow reader.
const rateWindow = time.Second

// strike refuses a request over a rate limit. Each refusal adds a strike;
// strikes drain at a quarter of the message rate, so a client a little
// too fast, or one that flooded for a moment and then behaved, is
// forgiven in time, while one that keeps flooding (more strikes than twice
// the burst) is closed with 1008. It reports whether the connection is
// still open. Runs on the connection's reader.
func (s *Server) strike(c *conn, re string) bool {
	s.metrics.rateLimited.Inc()
	now := s.rates.Now()
	if !c.struckAt.IsZero() {
		drained := now.Sub(c.struckAt).Seconds() * s.cfg.MessagesPerSecond / 4
		c.strikes = max(0, c.strikes-drained)
	}
	c.strikes++
	c.struckAt = now
	if c.strikes > float64(2*s.cfg.MessageBurst) {
		c.closeWith(reasonPolicy, "flood")
		return false
	}
	if c.toldAt.IsZero() || now.Sub(c.toldAt) >= rateWindow {
		c.toldAt = now
		s.reply(c, re, errRateLimited)
	}
	return true
}

// disconnected cleans up after a connection: its session stays for the
// grace window, and its rooms stop waiting for it.
func (s *Server) disconnected(c *conn) {
	sess := c.sess.Load()
	if sess == nil {
		return
	}
	if !sess.detach(c, s.clock.Now()) {
		return // replaced by a newer connection
	}
	for _, id := range sess.roomIDs() {
		if r, ok := s.rooms.Get(id); ok {
			if sess.role == rolePlayer {
				r.Detach(sess.id)
			} else {
				r.Unwatch(sess)
			}
		}
	}
}

// Sessions counts this node's sessions (live or within their grace window).
func (s *Server) Sessions() int { return s.hub.len() }

// Connected reports whether a player has a live connection to this node.
func (s *Server) Connected(player string) bool {
	sess, ok := s.hub.get(player)
	return ok && sess.Connected()
}
