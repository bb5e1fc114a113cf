package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// setInput sets an input's value the way typing would, firing its events.
func setInput(id, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, id, value)
	return func(ctx_ context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](js)(ctx_, tg)
		return chromedp.Void{}, err
	}
}

func TestBrowserStageEvent(t *testing.T) {
	h := newHarness(t, nil)
	org := h.orgToken()
	// Each page gets a browser of its own: a second tab of one headless
	// browser is not brought to the front, and its input stalls.
	hostTab := browser(t, 1280, 720)

	// The host console creates the event from its form.
	run(t, hostTab, "create an event on the host console",
		chromedp.Navigate(h.url("/host")),
		chromedp.WaitVisible(chromedp.ID("ev-create")),
		setInput("org-token", org),
		setInput("ev-title", "浏览器知识竞赛"),
		setInput("ev-count", "3"),
		setInput("ev-limit", "20"),
		chromedp.Click(chromedp.ID("ev-create")),
		chromedp.WaitVisible(chromedp.ID("console")),
		chromedp.WaitVisible(chromedp.CSS(`#screen-url-box:not([hidden])`)),
	)
	pin := get(t, hostTab, "PIN", jsText("pin"))
	screenURL := get(t, hostTab, "screen link", chromedp.Evaluate[string](`document.getElementById("screen-url").href`))
	if len(pin) != 6 || !strings.Contains(screenURL, "/screen?token=") {
		t.Fatalf("pin %q, screen link %q", pin, screenURL)
	}

	// An organizer client watches the room to learn each question's id.
	var evs []struct{ ID, Room, PIN string }
	h.api("GET", "/api/v1/events", org, nil, &evs)
	var roomID string
	for _, e := range evs {
		if e.PIN == pin {
			roomID = e.Room
		}
	}
	watcher := h.dial()
	watcher.welcomed(watcher.send("hello", map[string]any{"token": org}))
	watcher.reply(watcher.send("watch", map[string]any{"room": roomID}))

	screenTab := browser(t, 1280, 720)
	u, _ := url.Parse(screenURL)
	run(t, screenTab, "screen lobby",
		chromedp.Navigate(h.url(u.RequestURI())),
		chromedp.WaitVisible(chromedp.CSS(`body[data-phase="lobby"]`)),
		chromedp.WaitVisible(chromedp.ID("qr")),
	)
	if got := get(t, screenTab, "screen PIN", jsText("pin")); strings.ReplaceAll(got, " ", "") != pin {
		t.Fatalf("screen shows PIN %q, want %s", got, pin)
	}

	// The third name would be markup if any page put names into HTML.
	names := []string{"甲队长", "乙选手", `<img src=x onerror=alert(1)>`}
	players := make([]context.Context, len(names))
	for i, n := range names {
		players[i] = browser(t, 390, 844)
		run(t, players[i], "join as "+n,
			chromedp.Navigate(h.url("/?pin="+pin)),
			chromedp.WaitVisible(chromedp.ID("name")),
			chromedp.SendKeys(chromedp.ID("name"), n),
			chromedp.Click(chromedp.ID("btn-join")),
			chromedp.WaitVisible(chromedp.CSS(`body[data-phase="lobby"]`)),
		)
	}
	run(t, screenTab, "screen counts three", chromedp.WaitVisible(chromedp.CSS(`#names`)))
	waitFor(t, "three names on the screen", func() bool {
		return get(t, screenTab, "count", jsText("count")) == "3"
	})
	screenshot(t, screenTab, "screen-lobby")

	run(t, hostTab, "start", chromedp.Click(chromedp.ID("btn-start")))
	watcher.expect("countdown") // the click reached the server; now let the countdown run
	h.advance(3 * time.Second)
	for qi := 0; qi < 3; qi++ {
		var q question
		watcher.expect("question").decode(t, &q)
		for _, p := range players {
			run(t, p, "question shown", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#question[data-index="%d"]`, qi))))
		}
		run(t, screenTab, "screen question", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="question"]`)))
		if qi == 0 {
			settle(t, screenTab)
			screenshot(t, screenTab, "screen-question")
		}
		// 甲 answers right after 1 s, 乙 right after 3 s, 丙 wrong.
		h.advance(time.Second)
		h.clickAnswer(t, players[0], q, true)
		run(t, players[0], "ack", chromedp.WaitVisible(chromedp.CSS(`#ack:not(:empty)`)))
		h.advance(2 * time.Second)
		h.clickAnswer(t, players[1], q, true)
		run(t, players[1], "ack", chromedp.WaitVisible(chromedp.CSS(`#ack:not(:empty)`)))
		h.clickAnswer(t, players[2], q, false)
		watcher.expect("reveal")
		run(t, screenTab, "screen reveal", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="reveal"]`)), chromedp.WaitVisible(chromedp.CSS(`#chart .bar`)))
		if qi == 0 {
			settle(t, screenTab)
			screenshot(t, screenTab, "screen-reveal")
		}
		run(t, players[2], "wrong shown", chromedp.WaitVisible(chromedp.CSS(`#reveal[data-correct="false"]`)))
		// From the last reveal, next ends the event.
		run(t, hostTab, "next", chromedp.WaitEnabled(chromedp.ID("btn-next")), chromedp.Click(chromedp.ID("btn-next")))
	}
	run(t, screenTab, "podium", chromedp.WaitVisible(chromedp.CSS(`#podium .place[data-rank="3"]`)))
	for rank, want := range names {
		got := get(t, screenTab, "podium place", chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('#podium .place[data-rank="%d"] .p-name').textContent`, rank+1)))
		if got != want {
			t.Fatalf("podium place %d shows %q, want %q", rank+1, got, want)
		}
	}
	// The names fade in after the blocks rise; wait for them before the picture.
	waitFor(t, "podium names shown", func() bool {
		return get(t, screenTab, "name opacity", chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('#podium .p-name')).every(e => getComputedStyle(e).opacity === '1')`))
	})
	settle(t, screenTab)
	screenshot(t, screenTab, "screen-podium")
	for _, pg := range []context.Context{screenTab, hostTab} {
		if n := get(t, pg, "images made of names", chromedp.Evaluate[int](`document.querySelectorAll('img:not(#qr)').length`)); n != 0 {
			t.Fatalf("a name became an <img> on a page (%d found)", n)
		}
	}
	run(t, players[0], "final on the phone", chromedp.WaitVisible(chromedp.CSS(`#final .standing[data-rank="1"]`)))
}

// settle waits (a little, at most) for the page's CSS animations to finish,
// so a screenshot shows the settled picture. It asserts nothing.
func settle(t *testing.T, ctx context.Context) {
	t.Helper()
	quiet := 0 // consecutive polls with nothing running: a frame may still start some
	for i := 0; i < 100 && quiet < 4; i++ {
		c, cancel := context.WithTimeout(ctx, time.Second)
		running, err := chromedp.Run(c, chromedp.Evaluate[int](`document.getAnimations().filter(a => a.playState === 'running' && isFinite(a.effect.getComputedTiming().endTime)).length`))
		cancel()
		if err != nil {
			return
		}
		if running == 0 {
			quiet++
		} else {
			quiet = 0
		}
		c, cancel = context.WithTimeout(ctx, time.Second)
		_, _ = chromedp.Run(c, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 50))`, chromedp.EvalAsValue))
		cancel()
	}
}

// jsText reads an element's text content by id.
func jsText(id string) chromedp.Action[string] {
	return chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ""`, id))
}
