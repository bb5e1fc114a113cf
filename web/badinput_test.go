package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/web"
)

func TestBadInput(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial()

	// Before welcome only hello and ping are served.
	c.expectError(c.send("match.find", map[string]any{"mode": "duel"}), "unauthenticated")
	if m := c.reply(c.send("ping", map[string]any{"t": 42})); m.Type != "pong" {
		t.Fatalf("ping before hello: %s", m.raw)
	}
	// A bad name is refused and the connection can try again.
	c.expectError(c.send("hello", map[string]any{"name": "   "}), "bad_request")
	c.expectError(c.send("hello", map[string]any{"name": strings.Repeat("长", 33)}), "bad_request")
	c.hello("正常")

	// Malformed JSON: bad_request with no re.
	c.sendRaw([]byte(`{"type":"answer",`))
	m := c.expectFn("error for malformed JSON", func(m msg) bool { return m.Type == "error" && m.Re == "" })
	if !strings.Contains(string(m.raw), "bad_request") {
		t.Fatalf("malformed JSON: %s", m.raw)
	}
	// Not an object, wrong field types, over-long ids.
	c.sendRaw([]byte(`[1,2,3]`))
	c.expectFn("error for array", func(m msg) bool { return m.Type == "error" && strings.Contains(string(m.raw), "bad_request") })
	c.sendRaw([]byte(`{"type":"answer","id":"x1","data":{"room":5}}`))
	c.expectError("x1", "bad_request")
	c.sendRaw([]byte(`{"type":"ping","id":"` + strings.Repeat("i", 65) + `"}`))
	c.expectFn("error for long id", func(m msg) bool { return m.Type == "error" && strings.Contains(string(m.raw), "id longer") })
	// Unknown type: an error that carries re.
	c.expectError(c.send("teleport", map[string]any{}), "bad_request")
	// A second hello, an unknown mode, a room that does not exist.
	c.expectError(c.send("hello", map[string]any{"name": "again"}), "wrong_phase")
	c.expectError(c.send("match.find", map[string]any{"mode": "chess"}), "bad_request")
	c.expectError(c.send("answer", map[string]any{"room": "r-nope", "index": 0, "choice": []string{"A"}}), "not_found")
	c.expectError(c.send("event.join", map[string]any{"pin": "000000", "name": "x"}), "not_found")
	c.expectError(c.send("host.control", map[string]any{"room": "r-nope", "action": "start"}), "forbidden")
	c.expectError(c.send("watch", map[string]any{"room": "r-nope"}), "forbidden")
	// Still alive after all that.
	if m := c.reply(c.send("ping", map[string]any{"t": 1})); m.Type != "pong" {
		t.Fatalf("ping: %s", m.raw)
	}
}

func TestBadTokens(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial()
	c.expectError(c.send("hello", map[string]any{"token": "not-a-token"}), "unauthenticated")
	c.expectError(c.send("hello", map[string]any{"resume": "not-a-token"}), "unauthenticated")
}

func TestOversizedFrameCloses1009(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial()
	c.hello("大")
	c.sendRaw([]byte(`{"type":"ping","data":{"pad":"` + strings.Repeat("x", 17<<10) + `"}}`))
	if code := c.waitClosed(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestNoHelloCloses1008(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.HelloTimeout = 200 * time.Millisecond })
	c := h.dial()
	if code := c.waitClosed(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

func TestFloodIsRateLimitedThenClosed(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.MessagesPerSecond = 5; c.MessageBurst = 5 })
	c := h.dial()
	c.hello("洪水")
	for i := 0; i < 200; i++ {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","data":{"t":1}}`)); err != nil {
			break // closed under us: that is the point
		}
	}
	c.expectFn("rate_limited", func(m msg) bool { return m.Type == "error" && strings.Contains(string(m.raw), "rate_limited") })
	if code := c.waitClosed(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

func TestOriginCheck(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.AllowedOrigins = []string{"https://quiz.example.org"} })
	hdr := http.Header{"Origin": {"https://evil.example.com"}}
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ws", hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err %v, resp %v", err, resp)
	}
	for _, o := range []string{"https://quiz.example.org", "http://" + h.addr} {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ws", http.Header{"Origin": {o}})
		if err != nil {
			t.Fatalf("allowed origin %s refused: %v", o, err)
		}
		ws.Close()
	}
}

func TestSecondConnectionReplacesFirst(t *testing.T) {
	h := newHarness(t, nil)
	a := h.dial()
	w := a.hello("双开")
	b := h.dial()
	if w2 := b.welcomed(b.send("hello", map[string]any{"resume": w.Resume})); w2.Player.ID != w.Player.ID {
		t.Fatalf("resumed as %s, want %s", w2.Player.ID, w.Player.ID)
	}
	if code := a.waitClosed(); code != 4001 {
		t.Fatalf("old connection closed with %d, want 4001", code)
	}
}
