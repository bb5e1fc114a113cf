// Package gateway holds the players' connections: one reader and one
// writer goroutine per WebSocket, the sessions that outlive reconnects,
// the dispatch of each inbound message, and the routing of commands to
// the rooms they are for. Rooms themselves are run by package roomhost;
// the HTTP API and the pages are package web's.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/addrlimit"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/wsbuf"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

// Config is the gateway's configuration, its defaults already filled in
// (see web.Config, which documents each field).
type Config struct {
	PublicURL                                 string
	MaxFrame                                  int64
	HelloTimeout, PingEvery, PongWait         time.Duration
	WriteWait, Grace                          time.Duration
	SendQueue                                 int
	AllowedOrigins                            []string
	MaxConnsPerAddr                           int
	MessagesPerSecond                         float64
	MessageBurst                              int
	JoinsPerSecondPerAddr                     float64
	JoinBurstPerAddr                          int
	MatchTimeLimit, RevealFor, MatchCountdown time.Duration
	BlockedWords                              []string
	RTTCreditMax                              time.Duration
	IgnoreRTT                                 bool
	// ReplyWait bounds how long a command to a room on another node waits
	// for its reply before it is unavailable; default 5 s.
	ReplyWait time.Duration
}

// Marks notes what guest and token expiry must spare: players who joined a
// room, tokens presented.
type Marks interface {
	MarkPlayed(player string)
	MarkUsed(hash string)
}

// Metrics are the gateway's instruments.
type Metrics struct {
	Conns       prometheus.Gauge
	Messages    prometheus.Counter
	Answers     prometheus.Counter
	Slow        prometheus.Counter
	Refused     prometheus.Counter
	RateLimited prometheus.Counter
	// AckLatency is from reading an answer to writing its ack: what the
	// server adds to the latency a contestant feels.
	AckLatency prometheus.Histogram
	// AnswerWaits counts the times an answer relayed to a room on another
	// node outwaited ReplyWait and went on waiting, its owner alive.
	AnswerWaits prometheus.Counter
}

// Deps are the gateway's collaborators.
type Deps struct {
	Store store.Store
	Host  *roomhost.Host
	Clock clock.Clock
	// RateClock is what the per-connection message limits run on.
	RateClock clock.Clock
	Log       zerolog.Logger
	Marks     Marks
	Metrics   Metrics
	// Directory is the session directory: one connection per player and
	// each player's rooms, across the cluster's nodes. Nil means a single
	// node's own (clusterstate.LocalSessions).
	Directory clusterstate.Sessions
}

// Gateway is one node's connections and sessions.
type Gateway struct {
	cfg     Config // Static after construction.
	store   store.Store
	host    *roomhost.Host
	clock   clock.Clock
	rates   clock.Clock // the per-connection message limits' clock
	log     zerolog.Logger
	marks   Marks
	metrics Metrics

	rt       *router
	matcher  *match.Matchmaker
	parties  *match.Parties
	pnet     *partyNet // parties across the cluster; nil on a single node
	hub      *hub
	dir      clusterstate.Sessions // Static after construction.
	upgrader websocket.Upgrader

	// runCtx is what requests run under; set by Begin.
	runCtx  context.Context
	stopped chan struct{}

	// addrMu guards addrs: open connections per remote IP.
	addrMu sync.Mutex
	addrs  map[string]int

	joins *addrlimit.Limits // hellos and event joins per address

	// liveMu guards live: every open connection, welcomed or not, so that
	// a shutdown closes each one with 1001.
	liveMu sync.Mutex
	live   map[*conn]struct{}

	conns sync.WaitGroup
}

// New makes a gateway in front of host; it tells host about its sessions.
func New(cfg Config, deps Deps) *Gateway {
	if deps.Directory == nil {
		deps.Directory = clusterstate.NewLocalSessionHub().Node("local")
	}
	if cfg.ReplyWait <= 0 {
		cfg.ReplyWait = 5 * time.Second
	}
	s := &Gateway{
		cfg: cfg, store: deps.Store, host: deps.Host, clock: deps.Clock, rates: deps.RateClock, log: deps.Log,
		marks: deps.Marks, metrics: deps.Metrics,
		matcher: deps.Host.Matchmaker(),
		hub:     newHub(),
		dir:     deps.Directory,
		addrs:   map[string]int{},
		joins:   addrlimit.New(cfg.JoinsPerSecondPerAddr, cfg.JoinBurstPerAddr),
		live:    map[*conn]struct{}{},
		stopped: make(chan struct{}),
		runCtx:  context.Background(),
	}
	s.parties = match.NewParties(s.matcher)
	if bus := deps.Host.Bus(); bus != nil {
		s.pnet = newPartyNet(s, bus, deps.Host.Node())
		s.parties.SetPlaying(s.pnet.playing)
	}
	s.rt = newRouter(s, deps.Host)
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: cfg.WriteWait,
		CheckOrigin:      s.checkOrigin,
	}
	deps.Host.SetSessions(s)
	return s
}

// Begin has requests run under ctx from now on; its end stops them. In a
// cluster it also starts receiving replies and frames from other nodes.
func (s *Gateway) Begin(ctx context.Context) error {
	s.runCtx = ctx
	s.watchDirectory(ctx)
	if s.pnet != nil {
		if err := s.pnet.start(ctx); err != nil {
			return err
		}
	}
	return s.rt.start(ctx)
}

// ServeWS serves GET /ws.
func (s *Gateway) ServeWS(w http.ResponseWriter, r *http.Request) { s.serveWS(w, r) }

// Stopping reports whether a shutdown has begun.
func (s *Gateway) Stopping() bool { return s.stopping() }

// Stopped is closed once a shutdown has begun.
func (s *Gateway) Stopped() <-chan struct{} { return s.stopped }

// BeginShutdown refuses new connections and new requests from now on:
// what was taken is still made durable and acked.
func (s *Gateway) BeginShutdown() {
	// Under liveMu, as serveWS checks stopped and adds to conns: no Add
	// can follow, and so none can race the Wait in CloseAll.
	s.liveMu.Lock()
	close(s.stopped)
	s.liveMu.Unlock()
}

// CloseAll closes every connection with 1001 and waits, at most 10 s, for
// them to end.
func (s *Gateway) CloseAll() {
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
}

var _ roomhost.Sessions = (*Gateway)(nil)

// Peer implements roomhost.Sessions.
func (s *Gateway) Peer(player string) (room.Peer, bool) {
	sess, ok := s.hub.get(player)
	if !ok {
		return nil, false
	}
	return sess, true
}

// Seated implements roomhost.Sessions.
func (s *Gateway) Seated(player, roomID string) {
	if sess, ok := s.hub.get(player); ok {
		sess.addRoom(roomID)
		sess.probe()
		return
	}
	// No session here (the player is away, or on another node): the room
	// is listed under the player by key, so their next hello on any node
	// finds it.
	s.indexRoom(player, roomID, true)
}

// Rating implements roomhost.Sessions.
func (s *Gateway) Rating(player string) (float64, bool) {
	if sess, ok := s.hub.get(player); ok {
		return sess.getRating(), true
	}
	return 0, false
}

// SetRating implements roomhost.Sessions.
func (s *Gateway) SetRating(player string, rating float64) {
	if sess, ok := s.hub.get(player); ok {
		sess.setRating(rating)
	}
}

// stopping reports whether a shutdown has begun.
func (s *Gateway) stopping() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

// Janitor expires sessions whose grace window has passed, until ctx ends.
// Runs in its own goroutine; the work is in expire.
func (s *Gateway) Janitor(ctx context.Context) {
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
func (s *Gateway) expire() {
	for _, sess := range s.hub.expired(s.clock.Now(), s.cfg.Grace) {
		if node, ok := s.parties.Where(sess.id); ok && node != "" {
			// A member of a party here whose connection came back on
			// another node: it stays in its party, and in its queue.
			continue
		}
		s.matcher.Leave(sess.id)
		s.partyGone(sess.id)
	}
	s.joins.Sweep()
}

// checkOrigin accepts requests with no Origin (non-browser clients), from the
// server's own host, or from an allowed origin.
func (s *Gateway) checkOrigin(r *http.Request) bool {
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
func (s *Gateway) acquireAddr(ip string) bool {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	if s.addrs[ip] >= s.cfg.MaxConnsPerAddr {
		return false
	}
	s.addrs[ip]++
	return true
}

func (s *Gateway) releaseAddr(ip string) {
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
func (s *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.stopped:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	ip := remoteIP(r)
	if !s.acquireAddr(ip) {
		s.metrics.Refused.Inc()
		http.Error(w, "too many connections from your address", http.StatusTooManyRequests)
		return
	}
	ws, err := s.upgrader.Upgrade(&corkWriter{ResponseWriter: w}, r, nil)
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
	// The connection's reader. Its calls are made here, in the goroutine's
	// own frame, not through a function of their own, so the stack under a
	// parked reader stays small (see openConn).
	go func() {
		c := s.openConn(ws, ip)
		s.readLoop(c)
		s.closeConn(c, ip)
	}()
}

// addConn counts a new connection unless a shutdown has begun. The check
// and the Add are under liveMu, as is the start of a shutdown, so Add never
// races the shutdown's Wait.
func (s *Gateway) addConn() bool {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.stopping() {
		return false
	}
	s.conns.Add(1)
	return true
}

// openConn sets up a connection for its reader. A connection's goroutine
// (started by serveWS) is its reader: openConn, readLoop, closeConn, with
// no frame of its own between the goroutine and readLoop, so the stack
// under a parked reader is small. The garbage collector halves an idle
// goroutine's stack only while it uses under a quarter of it (its frames
// plus the runtime's guard of 800 bytes); a reader parked in NextReader
// uses just under 2 KiB, so its stack shrinks to 4 KiB instead of staying
// at 8 (4,000 idle connections: 8.4 → 4.3 KiB of stack each after three
// collections).
func (s *Gateway) openConn(ws *websocket.Conn, ip string) *conn {
	c := newConn(s, ws, ip)
	c.id = s.connID()
	s.track(c)
	s.metrics.Conns.Inc()
	ws.SetReadLimit(s.cfg.MaxFrame)
	_ = ws.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	ws.SetPongHandler(c.onPong)
	return c
}

// closeConn ends a connection once its reader is done, and undoes what
// openConn and serveWS set up, in reverse order.
func (s *Gateway) closeConn(c *conn, ip string) {
	defer s.conns.Done()
	defer s.releaseAddr(ip)
	defer s.untrack(c)
	defer s.metrics.Conns.Dec()
	ws := c.ws
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
func (s *Gateway) track(c *conn) {
	s.liveMu.Lock()
	s.live[c] = struct{}{}
	s.liveMu.Unlock()
	select {
	case <-s.stopped:
		c.closeWith(reasonGoingAway, "server shutting down")
	default:
	}
}

func (s *Gateway) untrack(c *conn) {
	s.liveMu.Lock()
	delete(s.live, c)
	s.liveMu.Unlock()
}

// liveConns returns every open connection.
func (s *Gateway) liveConns() []*conn {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	out := make([]*conn, 0, len(s.live))
	for c := range s.live {
		out = append(out, c)
	}
	return out
}

// readLoop reads and handles messages until the connection ends.
func (s *Gateway) readLoop(c *conn) {
	for {
		// Nothing keeps a message's bytes after handle returns (decoding
		// copies what it keeps), so they go back to the pool.
		// NextReader is called here rather than through wsbuf.Read: the
		// reader waits in it, and one frame fewer keeps a parked reader's
		// stack small (see openConn).
		var buf *bytes.Buffer
		_, r, err := c.ws.NextReader()
		if err == nil {
			buf, err = wsbuf.ReadFrom(r)
		}
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
func (s *Gateway) handleRead(c *conn, data []byte) bool {
	if c.closing() {
		return false
	}
	s.metrics.Messages.Inc()
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
func (s *Gateway) strike(c *conn, re string) bool {
	s.metrics.RateLimited.Inc()
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
func (s *Gateway) disconnected(c *conn) {
	sess := c.sess.Load()
	if sess == nil {
		return
	}
	if !sess.detach(c, s.clock.Now()) {
		return // replaced by a newer connection
	}
	s.unregister(sess, c)
	op := roomhost.OpDetach
	if sess.role != rolePlayer {
		op = roomhost.OpUnwatch
	}
	for _, id := range sess.roomIDs() {
		s.rt.tell(context.Background(), &roomhost.Command{Op: op, Room: id, Who: sess.id}, sess)
	}
}

// Sessions counts this node's sessions (live or within their grace window).
func (s *Gateway) Sessions() int { return s.hub.len() }

// Connected reports whether a player has a live connection to this node.
func (s *Gateway) Connected(player string) bool {
	sess, ok := s.hub.get(player)
	return ok && sess.Connected()
}
