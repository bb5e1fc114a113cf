package stage

import (
	"bytes"
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
// journal: whatever Leitai costs beyond it is Leitai's own. So that its
// broadcasts can also be measured under answer traffic, it answers a
// message of type "answer" with a fixed answer.ack carrying the message's
// id, found by a plain byte search.
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
	out  chan bareOut
	quit chan struct{}
	once sync.Once
}

// bareOut is one message for a connection's writer: a broadcast, or an ack.
type bareOut struct {
	pm  *websocket.PreparedMessage
	ack []byte
}

func (c *bareConn) stop() { c.once.Do(func() { close(c.quit) }) }

// queue hands m to the writer, or drops a connection too slow to take it.
func (c *bareConn) queue(m bareOut) bool {
	select {
	case c.out <- m:
		return true
	default:
		c.stop()
		return false
	}
}

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
	c := &bareConn{ws: ws, out: make(chan bareOut, bareQueue), quit: make(chan struct{})}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// The handler returns, as gorilla's examples do, so net/http lets go of
	// the request's buffers; the connection has two goroutines of its own.
	s.wg.Add(2)
	go func() { defer s.wg.Done(); c.writeLoop() }()
	go func() { defer s.wg.Done(); s.readLoop(c) }()
}

// readLoop reads what the client sends (so control frames are handled),
// acks answers and drops the rest, until the connection ends. Runs in its
// own goroutine.
func (s *BareServer) readLoop(c *bareConn) {
	c.ws.SetReadLimit(16 << 10)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		if id, ok := answerID(b); ok {
			c.queue(bareOut{ack: []byte(`{"type":"answer.ack","re":"` + id + `","data":{"accepted":true}}`)})
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
		case m := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			var err error
			if m.pm != nil {
				err = c.ws.WritePreparedMessage(m.pm)
			} else {
				err = c.ws.WriteMessage(websocket.TextMessage, m.ack)
			}
			if err != nil {
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
		if c.queue(bareOut{pm: pm}) {
			n++
		}
	}
	return n, nil
}

// answerID returns the id of a message of type "answer", as the load
// generator writes it: {"type":"answer","id":"…",…}.
func answerID(b []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"type":"answer","id":"`))
	if !ok {
		return "", false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || i > 64 {
		return "", false
	}
	return string(rest[:i]), true
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
