package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/web"
)

// A host-paced event waits while its host is away; the host comes back with
// its token and carries on. An auto-advancing event goes on by itself.
func TestHostDropsAndReturns(t *testing.T) {
	h := newHarness(t, nil)
	for _, auto := range []bool{false, true} {
		ev := h.createEvent(map[string]any{"title": "主持人掉线", "count": 2, "time_limit_ms": 10000, "auto_advance": auto, "reveal_ms": 2000})
		host := h.dial()
		host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
		p := h.dial()
		p.hello("选手")
		p.reply(p.send("event.join", map[string]any{"pin": ev.PIN}))
		host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"}))
		h.advance(3 * time.Second)
		q := h.nextQuestion(p)
		p.reply(p.send("answer", h.correctAnswer(q)))
		p.expect("reveal")
		host.ws.Close() // the host's phone dies during the reveal
		if auto {
			h.advance(2 * time.Second) // the reveal's time
		} else {
			h.advance(time.Minute)
		}
		if auto {
			p.expect("question") // goes on by itself
		}
		back := h.dial()
		w := back.welcomed(back.send("hello", map[string]any{"token": ev.HostToken}))
		if w.Role != "host" {
			t.Fatalf("host came back as %+v", w)
		}
		// The watch reply comes from the room's goroutine, which took the
		// clock's tick long before the returning host's hello: it shows
		// the room as the minute without a host left it.
		var st struct {
			Phase string
			Index int
		}
		back.reply(back.send("watch", map[string]any{"room": ev.Room})).decode(t, &st)
		control := func(action string) {
			t.Helper()
			if m := back.reply(back.send("host.control", map[string]any{"room": ev.Room, "action": action})); m.Type != "ok" {
				t.Fatalf("%s: %s", action, m.raw)
			}
		}
		if auto {
			control("end")
			p.expect("room.finished")
			continue
		}
		// Nothing moves without the host.
		if st.Phase != "reveal" || st.Index != 0 {
			t.Fatalf("host-paced event without its host moved to %s of question %d", st.Phase, st.Index)
		}
		control("next")
		var q2 question
		p.expect("question").decode(t, &q2)
		if q2.Index != 1 {
			t.Fatalf("the host's next asked question %d, want 1", q2.Index)
		}
		control("end")
		p.expect("room.finished")
		// room.finished is the room's last word: every question it asked
		// has reached p by now.
		if n := countType(p, "question"); n != 2 {
			t.Fatalf("host-paced event asked %d questions, want 2 (one before the host left, one on its return)", n)
		}
	}
}

func countType(c *client, typ string) int {
	n := 0
	for _, m := range c.all() {
		if m.Type == typ {
			n++
		}
	}
	return n
}

func TestBlockedWordsInNames(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.BlockedWords = []string{"坏词", "BadWord"} })
	c := h.dial()
	c.expectError(c.send("hello", map[string]any{"name": "我是坏词"}), "bad_request")
	c.expectError(c.send("hello", map[string]any{"name": "xxbadwordxx"}), "bad_request")
	c.hello("好人")
	ev := h.createEvent(map[string]any{"title": "屏蔽词", "count": 1})
	c.expectError(c.send("event.join", map[string]any{"pin": ev.PIN, "name": "坏词大王"}), "bad_request")
	m := c.reply(c.send("event.join", map[string]any{"pin": ev.PIN, "name": "好人一个"}))
	if m.Type != "room.state" || !strings.Contains(string(m.raw), "好人一个") {
		t.Fatalf("join with a clean name: %s", m.raw)
	}
}

// TestInvisibleCharactersInNames: names that would show as another name,
// reverse the text around them or show as nothing are refused in hello,
// event.join, POST /api/v1/players and an event's team names.
func TestInvisibleCharactersInNames(t *testing.T) {
	h := newHarness(t, nil)
	lies := []string{"ad\u200bmin", "\u202eevil.exe", "\u200b", "红\u2066队", "\ufeff张三", "\u3164"}
	c := h.dial()
	for _, name := range lies {
		c.expectError(c.send("hello", map[string]any{"name": name}), "bad_request")
	}
	c.hello("好人")
	ev := h.createEvent(map[string]any{"title": "名字", "count": 1})
	for _, name := range lies {
		c.expectError(c.send("event.join", map[string]any{"pin": ev.PIN, "name": name}), "bad_request")
		var out map[string]any
		if code := h.api("POST", "/api/v1/players", "", map[string]any{"name": name}, &out); code != http.StatusBadRequest {
			t.Fatalf("POST /api/v1/players %q: %d %v", name, code, out)
		}
		if code := h.api("POST", "/api/v1/events", h.orgToken(), map[string]any{"title": "队", "count": 1, "team_mode": "sum", "teams": []string{"红队", name}}, &out); code != http.StatusBadRequest {
			t.Fatalf("team name %q: %d %v", name, code, out)
		}
	}
	m := c.reply(c.send("event.join", map[string]any{"pin": ev.PIN, "name": "好人 一个"}))
	if m.Type != "room.state" || !strings.Contains(string(m.raw), "好人 一个") {
		t.Fatalf("join with a clean name: %s", m.raw)
	}
}

// TestReissueEventLinks: the organizer replaces a lost host or screen link;
// the old token is refused from then on and the new one works.
func TestReissueEventLinks(t *testing.T) {
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{"title": "换链接", "count": 1})
	old := map[string]string{"host": ev.HostToken, "screen": ev.ScreenToken}
	for _, role := range []string{"host", "screen"} {
		var got struct{ Event, Role, Token, URL string }
		if code := h.api("POST", "/api/v1/events/"+ev.ID+"/links", h.orgToken(), map[string]any{"role": role}, &got); code != http.StatusCreated {
			t.Fatalf("reissue %s: %d %+v", role, code, got)
		}
		if got.Role != role || got.Token == "" || got.Token == old[role] || !strings.HasSuffix(got.URL, "/"+role+"?token="+got.Token) {
			t.Fatalf("reissued %s: %+v", role, got)
		}
		c := h.dial()
		c.expectError(c.send("hello", map[string]any{"token": old[role]}), "unauthenticated")
		c = h.dial()
		if w := c.welcomed(c.send("hello", map[string]any{"token": got.Token})); w.Role != role {
			t.Fatalf("new %s token welcomed as %+v", role, w)
		}
	}
	// Bad requests change nothing: the current host link keeps working.
	var e map[string]any
	for _, bad := range []struct {
		path, token string
		body        any
		code        int
	}{
		{"/api/v1/events/" + ev.ID + "/links", h.orgToken(), map[string]any{"role": "player"}, http.StatusBadRequest},
		{"/api/v1/events/" + ev.ID + "/links", h.orgToken(), "not an object", http.StatusBadRequest},
		{"/api/v1/events/ev-nope/links", h.orgToken(), map[string]any{"role": "host"}, http.StatusNotFound},
		{"/api/v1/events/" + ev.ID + "/links", "", map[string]any{"role": "host"}, http.StatusUnauthorized},
	} {
		if code := h.api("POST", bad.path, bad.token, bad.body, &e); code != bad.code {
			t.Errorf("POST %s %v: %d, want %d", bad.path, bad.body, code, bad.code)
		}
	}
}
