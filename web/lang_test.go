package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leitai/leitai/web"
)

// TestQuickMatchLanguage: a quick match draws questions in the language its
// players asked for, and players are matched only within one language.
func TestQuickMatchLanguage(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Match.MaxWait = time.Minute })
	zh, en1, en2 := h.dial(), h.dial(), h.dial()
	zh.hello("中文玩家")
	en1.hello("Ann")
	en2.hello("Bob")
	zh.reply(zh.send("match.find", map[string]any{"mode": "duel"})) // no lang: Chinese
	en1.reply(en1.send("match.find", map[string]any{"mode": "duel", "lang": "en"}))
	h.srv.Matchmaker().Process(context.Background())
	if _, ok := h.srv.Matchmaker().Queued(zh.id); !ok {
		t.Fatal("a Chinese and an English player were matched together")
	}
	en2.reply(en2.send("match.find", map[string]any{"mode": "duel", "lang": "en"}))
	h.srv.Matchmaker().Process(context.Background())
	en1.expect("match.found")
	en2.expect("match.found")
	if _, ok := h.srv.Matchmaker().Queued(zh.id); !ok {
		t.Fatal("the Chinese player left the queue")
	}
	en1.expect("room.state")
	en2.expect("room.state")
	h.advance(3 * time.Second)
	q := h.nextQuestion(en1, en2)
	if !strings.HasPrefix(q.Question.ID, "en-") {
		t.Fatalf("an English match asked %s: %q", q.Question.ID, q.Question.Text)
	}
	// An unknown language is refused with a reason, and changes nothing.
	c := h.dial()
	c.hello("Cid")
	id := c.send("match.find", map[string]any{"mode": "duel", "lang": "fr"})
	var e struct{ Code, Reason string }
	c.reply(id).decode(t, &e)
	if e.Code != "bad_request" || e.Reason != "bad_lang" {
		t.Fatalf("lang fr: %+v", e)
	}
	if _, ok := h.srv.Matchmaker().Queued(c.id); ok {
		t.Fatal("a refused match.find queued the player")
	}
}

// TestErrorReasons: errors a page shows to people carry a reason and its
// params beside the English message, so the page can say them in its own
// language.
func TestErrorReasons(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial()
	var e struct {
		Code, Message, Reason string
		Params                map[string]any
	}
	c.reply(c.send("hello", map[string]any{"name": strings.Repeat("长", 40)})).decode(t, &e)
	if e.Code != "bad_request" || e.Reason != "name_length" || e.Params["max"] != float64(32) || e.Message == "" {
		t.Fatalf("long name: %+v", e)
	}
	c.hello("有人")
	e.Reason = ""
	c.reply(c.send("event.join", map[string]any{"pin": "000000"})).decode(t, &e)
	if e.Code != "not_found" || e.Reason != "pin_unknown" {
		t.Fatalf("unknown PIN: %+v", e)
	}
}
