package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserPageLanguage: the player page switched to English asks for
// English questions and is matched with an English player; the pages show
// a server refusal in their own language, with the English message as the
// fallback for a reason they do not know.
func TestBrowserPageLanguage(t *testing.T) {
	h := newHarness(t, nil)
	ctx := browser(t, 390, 844)
	// A Chinese and an English player wait; the page must pair with the
	// English one.
	zh := h.dial()
	zh.hello("中文对手")
	zh.reply(zh.send("match.find", map[string]any{"mode": "duel", "lang": "zh"}))
	en := h.dial()
	en.hello("English opponent")
	en.reply(en.send("match.find", map[string]any{"mode": "duel", "lang": "en"}))
	run(t, ctx, "open the player page in English",
		chromedp.Navigate(h.url("/")),
		chromedp.WaitVisible(chromedp.ID(`name`)),
		chromedp.Click(chromedp.ID(`lang-toggle`)),
		chromedp.SendKeys(chromedp.ID(`name`), "Page player"),
		chromedp.Click(chromedp.ID(`btn-duel`)),
		chromedp.WaitVisible(chromedp.ID(`queue`)),
	)
	// The page's match.find may still be on its way: process until matched.
	waitFor(t, "a match", func() bool {
		h.srv.Matchmaker().Process(context.Background())
		return h.srv.Matchmaker().Matched() == 1
	})
	en.expect("match.found")
	en.expect("room.state")
	run(t, ctx, "countdown shows", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)))
	h.advance(3 * time.Second)
	var q question
	en.expect("question").decode(t, &q)
	if !strings.HasPrefix(q.Question.ID, "en-") {
		t.Fatalf("the English match asked %s", q.Question.ID)
	}

	texts := get(t, ctx, "server texts", chromedp.Evaluate[[]string](`(function () {
		var e = {code: "bad_request", reason: "name_length", params: {max: 32}, message: "a name has 1 to 32 characters"};
		var zh = new Leitai.I18n({}); zh.lang = "zh";
		var en = new Leitai.I18n({}); en.lang = "en";
		var unknown = {code: "bad_request", reason: "something_new", message: "english fallback"};
		var row = {row: 3, field: "answer", reason: "option_gap", params: ["B", "C"], message: "option B is missing but option C is given"};
		return [zh.serverText(e), en.serverText(e), zh.serverText(unknown), zh.serverText(row), en.serverText(row),
			zh.serverText({reason: "removed_by_host", message: "removed by the host"})];
	})()`))
	want := []string{"昵称需为 1 到 32 个字符", "A name has 1 to 32 characters", "english fallback",
		"缺少选项 B，但给了选项 C", "option B is missing but option C is given", "主持人已将你移出比赛"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("server texts %q, want %q", texts, want)
	}
}
