package stage

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// BareServer is the yardstick the benchmark holds Leitai against: the
// plainest broadcast gorilla/websocket allows. It accepts WebSocket
// connections on /ws and holds them, each with one reader goroutine that
// discards input and one writer goroutine fed by a small channel (the
// pattern of gorilla's chat example); a POST to
// /broadcast turns its body into one PreparedMessage and hands it to every
// connection. Buffers are 1 KiB, the write buffers pooled — the same
// settings as Leitai's gateway. It has no sessions, rooms, JSON or
// journal: whatever Leitai costs beyond it is Leitai's own.
type BareServer struct {
	upgrader websocket.Upgrader

	// mu guards conns.
	mu    sync.Mutex
	conns map[*bareConn]struct{}
	wg    sync.WaitGroup
}

// bareQueue is each connection's outbound queue; a connection that lets it
// fill is dropped, as a real server would.
const bareQueue = 16

type bareConn struct {
	ws   *websocket.Conn
	out  chan *websocket.PreparedMessage
	quit chan struct{}
	once sync.Once
}

func (c *bareConn) stop() { c.once.Do(func() { close(c.quit) }) }

// NewBareServer makes a bare broadcast server.
func NewBareServer() *BareServer {
	return &BareServer{
		upgrader: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}},
		conns:    map[*bareConn]struct{}{},
	}
}

// Handler serves /ws, POST /broadcast and GET /conns.
func (s *BareServer) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /ws", s.serveWS)
	m.HandleFunc("POST /broadcast", s.serveBroadcast)
	m.HandleFunc("GET /conns", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		_, _ = w.Write([]byte(strconv.Itoa(n)))
	})
	return m
}

func (s *BareServer) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &bareConn{ws: ws, out: make(chan *websocket.PreparedMessage, bareQueue), quit: make(chan struct{})}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// The handler returns, as gorilla's examples do, so net/http lets go of
	// the request's buffers; the connection has two goroutines of its own.
	s.wg.Add(2)
	go func() { defer s.wg.Done(); c.writeLoop() }()
	go func() { defer s.wg.Done(); s.readLoop(c) }()
}

// readLoop reads and drops whatever the client sends (so control frames
// are handled) until the connection ends. Runs in its own goroutine.
func (s *BareServer) readLoop(c *bareConn) {
	c.ws.SetReadLimit(16 << 10)
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			break
		}
	}
	c.stop()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// writeLoop is the connection's only writer. Runs in its own goroutine.
func (c *bareConn) writeLoop() {
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	defer c.ws.Close()
	for {
		select {
		case pm := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WritePreparedMessage(pm); err != nil {
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
				return
			}
		case <-c.quit:
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		}
	}
}

// Broadcast writes msg to every connection and returns how many it was
// queued for.
func (s *BareServer) Broadcast(msg []byte) (int, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, msg)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		select {
		case c.out <- pm:
			n++
		default:
			c.stop() // too slow
		}
	}
	return n, nil
}

func (s *BareServer) serveBroadcast(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || len(body) == 0 {
		http.Error(w, "a broadcast needs a body", http.StatusBadRequest)
		return
	}
	n, err := s.Broadcast(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]int{"queued": n})
}

// Run serves on ln until ctx ends, then closes every connection.
func (s *BareServer) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
