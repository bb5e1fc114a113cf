package nodetest

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Msg is a message a client received.
type Msg struct {
	Type string          `json:"type"`
	Re   string          `json:"re"`
	Data json.RawMessage `json:"data"`
	Raw  []byte          `json:"-"`
}

// Decode decodes the message's data into v.
func (m Msg) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Data, v); err != nil {
		t.Fatalf("decode %s: %v (%s)", m.Type, err, m.Raw)
	}
}

// Client is a WebSocket client that records everything it receives.
type Client struct {
	t    testing.TB
	Node *Node
	ws   *websocket.Conn

	mu     sync.Mutex
	cond   *sync.Cond
	got    []Msg
	used   []bool
	closed bool
	code   int // the close code received

	wmu sync.Mutex
	seq int

	ID, Name, Resume string
}

// Wait bounds how long a client waits for a message it expects.
const Wait = 20 * time.Second

// Dial connects to the node's /ws.
func (n *Node) Dial() *Client {
	t := n.c.t
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+n.Addr+"/ws", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", n.ID, err)
	}
	c := &Client{t: t, Node: n, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	go c.read()
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *Client) read() {
	for {
		_, b, err := c.ws.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.closed = true
			if ce, ok := err.(*websocket.CloseError); ok {
				c.code = ce.Code
			}
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		var m Msg
		if json.Unmarshal(b, &m) != nil {
			m.Type = "!badjson"
		}
		m.Raw = b
		c.got = append(c.got, m)
		c.used = append(c.used, false)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// Send writes a request and returns its id.
func (c *Client) Send(typ string, data any) string {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.seq++
	id := typ + "-" + strconv.Itoa(c.seq)
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send %s: %v", typ, err)
	}
	return id
}

// ExpectFn returns the first message not returned before that matches
// pred, waiting for it up to Wait.
func (c *Client) ExpectFn(what string, pred func(Msg) bool) Msg {
	c.t.Helper()
	m, ok := c.await(pred, Wait)
	if !ok {
		c.t.Fatalf("%s on %s: no %s within %v (closed %v, code %d); last:%s", c.Name, c.Node.ID, what, Wait, c.closed, c.code, c.summary())
	}
	return m
}

func (c *Client) await(pred func(Msg) bool, wait time.Duration) (Msg, bool) {
	deadline := time.Now().Add(wait)
	timer := time.AfterFunc(wait, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i := range c.got {
			if !c.used[i] && pred(c.got[i]) {
				c.used[i] = true
				return c.got[i], true
			}
		}
		if c.closed || time.Now().After(deadline) {
			return Msg{}, false
		}
		c.cond.Wait()
	}
}

func (c *Client) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.got[max(0, len(c.got)-8):] {
		b.WriteString(" ")
		b.Write(m.Raw)
	}
	return b.String()
}

// Expect waits for a message of type typ.
func (c *Client) Expect(typ string) Msg {
	c.t.Helper()
	return c.ExpectFn(typ, func(m Msg) bool { return m.Type == typ })
}

// Reply waits for the reply to request id.
func (c *Client) Reply(id string) Msg {
	c.t.Helper()
	return c.ExpectFn("reply to "+id, func(m Msg) bool { return m.Re == id })
}

// Closed waits for the server to close the connection and returns the
// close code.
func (c *Client) Closed() int {
	c.t.Helper()
	deadline := time.Now().Add(Wait)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not closed within %v", c.Name, Wait)
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		c.mu.Lock()
	}
	return c.code
}

// Welcome is the data of a welcome.
type Welcome struct {
	Player struct{ ID, Name string }
	Role   string
	Resume string
	Event  *struct{ ID, Room, PIN string }
}

// Hello opens a session: a guest named name, or with token or resume set
// in data.
func (c *Client) Hello(data map[string]any) Welcome {
	c.t.Helper()
	m := c.Reply(c.Send("hello", data))
	if m.Type != "welcome" {
		c.t.Fatalf("hello on %s: %s", c.Node.ID, m.Raw)
	}
	var w Welcome
	m.Decode(c.t, &w)
	c.ID, c.Resume = w.Player.ID, w.Resume
	if n, ok := data["name"].(string); ok {
		c.Name = n
	}
	return w
}

// Drop closes the connection from the client's side without a goodbye, as
// a lost network does.
func (c *Client) Drop() { _ = c.ws.Close() }
