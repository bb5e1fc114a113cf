package web_test

import (
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
