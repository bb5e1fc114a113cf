package web_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/web"
)

// trickled is what became of a request whose body was sent slowly.
type trickled struct {
	status  int  // the response's status; 0 if none came
	sentAll bool // the whole body went out
	closed  bool // the server closed the connection
}

// trickle sends head at once, then body one chunk per tick, until the body
// is sent or the server answers or closes. The pace is the client's own,
// not a measurement.
func trickle(t *testing.T, addr, head string, body []byte, chunk int, every time.Duration) trickled {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	var out trickled
	answered, closed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(closed)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			out.status = resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		close(answered)
		// Then wait for the server to close, or the safety deadline. A
		// close with our bytes still unread arrives as a reset, not an
		// EOF: that is a close too; only the deadline is not.
		var ne net.Error
		if _, err := io.Copy(io.Discard, br); err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
			out.closed = true
		}
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	sent := 0
	for sent < len(body) {
		select {
		case <-answered:
			conn.Close()
			<-closed
			return out
		case <-tick.C:
		}
		n := min(chunk, len(body)-sent)
		if _, err := conn.Write(body[sent : sent+n]); err != nil {
			break
		}
		sent += n
	}
	out.sentAll = sent == len(body)
	if out.sentAll {
		<-answered
		conn.Close()
	}
	<-closed
	return out
}

// A request body that trickles in is cut off at ReadTimeout; an idle
// keep-alive connection and a request whose headers never end are closed.
// An organizer's upload gets TransferTimeout instead, and a WebSocket lives
// on past every one of these timeouts.
func TestSlowBodiesAndIdleConnectionsAreClosed(t *testing.T) {
	h := newHarness(t, func(c *web.Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
		c.ReadTimeout = 500 * time.Millisecond
		c.WriteTimeout = 500 * time.Millisecond
		c.IdleTimeout = 300 * time.Millisecond
	})
	ws := h.dial()
	ws.hello("长连接")

	// A body of 200 bytes at one byte per 100 ms would take 20 s.
	body := []byte(`{"name":"慢慢来","org":"` + strings.Repeat("x", 170) + `"}`)
	head := "POST /api/v1/players HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if got := trickle(t, h.addr, head, body, 1, 100*time.Millisecond); got.sentAll || !got.closed {
		t.Fatalf("a trickling body was not cut off: %+v", got)
	}

	// The organizer's upload, sent in six chunks over at least 600 ms (more
	// than ReadTimeout), is read to the end and imported.
	csv := []byte("type,text,a,b,answer\nsingle,1+1=?,2,3,A\nsingle,2+2=?,4,5,A\n")
	head = "POST /api/v1/questionsets?format=csv&name=slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.orgToken() +
		"\r\nContent-Length: " + strconv.Itoa(len(csv)) + "\r\n\r\n"
	if got := trickle(t, h.addr, head, csv, (len(csv)+5)/6, 100*time.Millisecond); !got.sentAll || got.status != http.StatusCreated {
		t.Fatalf("an organizer's slow upload: %+v", got)
	}

	// A keep-alive connection left idle after a request is closed.
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	br := bufio.NewReader(conn)
	_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: read %v, want EOF", err)
	}

	// Headers that never end.
	slow, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_ = slow.SetReadDeadline(time.Now().Add(waitTimeout))
	_, _ = io.WriteString(slow, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	if _, err := io.Copy(io.Discard, slow); err != nil {
		t.Fatalf("unfinished headers: %v, want the server to close", err)
	}

	// All of that took longer than every HTTP timeout; the WebSocket,
	// upgraded before it, still answers.
	if m := ws.reply(ws.send("ping", map[string]any{"t": 1})); m.Type != "pong" {
		t.Fatalf("ping after the HTTP timeouts: %s", m.raw)
	}
}
