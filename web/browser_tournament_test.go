package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leitai/leitai/room"
)

// playSideBySide plays rooms that run at once on the one clock, one
// question each: the countdown, every player's answer (right as right
// says), the reveals, and the end.
func (h *harness) playSideBySide(rooms []string, css [][]*client, right func(i, k int) bool) {
	h.t.Helper()
	for i, cs := range css {
		for _, c := range cs {
			countdownIn(c, rooms[i])
		}
	}
	h.advance(3 * time.Second)
	for i, cs := range css {
		for k, c := range cs {
			h.answerIn(c, questionIn(c, rooms[i], 0), right(i, k))
		}
	}
	for i, cs := range css {
		for _, c := range cs {
			revealIn(c, rooms[i], 0)
		}
	}
	h.advance(3 * time.Second)
	for i, cs := range css {
		for _, c := range cs {
			finishedIn(c, rooms[i])
		}
	}
}

// roomQuestions reads an open room's questions from the store, as the
// test's answer key for a room only a browser plays.
func (h *harness) roomQuestions(id string) []question {
	h.t.Helper()
	open, err := h.st.OpenRooms(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range open {
		if r.ID != id {
			continue
		}
		var cfg room.Config
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			h.t.Fatal(err)
		}
		out := make([]question, len(cfg.Questions))
		for i, q := range cfg.Questions {
			out[i].Room, out[i].Index, out[i].Question.ID = id, i, q.ID
		}
		return out
	}
	h.t.Fatalf("no open room %s", id)
	return nil
}

// TestBrowserTournament: the organizer creates a tournament on the
// tournaments page; a member takes a qualifier attempt from their
// tournament page and plays it on the player page; four more members play
// over the socket; the projected bracket page shows the qualifier's top,
// then the rounds as they are decided, then the final's podium, and the
// organizer watches it on their page. Screenshots of each are kept.
func TestBrowserTournament(t *testing.T) {
	h := newHarness(t, nil)
	org := h.orgToken()
	desk := browser(t, 1280, 900)
	// datetime-local values in the browser's own zone, from the fake clock.
	local := func(at time.Time) string {
		return fmt.Sprintf(`(d => new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16))(new Date(%d))`, at.UnixMilli())
	}
	closes := t0.Add(time.Hour)
	first := closes.Add(10 * time.Minute)
	run(t, desk, "open the tournaments page",
		chromedp.Navigate(h.url("/tournaments#token="+org)),
		chromedp.WaitVisible(chromedp.ID("f-submit")),
		chromedp.SetValue(chromedp.ID("f-id"), "city"),
		chromedp.SetValue(chromedp.ID("f-title"), "城市答题挑战赛"),
		chromedp.SetValue(chromedp.ID("f-field"), "4"),
		chromedp.SetValue(chromedp.ID("f-questions"), "2"),
		chromedp.SetValue(chromedp.ID("f-minutes"), "1"),
		chromedp.SetValue(chromedp.ID("f-attempts"), "2"),
		chromedp.SetValue(chromedp.ID("f-gap"), "10"),
		chromedp.SetValue(chromedp.ID("f-mq"), "1"),
		chromedp.SetValue(chromedp.ID("f-ms"), "10"),
		chromedp.SetValue(chromedp.ID("f-grace"), "60"),
	)
	_ = get(t, desk, "set the times", chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById("f-opens").value = %s; document.getElementById("f-closes").value = %s;
			document.getElementById("f-first").value = %s; document.getElementById("f-first").dispatchEvent(new Event("input")); true`,
		local(t0.Add(-time.Minute)), local(closes), local(first))))
	if hint := get(t, desk, "rounds hint", chromedp.Evaluate[string](`document.getElementById("rounds-hint").textContent`)); !strings.Contains(hint, "2") {
		t.Fatalf("rounds hint %q", hint)
	}
	screenshot(t, desk, "tournament-organizer-create")
	run(t, desk, "create it",
		chromedp.Click(chromedp.ID("f-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#t-list tr[data-id="city"]`)),
		chromedp.WaitVisible(chromedp.ID("watch")),
	)
	var b bracketReply
	if code := h.api("GET", "/api/v1/tournaments/city/bracket", org, nil, &b); code != 200 || len(b.Rounds) != 2 || !b.Rounds[0].StartsAt.Equal(first) {
		t.Fatalf("created from the page: %d %+v", code, b)
	}
	// Edited on the page before it begins: a new title, the rest kept.
	run(t, desk, "edit it",
		chromedp.Click(chromedp.CSS(`#t-list tr[data-id="city"] button.edit-btn`)),
		chromedp.WaitVisible(chromedp.ID("f-new")),
		chromedp.SetValue(chromedp.ID("f-title"), "城市答题挑战赛·秋季"),
		chromedp.Click(chromedp.ID("f-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#watch-title`)),
	)
	var edited struct {
		Title  string
		Rounds []struct {
			StartsAt time.Time `json:"starts_at"`
		}
	}
	waitFor(t, "the edit stored", func() bool {
		h.api("GET", "/api/v1/tournaments/city/bracket", org, nil, &edited)
		return edited.Title == "城市答题挑战赛·秋季"
	})
	if len(edited.Rounds) != 2 || !edited.Rounds[0].StartsAt.Equal(first) {
		t.Fatalf("the edit changed the rounds: %+v", edited.Rounds)
	}

	// The projector.
	screen := browser(t, 1280, 720)
	run(t, screen, "open the bracket page", chromedp.Navigate(h.url("/bracket?id=city")), chromedp.WaitVisible(chromedp.ID("qualifier")))

	// A member on the phone: their tournament page, then the attempt on
	// the player page, every answer wrong (they finish last, out of the
	// field of four).
	phone := browser(t, 390, 844)
	run(t, phone, "open my tournament page",
		chromedp.Navigate(h.url("/tournament?id=city")),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "手机选手"),
		chromedp.Click(chromedp.ID("btn-enter")),
		chromedp.WaitVisible(chromedp.ID("btn-attempt")),
	)
	screenshot(t, phone, "tournament-player-before")
	run(t, phone, "start an attempt", chromedp.Click(chromedp.ID("btn-attempt")), chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)))
	var attemptRoom string
	waitFor(t, "the attempt's room", func() bool {
		for _, r := range h.srv.Rooms().All() {
			if strings.HasPrefix(r.ID(), "tq-city.") {
				attemptRoom = r.ID()
			}
		}
		return attemptRoom != ""
	})
	qs := h.roomQuestions(attemptRoom)
	h.advance(3 * time.Second)
	for i, q := range qs {
		run(t, phone, "question shows", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#question[data-index="%d"]`, i))))
		if i == 0 {
			screenshot(t, phone, "tournament-qualifier-question")
		}
		h.clickAnswer(t, phone, q, false)
		run(t, phone, "reveal shows", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="reveal"]`)))
		h.advance(3 * time.Second)
	}
	run(t, phone, "the attempt ends", chromedp.WaitVisible(chromedp.CSS(`body[data-phase="finished"]`)))

	// Four members over the socket, ranked 1..4 by their scripts.
	cs := make([]*client, 4)
	for i := range cs {
		cs[i] = h.dial()
		cs[i].hello(fmt.Sprintf("选手%d", i+1))
		m := cs[i].reply(cs[i].send("tournament.attempt", map[string]any{"tournament": "city"}))
		var d struct{ Room string }
		m.decode(t, &d)
		right := []bool{true, i < 2}
		h.playRoom(d.Room, cs[i:i+1], [][]step{{{right[0], time.Duration(i) * time.Second}}, {{right[1], 0}}}, true)
	}
	run(t, screen, "the qualifier's top", chromedp.WaitVisible(chromedp.CSS(`#qual-list li:nth-child(5)`)))
	if top := get(t, screen, "top of the qualifier", chromedp.Evaluate[string](`document.querySelector("#qual-list li").dataset.player`)); top != cs[0].id {
		t.Fatalf("the bracket page's top: %s, want %s", top, cs[0].id)
	}
	screenshot(t, screen, "tournament-bracket-qualifier")
	run(t, phone, "back to my tournament page", chromedp.Navigate(h.url("/tournament?id=city")), chromedp.WaitVisible(chromedp.CSS(`#attempts tr`)))
	screenshot(t, phone, "tournament-player-attempts")

	checkIn := func(round int, cs ...*client) {
		t.Helper()
		for _, c := range cs {
			if m := c.reply(c.send("tournament.checkin", map[string]any{"tournament": "city", "round": round})); m.Type != "tournament.checked_in" {
				t.Fatalf("check-in: %s", m.raw)
			}
		}
	}
	ready := func(c *client, round int) string {
		t.Helper()
		var d struct {
			Round int
			Room  string
		}
		c.expectFn("tournament.match", func(m msg) bool {
			_ = json.Unmarshal(m.Data, &d)
			return m.Type == "tournament.match" && d.Round == round
		})
		return d.Room
	}
	// Round 1: 1 v 4 and 2 v 3, the better seed right.
	h.clk.Set(first.Add(-5 * time.Minute))
	checkIn(1, cs...)
	h.clk.Set(first)
	r1, r2 := ready(cs[0], 1), ready(cs[1], 1)
	ready(cs[3], 1)
	ready(cs[2], 1)
	run(t, screen, "round 1 live", chromedp.WaitVisible(chromedp.CSS(`.round[data-round="1"] .match[data-state="playing"]`)))
	screenshot(t, screen, "tournament-bracket-round1-live")
	h.playSideBySide([]string{r1, r2}, [][]*client{{cs[0], cs[3]}, {cs[1], cs[2]}}, func(i, k int) bool { return k == 0 })
	run(t, screen, "round 1 decided", chromedp.WaitVisible(chromedp.CSS(`.round[data-round="1"] .match:nth-child(2)[data-state="decided"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.round[data-round="1"] .match:nth-child(1)[data-state="decided"]`)))
	screenshot(t, screen, "tournament-bracket-round1")

	// The final on stage.
	h.clk.Set(first.Add(5 * time.Minute))
	checkIn(2, cs[0], cs[1])
	h.clk.Set(first.Add(10 * time.Minute))
	final := ready(cs[0], 2)
	ready(cs[1], 2)
	run(t, screen, "the final's PIN", chromedp.WaitVisible(chromedp.ID("final-pin")))
	run(t, desk, "the organizer watches", chromedp.WaitVisible(chromedp.ID("final-host")), chromedp.WaitVisible(chromedp.CSS(`#watch-body .rd[data-round="2"]`)),
		chromedp.ScrollIntoView(chromedp.ID("watch")))
	screenshot(t, desk, "tournament-organizer-watch")
	var v viewReply
	h.api("GET", "/api/v1/tournaments/city/view", "", nil, &v)
	var link struct{ Token string }
	h.api("POST", "/api/v1/events/"+v.Final.Event+"/links", org, map[string]any{"role": "host"}, &link)
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": link.Token}))
	if m := host.reply(host.send("host.control", map[string]any{"room": final, "action": "start"})); m.Type == "error" {
		t.Fatalf("start the final: %s", m.raw)
	}
	h.playSideBySide([]string{final}, [][]*client{{cs[0], cs[1]}}, func(i, k int) bool { return k == 0 })
	run(t, screen, "the podium", chromedp.WaitVisible(chromedp.CSS(`#podium .step.p1`)))
	if who := get(t, screen, "the champion", chromedp.Text(chromedp.CSS(`#podium .step.p1 .who`))); who != "选手1" {
		t.Fatalf("champion on the podium: %q", who)
	}
	screenshot(t, screen, "tournament-bracket-podium")
	run(t, phone, "the phone member's page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#next-state[data-state="not_entered"]`)))
	screenshot(t, phone, "tournament-player-after")
}
