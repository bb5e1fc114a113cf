package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leitai/leitai/questionbank"
)

// browser starts a headless Chromium for the test. When the browser is
// missing the test fails if LEITAI_REQUIRE_BROWSER is set (as scripts/test
// and CI do) and is skipped otherwise.
func browser(t *testing.T, width, height int, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		if os.Getenv("LEITAI_REQUIRE_BROWSER") != "" {
			t.Fatal("headless Chromium is required (apt-get install chromium) but was not found")
		}
		t.Skip("chromium not installed; scripts/test installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a bound on how long they may wait.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		pageFail(t, ctx, what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, action)
	if err != nil {
		pageFail(t, ctx, what, err)
	}
	return v
}

func pageFail(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(c, chromedp.OuterHTML(chromedp.CSS("body")))
	if len(html) > 3000 {
		html = html[:3000]
	}
	t.Fatalf("%s: %v\npage: %s", what, err, html)
}

// artifactDir is where screenshots are kept for people to look at.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("LEITAI_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(artifactDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// clickAnswer answers q on the player page the way a person would.
func (h *harness) clickAnswer(t *testing.T, ctx context.Context, q question, right bool) {
	t.Helper()
	bq := h.answers[q.Question.ID]
	keys := bq.Answer
	if !right {
		keys, _ = h.wrongAnswer(q)["choice"].([]string)
	}
	sel := fmt.Sprintf(`#question[data-index="%d"]`, q.Index)
	switch bq.Type {
	case questionbank.Text:
		text := bq.Answer[0]
		if !right {
			text = "不是这个"
		}
		run(t, ctx, "type the answer", chromedp.WaitVisible(chromedp.CSS(sel+` #text-answer`)),
			chromedp.SendKeys(chromedp.ID(`text-answer`), text), chromedp.Click(chromedp.ID(`btn-submit`)))
	default:
		for _, k := range keys {
			run(t, ctx, "pick "+k, chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s button.option[data-key="%s"]`, sel, k))))
		}
		if bq.Type == questionbank.Multi {
			run(t, ctx, "submit", chromedp.Click(chromedp.ID(`btn-submit`)))
		}
	}
}

func TestBrowserPlayerPlaysADuel(t *testing.T) {
	h := newHarness(t, nil)
	ctx := browser(t, 390, 844)
	// The opponent is a scripted client with a name that would be markup if
	// the page ever put names into HTML.
	const evil = `<img src=x onerror=alert(1)>`
	opp := h.dial()
	opp.hello(evil)
	run(t, ctx, "open the player page",
		chromedp.Navigate(h.url("/")),
		chromedp.WaitVisible(chromedp.ID(`name`)),
		chromedp.SendKeys(chromedp.ID(`name`), "浏览器玩家"),
		chromedp.Click(chromedp.ID(`btn-duel`)),
		chromedp.WaitVisible(chromedp.ID(`queue`)),
	)
	opp.reply(opp.send("match.find", map[string]any{"mode": "duel"}))
	// The page's match.find may still be on its way: process until matched.
	waitFor(t, "a match", func() bool {
		h.srv.Matchmaker().Process(context.Background())
		return h.srv.Matchmaker().Matched() == 1
	})
	opp.expect("match.found")
	run(t, ctx, "countdown shows", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)))
	h.advance(3 * time.Second)
	h.playPageDuel(t, ctx, opp, func(i int, q question, sel string) {
		if i == 0 {
			screenshot(t, ctx, "player-question")
		}
	})
	run(t, ctx, "final ranking", chromedp.WaitVisible(chromedp.CSS(`#final .standing[data-rank="1"]`)))
	names := get(t, ctx, "winner", chromedp.AttributeValue(chromedp.CSS(`#final .standing[data-rank="1"]`), "data-name")).Value
	rows := get(t, ctx, "standings", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#final .standing')).map(e => e.dataset.rank + ':' + e.dataset.name)`))
	body := get(t, ctx, "page text", chromedp.Text(chromedp.CSS(`body`)))
	screenshot(t, ctx, "player-final")
	if names != "浏览器玩家" || len(rows) != 2 || rows[1] != "2:"+evil {
		t.Fatalf("final ranking %v", rows)
	}
	imgs := get(t, ctx, "count images", chromedp.Evaluate[int](`document.querySelectorAll('img').length`))
	if imgs != 0 || !strings.Contains(body, evil) {
		t.Fatalf("the opponent's name was not shown as text (imgs %d)", imgs)
	}

	// Play again: the page asks the same opponent, who accepts; the rematch
	// is a new room with the same two players.
	var first struct{ Room string }
	for _, m := range opp.all() {
		if m.Type == "match.found" {
			m.decode(t, &first)
		}
	}
	run(t, ctx, "play again", chromedp.Click(chromedp.ID(`btn-again`)), chromedp.WaitVisible(chromedp.ID(`rematch-wait`)))
	var off struct {
		Room string
		From struct{ Name string }
	}
	opp.expect("match.rematch_offer").decode(t, &off)
	if off.Room != first.Room || off.From.Name != "浏览器玩家" {
		t.Fatalf("rematch offer %+v, want room %s from the page's player", off, first.Room)
	}
	settle(t, ctx)
	screenshot(t, ctx, "player-rematch-wait")
	if m := opp.reply(opp.send("match.rematch", map[string]any{"room": off.Room})); m.Type != "ok" {
		t.Fatalf("accept: %s", m.raw)
	}
	var second struct {
		Room    string
		Players []struct{ Name string }
	}
	opp.expect("match.found").decode(t, &second)
	if second.Room == first.Room || len(second.Players) != 2 {
		t.Fatalf("rematch found %+v", second)
	}
	run(t, ctx, "rematch countdown", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)))
	opp.expect("room.state")
	h.advance(3 * time.Second)
	h.playPageDuel(t, ctx, opp, nil)
	run(t, ctx, "rematch final", chromedp.WaitVisible(chromedp.CSS(`#final .standing[data-rank="1"]`)))

	// Now the opponent asks; the page shows the offer and declines it, and the
	// opponent is sent to an ordinary queue.
	if m := opp.reply(opp.send("match.rematch", map[string]any{"room": second.Room})); m.Type != "ok" {
		t.Fatalf("rematch request: %s", m.raw)
	}
	run(t, ctx, "offer shown", chromedp.WaitVisible(chromedp.ID(`rematch-offer`)))
	if txt := get(t, ctx, "offer", jsText("rematch-offer")); !strings.Contains(txt, evil) {
		t.Fatalf("offer %q does not name the opponent", txt)
	}
	settle(t, ctx)
	screenshot(t, ctx, "player-rematch-offer")
	run(t, ctx, "decline", chromedp.Click(chromedp.ID(`btn-decline`)), chromedp.WaitNotPresent(chromedp.ID(`rematch-offer`)))
	var rc struct{ Reason string }
	opp.expect("match.rematch_cancelled").decode(t, &rc)
	if rc.Reason != "declined" {
		t.Fatalf("cancelled %+v", rc)
	}
	opp.expectFn("match.queued", func(m msg) bool { return m.Type == "match.queued" && m.Re == "" })
	if _, ok := h.srv.Matchmaker().Queued(opp.id); !ok {
		t.Fatal("the opponent who asked was not queued after the decline")
	}
	run(t, ctx, "still on the final", chromedp.WaitVisible(chromedp.ID(`btn-again`)))
	// The phone makes no sound: the projector's sound code is not on it.
	if get(t, ctx, "no sound", chromedp.Evaluate[bool](`typeof window.LeitaiSound === "undefined"`)) != true {
		t.Fatal("the player page loads the sound code")
	}
}

// playPageDuel plays a duel to its end: on each question the page answers
// right (first) and opp wrong. hook, if set, runs once the page shows
// question i (selector sel) and before it answers.
func (h *harness) playPageDuel(t *testing.T, ctx context.Context, opp *client, hook func(i int, q question, sel string)) {
	t.Helper()
	for i := 0; ; i++ {
		m := opp.expectFn("question or finish", func(m msg) bool { return m.Type == "question" || m.Type == "room.finished" })
		if m.Type == "room.finished" {
			return
		}
		var q question
		m.decode(t, &q)
		sel := fmt.Sprintf(`#question[data-index="%d"]`, q.Index)
		run(t, ctx, "question on the page", chromedp.WaitVisible(chromedp.CSS(sel)))
		if hook != nil {
			hook(i, q, sel)
		}
		h.clickAnswer(t, ctx, q, true)
		run(t, ctx, "ack shown", chromedp.WaitVisible(chromedp.CSS(`#ack:not(:empty)`)))
		opp.reply(opp.send("answer", h.wrongAnswer(q)))
		run(t, ctx, "reveal shown", chromedp.WaitVisible(chromedp.CSS(`#reveal[data-correct="true"]`)))
		h.advance(3 * time.Second)
		if i > 6 {
			t.Fatal("the duel never finished")
		}
	}
}
