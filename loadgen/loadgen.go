// Package loadgen is the load generator used by `leitai bench` and the
// benchmarks. It plays quick matches against a running server the way phones
// do: each simulated player opens a WebSocket, says hello as a guest, asks
// for a duel or a four-player match, answers each question after a random
// think time, and queues again once the match is over, until the run ends.
// It measures how long the server takes to acknowledge each answer, counts
// finished matches and errors, and checks that no player is ever put in two
// matches at once.
//
// It only targets loopback addresses, and spreads its connections over the
// source addresses 127.0.0.1…127.0.0.N so the server's per-address limit is
// respected; several generator processes can share one server by giving each
// its own range of source addresses.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Phases reported to Config.OnPhase.
const (
	PhaseConnected = "connected" // every player has connected (or failed): the measured window starts
	PhaseDraining  = "draining"  // the window is over: players finish their matches and leave
	PhaseDone      = "done"      // every connection is closed
)

// MaxDuration caps Config.Duration, so a mistyped flag cannot leave a run
// going for days.
const MaxDuration = 2 * time.Hour

// PerAddr is how many connections the generator opens from one source
// address when Config.Addrs is left at zero; the server allows 2,000.
const PerAddr = 1500

// Sentinel errors.
var (
	ErrNotLoopback = errors.New("loadgen: only loopback servers may be targeted")
	ErrBadConfig   = errors.New("loadgen: bad config")
	ErrNoPlayers   = errors.New("loadgen: no player connected")
)

// Config describes a run. Zero values mean the defaults given beside each
// field.
type Config struct {
	// URL is the server's WebSocket endpoint; default ws://127.0.0.1:8080/ws.
	// Its host must be a loopback address (or localhost).
	URL string
	// URLs, when set, are the nodes of a cluster: player i connects to
	// URLs[i % len(URLs)], so the players of one match are on different
	// nodes. URL is then URLs[0].
	URLs []string
	// Mode is "duel" (default) or "four".
	Mode string
	// Rooms is how many rooms play at once; there are Rooms × the mode's
	// size players. Default 10.
	Rooms int
	// Duration is the measured window, after every player has connected;
	// default 30 s, at most MaxDuration.
	Duration time.Duration
	// ThinkMin and ThinkMax bound a player's think time before answering,
	// drawn uniformly; defaults 300 ms and 1500 ms.
	// Choice questions get a random option, text questions a random string.
	ThinkMin, ThinkMax time.Duration
	// Addrs is how many source addresses connections are spread over,
	// 127.0.0.FirstAddr onwards; default: enough for PerAddr each.
	Addrs int
	// FirstAddr is the last octet of the first source address; default 1.
	// Give each of several concurrent generators its own range.
	FirstAddr int
	// DialConcurrency bounds connection attempts in flight; default 64.
	DialConcurrency int
	// ConnectTimeout bounds the connect phase; default 60 s.
	ConnectTimeout time.Duration
	// Drain is how long players still in a match when the window ends may
	// take to finish it before their connections are closed; default 60 s.
	Drain time.Duration
	// Idle players connect, say hello and then only hold their connection
	// until the window ends: a run that measures what a connection costs.
	Idle bool
	// Name prefixes the players' nicknames; default "bench".
	Name string
	// OnPhase, if set, is called (on the Run goroutine) as the run enters
	// each phase, so a caller can sample the server at the right moments.
	OnPhase func(phase string)
}

// Size returns the number of players a mode seats, or 0 for an unknown
// mode.
func Size(mode string) int {
	switch mode {
	case "duel":
		return 2
	case "four":
		return 4
	}
	return 0
}

// Players returns how many players the run uses.
func (c Config) Players() int { return c.Rooms * Size(c.Mode) }

// WithDefaults returns c with its zero fields set to the defaults, checked.
func (c Config) WithDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if len(c.URLs) > 0 {
		c.URL = c.URLs[0]
	}
	if c.URL == "" {
		c.URL = "ws://127.0.0.1:8080/ws"
	}
	if len(c.URLs) == 0 {
		c.URLs = []string{c.URL}
	}
	for _, u := range c.URLs[1:] {
		if err := CheckLoopback(u); err != nil {
			return c, err
		}
	}
	if c.Mode == "" {
		c.Mode = "duel"
	}
	if c.Rooms <= 0 {
		c.Rooms = 10
	}
	def(&c.Duration, 30*time.Second)
	def(&c.ThinkMin, 300*time.Millisecond)
	def(&c.ThinkMax, 1500*time.Millisecond)
	def(&c.ConnectTimeout, 60*time.Second)
	def(&c.Drain, 60*time.Second)
	if c.DialConcurrency <= 0 {
		c.DialConcurrency = 64
	}
	if c.FirstAddr <= 0 {
		c.FirstAddr = 1
	}
	if c.Name == "" {
		c.Name = "bench"
	}
	if Size(c.Mode) == 0 {
		return c, fmt.Errorf("%w: mode %q: use duel or four", ErrBadConfig, c.Mode)
	}
	if c.Addrs <= 0 {
		c.Addrs = (c.Players() + PerAddr - 1) / PerAddr
	}
	switch {
	case c.Duration > MaxDuration:
		return c, fmt.Errorf("%w: duration %v is over the cap of %v", ErrBadConfig, c.Duration, MaxDuration)
	case c.ThinkMax < c.ThinkMin:
		return c, fmt.Errorf("%w: think-max %v is below think-min %v", ErrBadConfig, c.ThinkMax, c.ThinkMin)
	case c.FirstAddr+c.Addrs-1 > 254:
		return c, fmt.Errorf("%w: source addresses 127.0.0.%d…%d run past .254", ErrBadConfig, c.FirstAddr, c.FirstAddr+c.Addrs-1)
	case len(c.Name) > 12:
		return c, fmt.Errorf("%w: name prefix %q is longer than 12 bytes", ErrBadConfig, c.Name)
	}
	return c, CheckLoopback(c.URL)
}

// CheckLoopback returns ErrNotLoopback unless rawURL is a ws:// URL whose
// host is a loopback address, or a name that resolves only to loopback
// addresses.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if u.Scheme != "ws" {
		return fmt.Errorf("%w: URL %q: use ws://host:port/ws", ErrBadConfig, rawURL)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%w: %s is not a loopback address", ErrNotLoopback, host)
		}
		return nil
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("%w: cannot resolve %q", ErrNotLoopback, host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%w: %s resolves to %s", ErrNotLoopback, host, ip)
		}
	}
	return nil
}

// gen is one run's shared state.
type gen struct {
	cfg      Config // Static after construction.
	size     int    // Static after construction.
	dialers  []*websocket.Dialer
	hist     Histogram // answer -> answer.ack
	wait     Histogram // match.find -> match.found
	match    Histogram // match.found -> room.finished
	stats    counters
	welcomed sync.WaitGroup // one per player until welcomed or failed
	done     sync.WaitGroup // one per player until its reader ends

	windowStart, windowEnd atomic.Int64 // UnixNano; zero until set

	// mu guards the following fields.
	mu      sync.Mutex
	rooms   map[string]*roomSeen
	players []*player
}

// roomSeen is what the generator saw of one match room.
type roomSeen struct {
	found, finished int
}

// Run plays quick matches against the server until the window ends and the
// matches in flight finish (or Drain runs out), and returns what it
// measured. It returns an error only when the run could not start (a bad
// config, or no player got in, with the Result so far); problems during the
// run are counted in the Result. Cancelling ctx ends the window
// early and closes every connection.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkFiles(cfg.Players()); err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, size: Size(cfg.Mode), rooms: map[string]*roomSeen{}}
	g.dialers, err = newDialers(cfg)
	if err != nil {
		return nil, err
	}
	phase := func(p string) {
		if cfg.OnPhase != nil {
			cfg.OnPhase(p)
		}
	}
	// The hard cap: whatever happens, the run ends by then.
	hard := cfg.ConnectTimeout + cfg.Duration + cfg.Drain + 10*time.Second
	ctx, cancel := context.WithTimeout(ctx, hard)
	defer cancel()
	cpu0 := selfCPU()
	began := time.Now()

	g.connectAll(ctx)
	connectTime := time.Since(began)
	if g.stats.welcomed.Load() == 0 {
		g.closeAll()
		g.done.Wait()
		res := g.result(connectTime, 0, selfCPU()-cpu0)
		return res, fmt.Errorf("%w (errors %v); is the server running at %s?", ErrNoPlayers, res.Errors, cfg.URL)
	}
	g.windowStart.Store(time.Now().UnixNano())
	phase(PhaseConnected)
	cpuWindow := selfCPU()

	select {
	case <-ctx.Done():
	case <-time.After(cfg.Duration):
	}
	g.windowEnd.Store(time.Now().UnixNano())
	cpuEnd := selfCPU()
	phase(PhaseDraining)
	g.stopAll()
	drained := make(chan struct{})
	go func() { g.done.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
		g.closeAll()
		<-drained
	case <-time.After(cfg.Drain):
		g.stats.forced.Store(int64(g.openCount()))
		g.closeAll()
		<-drained
	}
	phase(PhaseDone)
	return g.result(connectTime, cpuEnd-cpuWindow, selfCPU()-cpu0), nil
}

// inWindow reports whether now lies in the measured window.
func (g *gen) inWindow(now time.Time) bool {
	s, e := g.windowStart.Load(), g.windowEnd.Load()
	t := now.UnixNano()
	return s != 0 && t >= s && (e == 0 || t < e)
}

// noteFound records a match.found for room; it reports false if the room
// was announced to more players than it seats.
func (g *gen) noteFound(room string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rooms[room]
	if r == nil {
		r = &roomSeen{}
		g.rooms[room] = r
		g.stats.matchesFound.Add(1)
	}
	r.found++
	return r.found <= g.size
}

// noteFinished records a room.finished; the first one of a room counts the
// match.
func (g *gen) noteFinished(room string) {
	now := time.Now()
	g.mu.Lock()
	r := g.rooms[room]
	if r == nil {
		g.mu.Unlock()
		g.stats.violation("finished_unknown_room")
		return
	}
	r.finished++
	first := r.finished == 1
	g.mu.Unlock()
	if !first {
		return
	}
	switch {
	case g.windowStart.Load() == 0 || now.UnixNano() < g.windowStart.Load():
		g.stats.finishedWarmup.Add(1)
	case g.inWindow(now):
		g.stats.finishedWindow.Add(1)
	default:
		g.stats.finishedDrain.Add(1)
	}
}

func (g *gen) openCount() int {
	return int(g.stats.open.Load())
}

// stopAll tells every player the window is over.
func (g *gen) stopAll() {
	g.mu.Lock()
	ps := append([]*player(nil), g.players...)
	g.mu.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// closeAll closes every connection at once, ending each reader.
func (g *gen) closeAll() {
	g.mu.Lock()
	ps := append([]*player(nil), g.players...)
	g.mu.Unlock()
	for _, p := range ps {
		p.kill()
	}
}
