package stage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// eventCreated is the part of POST /api/v1/events' reply the run needs.
type eventCreated struct {
	ID        string `json:"id"`
	Room      string `json:"room"`
	PIN       string `json:"pin"`
	HostToken string `json:"host_token"`
}

// httpBase turns ws://host:port/ws into http://host:port.
func httpBase(wsURL string) string {
	u, err := url.Parse(wsURL)
	if err != nil {
		return ""
	}
	return "http://" + u.Host
}

// createEvent asks the server for a host-paced event of n questions.
func createEvent(ctx context.Context, wsURL, token string, n int, limit time.Duration) (*eventCreated, error) {
	body, _ := json.Marshal(map[string]any{
		"title": "leitai bench event", "count": n, "time_limit_ms": limit.Milliseconds(),
		"auto_advance": false, "late_join": true,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, httpBase(wsURL)+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("stage: create event: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("stage: create event: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var ev eventCreated
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("stage: create event: %w", err)
	}
	return &ev, nil
}

// reply is a server message answering one of a client's requests.
type reply struct {
	typ, code string
}

// client is the coordinator's own connection: the host that drives the
// event, or the sentinel contestant that never answers (so a question stays
// open until the host reveals it) and keeps a copy of each question and
// reveal as the server framed it, for the bare run to send.
type client struct {
	ws *websocket.Conn // Static after construction.

	// mu serializes writes and guards the following fields.
	mu       sync.Mutex
	seq      int
	waiting  map[string]chan reply
	question map[int][]byte
	reveal   map[int][]byte
	done     chan struct{}
	// finished is closed when room.finished comes.
	finished chan struct{}
}

func dialClient(ctx context.Context, wsURL string) (*client, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.DialContext(ctx, wsURL, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &client{ws: ws, waiting: map[string]chan reply{}, question: map[int][]byte{}, reveal: map[int][]byte{}, done: make(chan struct{}), finished: make(chan struct{})}
	go c.read()
	return c, nil
}

// read dispatches replies and keeps frames. Runs in its own goroutine.
func (c *client) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		typ := msgType(b)
		c.mu.Lock()
		switch typ {
		case "question":
			if i := intAfter(b, `"index":`); i >= 0 && c.question[i] == nil {
				c.question[i] = b
			}
		case "reveal":
			if i := intAfter(b, `"index":`); i >= 0 && c.reveal[i] == nil {
				c.reveal[i] = b
			}
		case "room.finished":
			select {
			case <-c.finished:
			default:
				close(c.finished)
			}
		}
		if re := reOf(b); re != "" {
			if ch, ok := c.waiting[re]; ok {
				delete(c.waiting, re)
				r := reply{typ: typ}
				if typ == "error" {
					var e struct {
						Data struct {
							Code    string `json:"code"`
							Message string `json:"message"`
						} `json:"data"`
					}
					_ = json.Unmarshal(b, &e)
					r.code = e.Data.Code + ": " + e.Data.Message
				}
				ch <- r
			}
		}
		c.mu.Unlock()
	}
}

// send writes a request and returns the moment it was handed to the
// socket and a channel for the reply.
func (c *client) send(typ string, data any) (time.Time, <-chan reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := "c" + strconv.Itoa(c.seq)
	ch := make(chan reply, 1)
	c.waiting[id] = ch
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	at := time.Now()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		delete(c.waiting, id)
		return at, nil, err
	}
	return at, ch, nil
}

// call sends a request and waits for its reply; an error reply is an error.
func (c *client) call(typ string, data any, timeout time.Duration) (reply, error) {
	_, ch, err := c.send(typ, data)
	if err != nil {
		return reply{}, err
	}
	return c.wait(typ, ch, timeout)
}

func (c *client) wait(what string, ch <-chan reply, timeout time.Duration) (reply, error) {
	select {
	case r := <-ch:
		if r.typ == "error" {
			return r, fmt.Errorf("stage: %s: %s", what, r.code)
		}
		return r, nil
	case <-c.done:
		return reply{}, fmt.Errorf("stage: %s: connection closed", what)
	case <-time.After(timeout):
		return reply{}, fmt.Errorf("stage: %s: no reply in %v", what, timeout)
	}
}

// frame returns the kept question or reveal i, waiting up to timeout for
// it to arrive; nil if it did not.
func (c *client) frame(kind string, i int, timeout time.Duration) []byte {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		f := c.reveal[i]
		if kind == kindQuestion {
			f = c.question[i]
		}
		c.mu.Unlock()
		if f != nil || time.Now().After(deadline) {
			return f
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *client) close() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench over")
	c.mu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.mu.Unlock()
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
	}
	c.ws.Close()
}

// postBroadcast asks the bare server to send msg to every connection.
func postBroadcast(ctx context.Context, wsURL string, msg []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, httpBase(wsURL)+"/broadcast", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stage: bare broadcast: %s", resp.Status)
	}
	return nil
}
