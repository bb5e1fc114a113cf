package web_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// flakyLink is a TCP proxy standing for a phone's network: cut drops every
// open connection, and while it is down new ones are refused.
type flakyLink struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFlakyLink(t *testing.T, target string) *flakyLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flakyLink{ln: ln, target: target}
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.cut() })
	return f
}

func (f *flakyLink) serve() {
	for {
		in, err := f.ln.Accept()
		if err != nil {
			return
		}
		if f.down.Load() {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", f.target)
		if err != nil {
			in.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, in, out)
		f.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// cut closes every connection through the link.
func (f *flakyLink) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func TestBrowserPlayerReconnects(t *testing.T) {
	h := newHarness(t, nil)
	link := newFlakyLink(t, h.addr)
	base := "http://" + link.ln.Addr().String()
	ctx := browser(t, 390, 844)
	opp := h.dial()
	opp.hello("对手")
	run(t, ctx, "open the player page through the flaky link",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "信号不好"),
		chromedp.Click(chromedp.ID("btn-duel")),
		chromedp.WaitVisible(chromedp.ID("queue")),
	)
	opp.reply(opp.send("match.find", map[string]any{"mode": "duel"}))
	waitFor(t, "a match", func() bool {
		h.srv.Matchmaker().Process(context.Background())
		return h.srv.Matchmaker().Matched() == 1
	})
	opp.expect("match.found")
	run(t, ctx, "countdown", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)))
	h.advance(3 * time.Second)

	h.playPageDuel(t, ctx, opp, func(i int, q question, sel string) {
		if i != 1 {
			return
		}
		// The network goes away mid-question and stays away a while.
		link.down.Store(true)
		link.cut()
		run(t, ctx, "reconnecting shown", chromedp.WaitVisible(chromedp.CSS(`#conn-banner:not([hidden])`)))
		screenshot(t, ctx, "player-reconnecting")
		waitFor(t, "the server to notice", func() bool { return !h.srv.Connected(playerOf(t, h, opp)) })
		link.down.Store(false)
		run(t, ctx, "back online",
			chromedp.WaitNotVisible(chromedp.ID("conn-banner")),
			chromedp.WaitVisible(chromedp.CSS(sel+` button.option, `+sel+` #text-answer`)))
	})
	run(t, ctx, "final", chromedp.WaitVisible(chromedp.CSS(`#final .standing[data-rank="1"]`)))
	winner := get(t, ctx, "winner", chromedp.Evaluate[string](`document.querySelector('#final .standing[data-rank="1"]').dataset.name`))
	if winner != "信号不好" {
		t.Fatalf("winner %q", winner)
	}
	if !strings.Contains(get(t, ctx, "score", jsText("score")), "100") {
		t.Fatalf("the page lost its score across the reconnect")
	}
}

// playerOf returns the id of the player matched against opp.
func playerOf(t *testing.T, h *harness, opp *client) string {
	t.Helper()
	for _, m := range opp.all() {
		if m.Type != "match.found" {
			continue
		}
		var f struct{ Players []struct{ ID string } }
		m.decode(t, &f)
		for _, p := range f.Players {
			if p.ID != opp.id {
				return p.ID
			}
		}
	}
	t.Fatal("no match.found")
	return ""
}
