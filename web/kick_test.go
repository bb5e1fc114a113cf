package web_test

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/clock"
)

// dialFrom connects from another loopback address (127.0.0.0/8 all reaches
// the server), so that a test can have clients at different addresses.
func (h *harness) dialFrom(ip string) *client {
	h.t.Helper()
	d := websocket.Dialer{NetDial: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).Dial}
	ws, _, err := d.Dial("ws://"+h.addr+"/ws", nil)
	if err != nil {
		h.t.Fatalf("dial from %s: %v", ip, err)
	}
	c := &client{t: h.t, h: h, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	go c.read()
	h.t.Cleanup(func() { ws.Close() })
	return c
}

// joinAs says hello as a new guest named name from ip and joins the event;
// it returns the reply to event.join.
func (h *harness) joinAs(ip, name, pin string) msg {
	h.t.Helper()
	c := h.dialFrom(ip)
	c.hello(name)
	return c.reply(c.send("event.join", map[string]any{"pin": pin}))
}

// TestKickBarsNameAndAddress: a kicked contestant cannot come back as a new
// guest with its name (in any case or width) nor with another name from its
// address, also after a restart, until the host allows it back; then it can.
func TestKickBarsNameAndAddress(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h := startHarness(t, dir, clk, nil)
	ev := h.createEvent(map[string]any{"title": "踢出", "count": 3})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))

	troll := h.dialFrom("127.0.0.2")
	troll.hello("Troll")
	if m := troll.reply(troll.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
		t.Fatalf("join: %s", m.raw)
	}
	if m := h.joinAs("127.0.0.3", "路人", ev.PIN); m.Type != "room.state" {
		t.Fatalf("join: %s", m.raw)
	}
	if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "kick", "player": troll.id})); m.Type != "ok" {
		t.Fatalf("kick: %s", m.raw)
	}
	troll.expect("kicked")
	if code := troll.waitClosed(); code != 4003 {
		t.Fatalf("kicked: close %d", code)
	}

	refused := func(h *harness, ip, name, why string) {
		t.Helper()
		m := h.joinAs(ip, name, ev.PIN)
		var e struct{ Code, Message string }
		m.decode(t, &e)
		if m.Type != "error" || e.Code != "forbidden" || !strings.Contains(e.Message, why) {
			t.Fatalf("%s from %s: %s", name, ip, m.raw)
		}
	}
	barred := func(h *harness) {
		t.Helper()
		refused(h, "127.0.0.4", "Troll", `removed "Troll"`)
		refused(h, "127.0.0.4", " ＴＲＯＬＬ ", `removed "ＴＲＯＬＬ"`)
		refused(h, "127.0.0.2", "Angel", "from this address")
	}
	barred(h)
	if m := h.joinAs("127.0.0.4", "Angel", ev.PIN); m.Type != "room.state" {
		t.Fatalf("another name from another address: %s", m.raw)
	}

	// The bar is in the journal: it holds after a restart.
	h.stop()
	h = startHarness(t, dir, clk, nil)
	barred(h)
	host = h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	c := h.dial()
	c.hello("路人甲")
	c.expectError(c.send("host.control", map[string]any{"room": ev.Room, "action": "allow", "player": troll.id}), "forbidden")
	host.expectError(host.send("host.control", map[string]any{"room": ev.Room, "action": "allow", "player": "p-nobody"}), "not_found")
	if m := host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "allow", "player": troll.id})); m.Type != "ok" {
		t.Fatalf("allow: %s", m.raw)
	}
	if m := h.joinAs("127.0.0.2", "Angel 2", ev.PIN); m.Type != "room.state" {
		t.Fatalf("another name from the address after allow: %s", m.raw)
	}
	back := h.dialFrom("127.0.0.2")
	back.welcomed(back.send("hello", map[string]any{"resume": troll.resume}))
	if m := back.reply(back.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" || !strings.Contains(string(m.raw), `"Troll"`) {
		t.Fatalf("the kicked player after allow: %s", m.raw)
	}

	// So does the allow.
	h.stop()
	h = startHarness(t, dir, clk, nil)
	if m := h.joinAs("127.0.0.5", "troll", ev.PIN); m.Type != "room.state" {
		t.Fatalf("the name after allow and a restart: %s", m.raw)
	}
}
