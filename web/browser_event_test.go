package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leitai/leitai/web"
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
	// Links shown to people use the public URL, not the address the browser used.
	const public = "http://quiz.example:8080"
	h := newHarness(t, func(c *web.Config) { c.PublicURL = public + "/" })
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
	// The PIN is written when the room's state arrives, which may be after
	// the links are shown.
	pin := get(t, hostTab, "PIN", chromedp.Poll[string](`(() => { const p = document.getElementById("pin").textContent.trim(); return /^\d{6}$/.test(p) ? p : null })()`))
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

	// Audio waits for a gesture, as a browser that blocks autoplay makes it.
	screenTab := browser(t, 1280, 720, chromedp.Flag("autoplay-policy", "document-user-activation-required"))
	u, _ := url.Parse(screenURL)
	run(t, screenTab, "screen lobby",
		chromedp.Navigate(h.url(u.RequestURI())),
		chromedp.WaitVisible(chromedp.CSS(`body[data-phase="lobby"]`)),
		chromedp.WaitVisible(chromedp.ID("qr")),
	)
	if got := get(t, screenTab, "screen PIN", jsText("pin")); strings.ReplaceAll(got, " ", "") != pin {
		t.Fatalf("screen shows PIN %q, want %s", got, pin)
	}
	if got, want := get(t, screenTab, "join link", jsText("join-url")), public+"/?pin="+pin; got != want {
		t.Fatalf("screen join link %q, want %q", got, want)
	}
	if got, want := get(t, hostTab, "host join link", jsText("join-url")), public+"/?pin="+pin; got != want {
		t.Fatalf("host join link %q, want %q", got, want)
	}
	checkSound(t, h, screenTab, u.RequestURI())

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
	run(t, screenTab, "screen countdown", chromedp.WaitVisible(chromedp.CSS(`body[data-view="countdown"]`)))
	waitFor(t, "a countdown tick", func() bool {
		return get(t, screenTab, "ticks", chromedp.Evaluate[int](`LeitaiSound.played.ticks`)) > 0
	})
	if get(t, screenTab, "music in the countdown", chromedp.Evaluate[bool](`(() => { const n = LeitaiSound.played.notes;
		return new Promise(r => setTimeout(() => r(LeitaiSound.played.notes === n), 400)); })()`, chromedp.EvalAwaitPromise)) != true {
		t.Fatal("the lobby music goes on after the start")
	}
	h.advance(3 * time.Second)
	shapesSeen := false // checked on the first choice question (a text one has no tiles)
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
		if !shapesSeen && len(q.Question.Options) > 0 {
			shapesSeen = true
			// Every tile has its shape beside its letter, on the screen and the console.
			for _, pg := range []context.Context{screenTab, hostTab} {
				sel := "#q-options .opt"
				if pg == hostTab {
					sel = "#q-options li[data-key]"
				}
				run(t, pg, "tiles shown", chromedp.WaitVisible(chromedp.CSS(sel)))
				shapes := get(t, pg, "shapes", chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(e => e.dataset.key + (e.querySelector('.shape') || {}).textContent)`, sel)))
				if len(shapes) < 2 {
					t.Fatalf("no answer tiles: %v", shapes)
				}
				seen := map[string]bool{}
				for _, s := range shapes {
					if len([]rune(s)) != 2 || seen[s[1:]] {
						t.Fatalf("tiles without a shape of their own: %v", shapes)
					}
					seen[s[1:]] = true
				}
			}
			settle(t, hostTab)
			screenshot(t, hostTab, "host-question")
		}
		if qi == 1 {
			// The host voids question 2: the screen says so instead of showing empty bars.
			run(t, hostTab, "void", chromedp.WaitEnabled(chromedp.ID("btn-skip")), chromedp.Click(chromedp.ID("btn-skip")))
			watcher.expect("reveal")
			run(t, screenTab, "screen voided", chromedp.WaitVisible(chromedp.ID("r-void")))
			if get(t, screenTab, "chart hidden", chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('chart')).display === 'none'`)) != true {
				t.Fatal("the voided question still shows its chart")
			}
			settle(t, screenTab)
			screenshot(t, screenTab, "screen-voided")
			run(t, players[0], "voided on the phone", chromedp.WaitVisible(chromedp.CSS(`#reveal.void`)))
			run(t, hostTab, "next", chromedp.WaitEnabled(chromedp.ID("btn-next")), chromedp.Click(chromedp.ID("btn-next")))
			continue
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
		if get(t, screenTab, "voided mark", chromedp.Evaluate[bool](`document.getElementById('r-void').hidden`)) != true {
			t.Fatal("a scored question is shown as voided")
		}
		run(t, players[2], "wrong shown", chromedp.WaitVisible(chromedp.CSS(`#reveal[data-correct="false"]`)))
		if qi == 2 {
			// 甲 was right on questions 1 and 3 (2 was voided): a streak of two, with its flame.
			run(t, screenTab, "streak on the top 10", chromedp.WaitVisible(chromedp.CSS(`#top10 .row[data-name="甲队长"] .streak svg.flame`)))
			if got := get(t, screenTab, "streak count", chromedp.Evaluate[string](`document.querySelector('#top10 .row[data-name="甲队长"] .streak').textContent`)); got != "2" {
				t.Fatalf("streak shows %q, want 2", got)
			}
			if n := get(t, screenTab, "flames", chromedp.Evaluate[int](`document.querySelectorAll('#top10 .streak').length`)); n != 2 {
				t.Fatalf("%d flames on the top 10, want 2 (甲 and 乙)", n)
			}
			settle(t, screenTab)
			screenshot(t, screenTab, "screen-top10-streaks")
		}
		// From the last reveal, next ends the event.
		run(t, hostTab, "next", chromedp.WaitEnabled(chromedp.ID("btn-next")), chromedp.Click(chromedp.ID("btn-next")))
	}
	run(t, screenTab, "podium", chromedp.WaitVisible(chromedp.CSS(`#podium .place[data-rank="3"]`)))
	checkPodiumOrder(t, screenTab)
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

	// The console is quiet after the end: no answer count, no kick buttons.
	run(t, hostTab, "host finished", chromedp.WaitVisible(chromedp.CSS(`#phase[data-phase="finished"]`)))
	if get(t, hostTab, "answered hidden", chromedp.Evaluate[bool](`document.querySelector('.answered-box').hidden`)) != true {
		t.Fatal("the console still shows the answer count after the end")
	}
	if n := get(t, hostTab, "kick buttons", chromedp.Evaluate[int](`document.querySelectorAll('#players .kick').length`)); n != 0 {
		t.Fatalf("%d kick buttons after the end", n)
	}
	if n := get(t, hostTab, "players listed", chromedp.Evaluate[int](`document.querySelectorAll('#players li').length`)); n != 3 {
		t.Fatalf("%d contestants listed after the end, want 3", n)
	}
	settle(t, hostTab)
	screenshot(t, hostTab, "host-finished")
	checkFavicons(t, h, map[string]context.Context{"screen": screenTab, "host": hostTab, "player": players[0]})
}

// checkPodiumOrder checks the podium builds third, second, first, and that
// each name and score come with their own block rather than after them all.
func checkPodiumOrder(t *testing.T, ctx context.Context) {
	t.Helper()
	delays := get(t, ctx, "podium delays", chromedp.Evaluate[map[string][]float64](`(() => {
		const out = {};
		for (const r of ["1", "2", "3"]) {
			const p = document.querySelector('#podium .place[data-rank="' + r + '"]');
			const d = (sel) => parseFloat(getComputedStyle(p.querySelector(sel)).transitionDelay);
			out[r] = [d(".p-block"), d(".p-name"), d(".p-score")];
		}
		return out; })()`))
	b1, b2, b3 := delays["1"][0], delays["2"][0], delays["3"][0]
	if !(b3 < b2 && b2 < b1) {
		t.Fatalf("podium blocks start at 1st %.1fs, 2nd %.1fs, 3rd %.1fs: want third, second, first", b1, b2, b3)
	}
	for r, d := range delays {
		if d[1] != d[0] || d[2] != d[0] {
			t.Fatalf("place %s: block at %.1fs but name at %.1fs, score at %.1fs", r, d[0], d[1], d[2])
		}
	}
}

// checkSound checks the projector's sound: blocked (with a hint) until a
// click, lobby music once allowed, and a mute that outlives a reload.
func checkSound(t *testing.T, h *harness, ctx context.Context, path string) {
	t.Helper()
	state := func() string {
		return get(t, ctx, "sound state", chromedp.Evaluate[string](`document.body.dataset.sound || ""`))
	}
	if s := state(); s != "blocked" {
		t.Fatalf("sound state before any gesture %q, want blocked", s)
	}
	run(t, ctx, "sound hint", chromedp.WaitVisible(chromedp.ID("sound-hint")))
	settle(t, ctx)
	screenshot(t, ctx, "screen-sound-hint")
	run(t, ctx, "click to enable", chromedp.Click(chromedp.ID("pin")))
	waitFor(t, "sound on", func() bool { return state() == "on" })
	run(t, ctx, "hint gone", chromedp.WaitNotVisible(chromedp.ID("sound-hint")))
	waitFor(t, "lobby music", func() bool {
		return get(t, ctx, "notes", chromedp.Evaluate[int](`LeitaiSound.played.notes`)) > 2
	})
	// Mute, reload: still muted, and no hint (nothing to enable).
	run(t, ctx, "mute", chromedp.Click(chromedp.ID("sound")))
	waitFor(t, "muted", func() bool { return state() == "muted" })
	run(t, ctx, "reload", chromedp.Navigate(h.url(path)), chromedp.WaitVisible(chromedp.CSS(`body[data-phase="lobby"]`)))
	if s := state(); s != "muted" {
		t.Fatalf("after a reload the sound is %q, want muted (remembered)", s)
	}
	if get(t, ctx, "hint", chromedp.Evaluate[bool](`document.getElementById('sound-hint').hidden`)) != true {
		t.Fatal("the enable-sound hint shows while muted")
	}
	run(t, ctx, "unmute", chromedp.Click(chromedp.ID("sound")))
	waitFor(t, "sound on again", func() bool { return state() == "on" })
}

// checkFavicons checks every page names an icon that loads, and that
// /favicon.ico serves one for pages that name none.
func checkFavicons(t *testing.T, h *harness, pages map[string]context.Context) {
	t.Helper()
	for name, ctx := range pages {
		ok := get(t, ctx, name+" favicon", chromedp.Evaluate[bool](`(async () => {
			const l = document.querySelector('link[rel="icon"]');
			if (!l || !l.href || l.href.startsWith('data:')) return false;
			const r = await fetch(l.href);
			return r.ok && /^image\//.test(r.headers.get('content-type') || '');
		})()`, chromedp.EvalAwaitPromise))
		if !ok {
			t.Fatalf("the %s page has no favicon that loads", name)
		}
	}
	res, err := http.Get(h.url("/favicon.ico"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("/favicon.ico: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
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
		_, _ = chromedp.Run(c, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 50))`, chromedp.EvalAwaitPromise))
		cancel()
	}
}

// jsText reads an element's text content by id.
func jsText(id string) chromedp.Action[string] {
	return chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ""`, id))
}

// TestBrowserTeamEvent: the phone's "you're in" card names the contestant
// and its team, and the team-mode podium shows six-character names whole.
func TestBrowserTeamEvent(t *testing.T) {
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{
		"title": "团队赛", "count": 1, "time_limit_ms": 20000, "lang": "zh",
		"team_mode": "mean", "teams": []string{"红队", "蓝队"},
	})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	host.reply(host.send("watch", map[string]any{"room": ev.Room}))

	screenTab := browser(t, 1280, 720)
	run(t, screenTab, "screen lobby",
		chromedp.Navigate(h.url("/screen?token="+url.QueryEscape(ev.ScreenToken))),
		chromedp.WaitVisible(chromedp.CSS(`body[data-phase="lobby"]`)))

	const phoneName = "欧阳修远明月"
	phone := browser(t, 390, 844)
	run(t, phone, "join with a team",
		chromedp.Navigate(h.url("/?pin="+ev.PIN)),
		chromedp.WaitVisible(chromedp.ID("team")),
		chromedp.SendKeys(chromedp.ID("name"), phoneName),
		setInput("team", "红队"),
		chromedp.Click(chromedp.ID("btn-join")),
		chromedp.WaitVisible(chromedp.ID("youre-in")))
	card := get(t, phone, "you're in", jsText("youre-in"))
	if !strings.Contains(card, phoneName) || !strings.Contains(card, "红队") {
		t.Fatalf("you're-in card %q, want the name and team", card)
	}
	settle(t, phone)
	screenshot(t, phone, "player-youre-in")

	others := []struct{ name, team string }{{"司马相如长卿", "蓝队"}, {"诸葛孔明卧龙", "红队"}}
	cs := make([]*client, len(others))
	for i, o := range others {
		cs[i] = h.dial()
		cs[i].hello(o.name)
		cs[i].reply(cs[i].send("event.join", map[string]any{"pin": ev.PIN, "team": o.team}))
	}
	waitFor(t, "three on the screen", func() bool { return get(t, screenTab, "count", jsText("count")) == "3" })

	host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "start"}))
	host.expect("countdown")
	h.advance(3 * time.Second)
	var q question
	host.expect("question").decode(t, &q)
	run(t, phone, "question", chromedp.WaitVisible(chromedp.CSS(`#question[data-index="0"]`)))
	h.advance(time.Second)
	h.clickAnswer(t, phone, q, true)
	run(t, phone, "ack", chromedp.WaitVisible(chromedp.CSS(`#ack:not(:empty)`)))
	h.advance(time.Second)
	cs[0].reply(cs[0].send("answer", h.correctAnswer(q)))
	cs[1].reply(cs[1].send("answer", h.wrongAnswer(q)))
	host.expect("reveal")
	host.reply(host.send("host.control", map[string]any{"room": ev.Room, "action": "next"}))

	run(t, screenTab, "podium", chromedp.WaitVisible(chromedp.CSS(`body.has-teams #podium .place[data-rank="3"]`)))
	waitFor(t, "podium names shown", func() bool {
		return get(t, screenTab, "name opacity", chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('#podium .p-name')).every(e => getComputedStyle(e).opacity === '1')`))
	})
	settle(t, screenTab)
	want := []string{phoneName, others[0].name, others[1].name}
	for i, name := range want {
		got := get(t, screenTab, "podium name", chromedp.Evaluate[[]any](fmt.Sprintf(`(() => { const e = document.querySelector('#podium .place[data-rank="%d"] .p-name');
			return [e.textContent, e.scrollWidth <= e.clientWidth + 1, e.getBoundingClientRect().width]; })()`, i+1)))
		if got[0] != name || got[1] != true {
			t.Fatalf("podium place %d: %v, want %q shown whole", i+1, got, name)
		}
	}
	screenshot(t, screenTab, "screen-podium-teams")
}
