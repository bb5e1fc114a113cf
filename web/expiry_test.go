package web_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// TestGuestsAndTokensExpire: on the fake clock, the sweep removes a guest
// who never played a day after it came and keeps one who joined an event;
// it removes a player token nobody presented for the set time and keeps
// one that was used, and an ended event's host token.
func TestGuestsAndTokensExpire(t *testing.T) {
	clk := clock.NewFake(t0)
	h := startHarness(t, t.TempDir(), clk, func(c *web.Config) {
		c.Expiry = web.ExpiryConfig{Guests: 24 * time.Hour, UnusedTokens: 48 * time.Hour, EventTokens: 12 * time.Hour}
	})
	ctx := t.Context()
	gone := func(id string) bool {
		_, err := h.st.Player(ctx, id)
		return errors.Is(err, store.ErrNotFound)
	}
	tokenGone := func(secret string) bool {
		_, err := h.st.Token(ctx, token.Hash(secret))
		return errors.Is(err, store.ErrNotFound)
	}

	idle := h.dial()
	idle.hello("看客")
	player := h.dial()
	player.hello("选手")
	ev := h.createEvent(map[string]any{"title": "过期", "count": 1})
	if m := player.reply(player.send("event.join", map[string]any{"pin": ev.PIN})); m.Type != "room.state" {
		t.Fatalf("join: %s", m.raw)
	}
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	h.control(host, ev.Room, "end")
	var used, unused struct{ ID, Token string }
	if code := h.api("POST", "/api/v1/players", "", map[string]any{"name": "常客"}, &used); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	if code := h.api("POST", "/api/v1/players", "", map[string]any{"name": "稀客"}, &unused); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}

	// A day and an hour on: the guest who never played is gone with its
	// token; the one who played stays; so do the registered players; the
	// ended event's host token is gone.
	h.advance(25 * time.Hour)
	waitFor(t, "the idle guest to be removed", func() bool { return gone(idle.id) })
	for _, id := range []string{player.id, used.ID, unused.ID} {
		if gone(id) {
			t.Fatalf("player %s was removed", id)
		}
	}
	if !tokenGone(idle.resume) {
		t.Errorf("the idle guest's resume token is still there")
	}
	if !tokenGone(ev.HostToken) || !tokenGone(ev.ScreenToken) {
		t.Errorf("the ended event's host or screen token is still there")
	}

	// One player presents its token; a day and an hour later the other
	// token has gone unused for two days and is removed, with its player
	// (which never played); the used one stays.
	c := h.dial()
	c.welcomed(c.send("hello", map[string]any{"token": used.Token}))
	h.advance(25 * time.Hour)
	waitFor(t, "the unused token to be removed", func() bool { return tokenGone(unused.Token) })
	if tokenGone(used.Token) || gone(used.ID) {
		t.Errorf("the used token or its player was removed")
	}
	if !gone(unused.ID) {
		t.Errorf("the player of the unused token, who never played, is still there")
	}
	if gone(player.id) {
		t.Errorf("the guest who played was removed")
	}
}
