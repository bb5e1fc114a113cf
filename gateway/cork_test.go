package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/protocol"
)

// countedConn counts the writes and write deadlines that reach a real
// socket.
type countedConn struct {
	net.Conn
	mu        sync.Mutex
	writes    []int // bytes per write
	deadlines int
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines++
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *countedConn) counts() (writes, deadlines int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes), c.deadlines
}

// wsPair is a server-side conn, its socket counted under the corkConn, and
// the client's end, over a real loopback connection.
func wsPair(t *testing.T) (*conn, *countedConn, *websocket.Conn) {
	t.Helper()
	type served struct {
		ws      *websocket.Conn
		counted *countedConn
	}
	got := make(chan served, 1)
	up := websocket.Upgrader{WriteBufferPool: &sync.Pool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkWriter{ResponseWriter: w}
		ws, err := up.Upgrade(cw, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		// Count what reaches the socket under the corkConn.
		counted := &countedConn{Conn: cw.conn.Conn}
		cw.conn.Conn = counted
		got <- served{ws, counted}
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	s := <-got
	t.Cleanup(func() { s.ws.Close() })
	c := &conn{srv: &Gateway{cfg: Config{WriteWait: 10 * time.Second}}, ws: s.ws, out: make(chan *protocol.Frame, 16)}
	c.nc, _ = s.ws.NetConn().(*corkConn)
	if c.nc == nil {
		t.Fatal("the upgraded connection's socket is not a corkConn")
	}
	return c, s.counted, client
}

func readTexts(t *testing.T, ws *websocket.Conn, n int) []string {
	t.Helper()
	var out []string
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range n {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read after %v: %v", out, err)
		}
		out = append(out, string(b))
	}
	return out
}

// Frames queued behind one another go to the socket in one write, in
// order; a frame that starts a question's clock goes in a write of its
// own, after the frames before it.
func TestWriterBatchesQueuedFrames(t *testing.T) {
	c, counted, client := wsPair(t)
	frame := func(s string) *protocol.Frame { return protocol.NewFrame([]byte(s)) }
	marked := frame("question")
	marked.Mark = &protocol.Mark{Room: "r", Index: 0}
	for _, f := range []*protocol.Frame{frame("ack"), frame("progress"), marked, frame("after")} {
		c.out <- f
	}
	before, _ := counted.counts()
	for len(c.out) > 0 {
		if err := c.writeBatch(<-c.out); err != nil {
			t.Fatal(err)
		}
	}
	got := readTexts(t, client, 4)
	if strings.Join(got, ",") != "ack,progress,question,after" {
		t.Fatalf("the client read %v", got)
	}
	writes, _ := counted.counts()
	// ack and progress together; the question alone (it ends its batch);
	// then what came after it.
	if n := writes - before; n != 3 {
		t.Fatalf("%d writes reached the socket for 4 frames, want 3", n)
	}
}

// A write from another goroutine while the writer has the socket corked
// goes out with the batch, whole and in order; uncorked, writes go straight
// through. An unchanged write deadline is not given to the socket again.
func TestCorkConnGathersAndPassesThrough(t *testing.T) {
	c, counted, client := wsPair(t)
	w0, d0 := counted.counts()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte("alone")); err != nil {
		t.Fatal(err)
	}
	if w, _ := counted.counts(); w != w0+1 {
		t.Fatalf("an uncorked write made %d writes, want 1", w-w0)
	}
	c.nc.cork()
	for _, m := range []string{"one", "two", "three"} {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if w, _ := counted.counts(); w != w0+1 {
		t.Fatalf("corked writes reached the socket before the uncork (%d writes)", w-w0-1)
	}
	if err := c.nc.uncork(); err != nil {
		t.Fatal(err)
	}
	if got := readTexts(t, client, 4); strings.Join(got, ",") != "alone,one,two,three" {
		t.Fatalf("the client read %v", got)
	}
	w, d := counted.counts()
	if w != w0+2 {
		t.Fatalf("%d writes for one message and a batch of three, want 2", w-w0)
	}
	// The library gives the deadline before each of the four frames; it
	// never changed, so the socket got it at most once.
	if d-d0 > 1 {
		t.Fatalf("the unchanged write deadline reached the socket %d times", d-d0)
	}
	if c.nc.gathered() != 0 {
		t.Fatal("bytes left gathered after the uncork")
	}
}
