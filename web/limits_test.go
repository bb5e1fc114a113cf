package web_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/leitai/leitai/web"
)

// One address opening sessions faster than its budget gets rate_limited,
// however many connections it spreads them over; another connection from
// the same address cannot start afresh.
func TestPerAddressHelloLimit(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.JoinsPerSecondPerAddr = 0.001; c.JoinBurstPerAddr = 3 })
	for i := 0; i < 3; i++ {
		c := h.dial()
		c.hello("访客" + itoa(i))
	}
	c := h.dial()
	c.expectError(c.send("hello", map[string]any{"name": "第四个"}), "rate_limited")
	// Joins count against the same budget: a welcomed player cannot join.
	d := h.dial()
	d.expectError(d.send("hello", map[string]any{"name": "第五个"}), "rate_limited")
	// Pings still work: only session opening is limited.
	if m := d.reply(d.send("ping", map[string]any{"t": 1})); m.Type != "pong" {
		t.Fatalf("ping: %s", m.raw)
	}
}

func TestPerAddressJoinLimit(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.JoinsPerSecondPerAddr = 0.001; c.JoinBurstPerAddr = 2 })
	ev := h.createEvent(map[string]any{"title": "限流", "count": 1})
	c := h.dial()
	c.hello("加入者")
	if m := c.reply(c.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
		t.Fatalf("first join: %s", m.raw)
	}
	c.expectError(c.send("event.join", map[string]any{"pin": ev.PIN}), "rate_limited")
}

// Registering players and looking PINs up are limited per address: over the
// budget the answer is 429 with the API's error body and a Retry-After, and
// other requests go on.
func TestPerAddressHTTPLimits(t *testing.T) {
	h := newHarness(t, func(c *web.Config) {
		c.RegistersPerSecondPerAddr, c.RegisterBurstPerAddr = 0.001, 3
		c.PINLookupsPerSecondPerAddr, c.PINLookupBurstPerAddr = 0.001, 2
	})
	register := func(name string) *http.Response {
		resp, err := http.Post(h.url("/api/v1/players"), "application/json", strings.NewReader(`{"name":"`+name+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	lookup := func() *http.Response {
		resp, err := http.Get(h.url("/api/v1/pins/123456"))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	limited := func(what string, resp *http.Response) {
		t.Helper()
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s over the budget: status %d, want 429", what, resp.StatusCode)
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("%s: Retry-After %q", what, resp.Header.Get("Retry-After"))
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "rate_limited" || body.Error.Message == "" {
			t.Errorf("%s: body %+v (%v)", what, body, err)
		}
	}
	for i := range 3 {
		if resp := register("报名" + itoa(i)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("registration %d: status %d", i, resp.StatusCode)
		}
	}
	limited("registration", register("第四个"))
	for i := range 2 {
		resp := lookup()
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("lookup %d: status %d", i, resp.StatusCode)
		}
	}
	limited("PIN lookup", lookup())
	// The budgets are separate, and other doors stay open.
	if resp, err := http.Get(h.url("/healthz")); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}
