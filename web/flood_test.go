package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/web"
)

// rateLimited counts the rate_limited errors c has received.
func rateLimited(c *client) int {
	n := 0
	for _, m := range c.all() {
		if m.Type == "error" && strings.Contains(string(m.raw), `"rate_limited"`) {
			n++
		}
	}
	return n
}

// TestFloodIsRateLimitedOnceThenClosed1008: a connection sending answers and
// pings as fast as it can, with the default limits and send queue, is told
// rate_limited once (its flood stays within one rate window: the limits'
// clock stands still) and then closed with 1008, not taken for a slow
// reader (4002): refusals do not fill its send queue.
func TestFloodIsRateLimitedOnceThenClosed1008(t *testing.T) {
	rates := clock.NewFake(t0)
	h := startHarnessWith(t, harnessOpts{clock: clock.NewFake(t0), rates: rates})
	c := h.dial()
	c.hello("洪水")
	ping := []byte(`{"type":"ping","id":"p","data":{"t":1}}`)
	answer := []byte(`{"type":"answer","id":"a","data":{"room":"r-nowhere","index":0,"choice":["A"]}}`)
	for i := 0; i < 400; i++ {
		b := ping
		if i%2 == 1 {
			b = answer
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			break // closed under us: that is the point
		}
	}
	if code := c.waitClosed(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008; got %s", code, c.summary())
	}
	if n := rateLimited(c); n != 1 {
		t.Fatalf("%d rate_limited replies, want 1", n)
	}
}

// TestBriefFloodsAreForgiven: a connection that floods for a moment, then
// behaves for a while, again and again, is told rate_limited each time and
// stays connected: its strikes drain while it behaves. Its refusals add up
// to far more than a flood that gets a connection closed.
func TestBriefFloodsAreForgiven(t *testing.T) {
	rates := clock.NewFake(t0)
	h := startHarnessWith(t, harnessOpts{clock: clock.NewFake(t0), rates: rates, cfg: func(c *web.Config) {
		c.MessagesPerSecond, c.MessageBurst = 5, 5 // closed beyond 10 strikes
	}})
	c := h.dial()
	c.hello("阵雨")
	rates.Advance(time.Second) // the hello's token back
	const rounds, over = 8, 7  // 56 refused in all
	refused := 0.0
	for r := 1; r <= rounds; r++ {
		var ids []string
		for i := 0; i < 5+over; i++ {
			ids = append(ids, c.send("ping", map[string]any{"t": i}))
		}
		for _, id := range ids[:5] {
			if m := c.reply(id); m.Type != "pong" {
				t.Fatalf("round %d: %s", r, m.raw)
			}
		}
		// The refusal is not decoded, so its reply carries no re.
		c.expectFn("rate_limited", func(m msg) bool { return m.Type == "error" && strings.Contains(string(m.raw), `"rate_limited"`) })
		refused += over
		waitFor(t, "the refusals counted", func() bool { return h.metric("leitai_rate_limited_total") == refused })
		// A quiet while: the bucket fills and the strikes drain.
		rates.Advance(10 * time.Second)
		if m := c.reply(c.send("ping", map[string]any{"t": 0})); m.Type != "pong" {
			t.Fatalf("round %d: a quiet ping: %s", r, m.raw)
		}
		rates.Advance(time.Second) // its token back
	}
	if n := rateLimited(c); n != rounds {
		t.Fatalf("%d rate_limited replies, want one per flood (%d)", n, rounds)
	}
}
