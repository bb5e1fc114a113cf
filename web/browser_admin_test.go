package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserReissueLink: on the organizer page an event's "new host link"
// button shows a new link that opens the host console, and the link from
// the creation dialog stops working.
func TestBrowserReissueLink(t *testing.T) {
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{"title": "找回链接", "count": 1})
	ctx := browser(t, 1280, 800)
	run(t, ctx, "open the organizer page",
		chromedp.Navigate(h.url("/admin?token="+url.QueryEscape(h.orgToken()))),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-event="`+ev.ID+`"] .reissue[data-role="host"]`)),
	)
	// The page asks before revoking; the test says yes.
	_ = get(t, ctx, "accept the confirmation", chromedp.Evaluate[bool](`(window.confirm = function () { return true; }, true)`))
	run(t, ctx, "reissue the host link",
		chromedp.Click(chromedp.CSS(`tr[data-event="`+ev.ID+`"] .reissue[data-role="host"]`)),
		chromedp.WaitVisible(chromedp.ID(`ev-reissued-url`)),
	)
	screenshot(t, ctx, "admin-reissued-link")
	link := get(t, ctx, "the new link", jsText("ev-reissued-url"))
	u, err := url.Parse(link)
	if err != nil || u.Path != "/host" || u.Query().Get("token") == "" {
		t.Fatalf("new host link %q", link)
	}
	c := h.dial()
	if w := c.welcomed(c.send("hello", map[string]any{"token": u.Query().Get("token")})); w.Role != "host" {
		t.Fatalf("the new link opened %+v", w)
	}
	old := h.dial()
	old.expectError(old.send("hello", map[string]any{"token": ev.HostToken}), "unauthenticated")

	// A refused link is explained in the page's language.
	screen := browser(t, 1280, 720)
	run(t, screen, "open the screen with a revoked-looking link",
		chromedp.Navigate(h.url("/screen?token=no-such-token")),
		chromedp.WaitVisible(chromedp.ID(`need-token`)),
	)
	if msg := get(t, screen, "refusal", jsText("token-error")); !strings.Contains(msg, "链接无效或已失效") {
		t.Fatalf("the screen says %q, want the Chinese refusal", msg)
	}
}
