package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leitai/leitai/store"
)

// TestBrowserOrgPages: the organizer uploads a tree with bad rows on the
// organization page (every bad row listed, nothing imported), then a good
// tree as XLSX and a roster as CSV, and reads the invitation links off the
// page; one member registers with their link on the phone and plays the
// day's practice from the "me" card, others register through the API;
// the organization admin page shows each unit's registration and
// participation rates and the weekly ranking with the unit under target
// marked; the leaderboard screen moves a learner to the top when a new
// award lands; the organizer moves a unit to another parent on the page.
// Screenshots of every page are kept.
func TestBrowserOrgPages(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.orgToken()
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badTree := file("bad-tree.csv", []byte("code,name,parent,expected\ncity,City,,0\nd1,District 1,nowhere,0\nu1,,city,x\n"))
	goodTree := file("tree.xlsx", xlsxOf(t, orgTree)) // the same rows as orgTree, as a workbook
	roster := file("roster.csv", []byte(orgRoster))

	organizer := browser(t, 1280, 900)
	run(t, organizer, "from the organizer page to the organization page",
		chromedp.Navigate(h.url("/admin?token="+url.QueryEscape(tok))),
		chromedp.WaitVisible(chromedp.ID("orgs-link")),
		chromedp.Click(chromedp.ID("orgs-link")),
		chromedp.WaitVisible(chromedp.ID("tree-import")),
		chromedp.SetUploadFiles(chromedp.ID("tree-file"), []string{badTree}),
		chromedp.Click(chromedp.ID("tree-import")),
		chromedp.WaitVisible(chromedp.CSS(`#import-errors-body tr[data-row="4"]`)),
	)
	if rows := get(t, organizer, "bad rows", chromedp.Evaluate[string](`[...document.querySelectorAll("#import-errors-body tr")].map(r => r.dataset.row + ":" + r.children[1].textContent).join(" ")`)); rows != "3:parent 4:name 4:expected" {
		t.Errorf("bad rows listed %q, want 3:parent 4:name 4:expected", rows)
	}
	if orgs, _ := h.st.Orgs(context.Background(), ""); len(orgs) != 0 {
		t.Fatalf("a refused tree stored %d units", len(orgs))
	}
	screenshot(t, organizer, "org-import-errors")
	run(t, organizer, "import the tree and the roster",
		chromedp.SetUploadFiles(chromedp.ID("tree-file"), []string{goodTree}),
		chromedp.Click(chromedp.ID("tree-import")),
		chromedp.WaitVisible(chromedp.CSS(`#units-body tr[data-unit="u3"]`)),
		chromedp.SetUploadFiles(chromedp.ID("roster-file"), []string{roster}),
		chromedp.Click(chromedp.ID("roster-import")),
		chromedp.WaitVisible(chromedp.CSS(`#invites-body tr[data-number="004"]`)),
	)
	links := map[string]string{}
	for _, num := range []string{"001", "002", "003", "004"} {
		links[num] = get(t, organizer, "invitation "+num, chromedp.Evaluate[string](`document.querySelector('#invites-body tr[data-number="`+num+`"] td.invite').textContent`))
	}
	screenshot(t, organizer, "org-import-roster")
	invites := map[string]string{}
	for num, link := range links {
		u, err := url.Parse(link)
		if err != nil || u.Path != "/" || u.Query().Get("invite") == "" || !strings.HasPrefix(link, h.url("/")) {
			t.Fatalf("invitation link %q", link)
		}
		invites[num] = u.Query().Get("invite")
	}

	// An (001, u1) registers on the phone with the invitation link.
	phone := browser(t, 390, 844)
	run(t, phone, "open the invitation link",
		chromedp.Navigate(links["001"]),
		chromedp.WaitVisible(chromedp.ID("me-stats")),
	)
	if u := get(t, phone, "address bar", chromedp.Evaluate[string](`location.href`)); u != h.url("/") {
		t.Fatalf("the invitation stayed in the address bar: %s", u)
	}
	var member struct{ Player string }
	for _, num := range []string{"001"} {
		var list []struct{ ID, Number, Player string }
		h.api("GET", "/api/v1/orgs/u1/members", tok, nil, &list)
		for _, m := range list {
			if m.Number == num {
				member.Player = m.Player
			}
		}
	}
	if member.Player == "" {
		t.Fatal("registering on the page did not register the member")
	}
	players := map[string]string{"001": member.Player}
	// Bo (001, u1) and Ce (003, u2) register through the API; Di (004, u3) never does.
	for _, num := range []string{"002", "003"} {
		var reg struct{ ID string }
		if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"invite": invites[num]}, &reg); code != 201 {
			t.Fatalf("register %s: %d", num, code)
		}
		players[num] = reg.ID
	}

	// An plays the day's practice from the "me" card: five questions, all
	// right, five points through the ledger.
	run(t, phone, "the practice is not done yet",
		chromedp.WaitVisible(chromedp.CSS(`#me-daily[data-state="todo"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#me-challenge[data-best="0"]`)),
	)
	screenshot(t, phone, "org-player-me-start")
	run(t, phone, "start the daily practice",
		chromedp.Click(chromedp.ID("me-daily")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)),
	)
	h.advance(3 * time.Second)
	for i := 0; i < 5; i++ {
		sel := fmt.Sprintf(`#question[data-index="%d"]`, i)
		run(t, phone, "question on the page", chromedp.WaitVisible(chromedp.CSS(sel+` .qtext`)))
		q := h.pageQuestion(t, get(t, phone, "question text", chromedp.Evaluate[string](`document.querySelector('`+sel+` .qtext').textContent`)), i)
		if i == 0 {
			screenshot(t, phone, "org-player-daily-question")
		}
		h.clickAnswer(t, phone, q, true)
		run(t, phone, "reveal shown", chromedp.WaitVisible(chromedp.CSS(`#reveal[data-correct="true"]`)))
		h.advance(3 * time.Second)
	}
	run(t, phone, "the practice's end", chromedp.WaitVisible(chromedp.CSS(`#solo-final[data-kind="daily"][data-score="5"]`)))
	screenshot(t, phone, "org-player-daily-final")
	run(t, phone, "back to the start", chromedp.Click(chromedp.ID("btn-back")),
		chromedp.WaitVisible(chromedp.CSS(`#me-daily[data-state="done"]`)))
	led, err := h.st.Ledger(context.Background(), players["001"], 10)
	if err != nil || len(led) != 1 || led[0].Source != store.SourceDaily || led[0].Paid != 5 || led[0].Unit != "u1" {
		t.Fatalf("An's ledger after the practice: %+v %v", led, err)
	}
	// The card refuses a second practice today, in the page's words.
	run(t, phone, "a second practice today",
		chromedp.Click(chromedp.ID("me-daily")),
		chromedp.WaitVisible(chromedp.ID("start-msg")),
	)
	if msg := get(t, phone, "refusal", jsText("start-msg")); msg != "今天的每日答题已完成，明天再来" {
		t.Errorf("second practice refused with %q", msg)
	}
	if n := get(t, phone, "history rows", chromedp.Evaluate[int](`document.querySelectorAll("#me-history-list li[data-ref]").length`)); n != 1 {
		t.Errorf("history shows %d awards, want 1", n)
	}

	ctx := context.Background()
	day := h.clk.Now().In(mustLoc(t)).Format(time.DateOnly)
	seq := 0
	award := func(num string, points int64) {
		t.Helper()
		seq++
		_, err := h.st.Award(ctx, nil, []store.Award{{Ref: fmt.Sprintf("browser:%d", seq), Player: players[num], Source: store.SourceDuel, Points: points, Day: day, At: h.clk.Now()}})
		if err != nil {
			t.Fatal(err)
		}
	}
	award("003", 6)

	// The phone's "me" card: today's and this week's points, ranks.
	run(t, phone, "reload the player page", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("me-stats")))
	_ = get(t, phone, "today's points on the phone", chromedp.Poll[bool](`document.getElementById("me-today").textContent === "5"`))
	if got := get(t, phone, "me card", chromedp.Evaluate[string](`["me-week","me-unit-rank","me-city-rank"].map(id => document.getElementById(id).textContent).join(" ")`)); got != "5 1 2" {
		t.Fatalf("me card shows week/unit rank/city rank %q, want \"5 1 2\"", got)
	}
	screenshot(t, phone, "org-player-me")

	// The organization admin page with the city's admin token.
	var adm struct{ Token string }
	if code := h.api("POST", "/api/v1/orgs/city/admin-token", tok, nil, &adm); code != 201 {
		t.Fatalf("admin token: %d", code)
	}
	page := browser(t, 1280, 900)
	run(t, page, "open the organization admin page",
		chromedp.Navigate(h.url("/org?token="+url.QueryEscape(adm.Token))),
		chromedp.WaitVisible(chromedp.CSS(`#units-body tr[data-unit="u3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#weekly-body tr[data-unit="u3"]`)),
	)
	cell := func(table, unit, cls string) string {
		return get(t, page, unit+" "+cls, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector('#%s tr[data-unit="%s"] td.%s') || {}).textContent || ""`, table, unit, cls)))
	}
	// u1: 2 of 4 registered, 1 of 2 active; u2: 1 of 2, 1 of 1; u3: none.
	for _, c := range []struct{ unit, reg, part, ppm string }{{"u1", "50%", "50%", "2.5"}, {"u2", "50%", "100%", "6"}, {"u3", "0%", "0%", "0"}, {"city", "37.5%", "66.7%", "3.7"}} {
		if r, p, m := cell("units-body", c.unit, "reg"), cell("units-body", c.unit, "part"), cell("units-body", c.unit, "ppm"); r != c.reg || p != c.part || m != c.ppm {
			t.Errorf("%s: registration %q participation %q per member %q, want %q %q %q", c.unit, r, p, m, c.reg, c.part, c.ppm)
		}
	}
	if below := get(t, page, "units under target", chromedp.Evaluate[string](`[...document.querySelectorAll("#weekly-body tr.below")].map(r => r.dataset.unit).join(",")`)); below != "u3" {
		t.Errorf("units marked under the target: %q, want u3", below)
	}
	if order := get(t, page, "weekly order", chromedp.Evaluate[string](`[...document.querySelectorAll("#weekly-body tr")].map(r => r.dataset.unit).join(",")`)); order != "u2,u1,u3" {
		t.Errorf("weekly ranking by participation: %q, want u2,u1,u3", order)
	}
	run(t, page, "show the members of u1",
		chromedp.Click(chromedp.CSS(`#units-body button.show-members[data-unit="u1"]`)),
		chromedp.WaitVisible(chromedp.ID("members-card")),
	)
	_ = get(t, page, "members of u1", chromedp.Poll[bool](`document.querySelectorAll("#members-body tr[data-member]").length === 2`))
	screenshot(t, page, "org-admin")
	_ = get(t, page, "scroll to the weekly ranking", chromedp.Evaluate[bool](`(document.getElementById("weekly").scrollIntoView(), true)`))
	screenshot(t, page, "org-admin-weekly")
	if href := get(t, page, "download", chromedp.Evaluate[bool](`!document.getElementById("weekly-xlsx").disabled`)); !href {
		t.Error("the weekly XLSX download is disabled")
	}
	// A unit admin's page covers its subtree only.
	var d2 struct{ Token string }
	h.api("POST", "/api/v1/orgs/d2/admin-token", tok, nil, &d2)
	run(t, page, "open the page as the d2 admin",
		chromedp.Navigate(h.url("/org?token="+url.QueryEscape(d2.Token))),
		chromedp.WaitVisible(chromedp.CSS(`#units-body tr[data-unit="u3"]`)),
	)
	if rows := get(t, page, "d2 units", chromedp.Evaluate[string](`[...document.querySelectorAll("#units-body tr")].map(r => r.dataset.unit).join(",")`)); rows != "d2,u3" {
		t.Errorf("the d2 admin sees %q, want d2,u3", rows)
	}

	// The admin page issues a read-only screen token and shows the link.
	run(t, page, "back to the city's page",
		chromedp.Navigate(h.url("/org?token="+url.QueryEscape(adm.Token))),
		chromedp.WaitVisible(chromedp.CSS(`#weekly-body tr[data-unit="u3"]`)),
		chromedp.Click(chromedp.ID("board-open")),
		chromedp.WaitVisible(chromedp.ID("board-url")),
	)
	link := get(t, page, "screen link", jsText("board-url"))
	bu, err := url.Parse(link)
	if err != nil || bu.Path != "/board" {
		t.Fatalf("screen link %q", link)
	}
	frag, _ := url.ParseQuery(bu.Fragment)
	if code := h.api("GET", "/api/v1/orgs", frag.Get("token"), nil, nil); code != 403 {
		t.Fatalf("the screen's token read the tree: %d, want 403", code)
	}
	screen := browser(t, 1280, 720)
	run(t, screen, "open the leaderboard screen",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#players .row[data-key="`+players["003"]+`"]`)),
	)
	if u := get(t, screen, "address bar", chromedp.Evaluate[string](`location.href`)); strings.Contains(u, "token") || !strings.HasPrefix(u, h.url("/board")) {
		t.Fatalf("the token stayed in the address bar: %s", u)
	}
	order := func() string {
		return get(t, screen, "board order", chromedp.Evaluate[string](`[...document.querySelectorAll("#players .row")].sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top).map(r => r.querySelector(".name").textContent + ":" + r.dataset.score).join(" ")`))
	}
	_ = get(t, screen, "rows in place", chromedp.Poll[bool](`document.querySelectorAll("#players .row:not(.enter)").length === 2 && document.getAnimations().length === 0`))
	if o := order(); o != "Ce:6 An:5" {
		t.Fatalf("board before the award: %q", o)
	}
	screenshot(t, screen, "org-board-before")
	award("002", 10)
	_ = get(t, screen, "the new award on the screen", chromedp.Poll[bool](`(() => { const r = document.querySelector('#players .row[data-key="`+players["002"]+`"]'); return r && r.dataset.score === "10" && r.style.transform === "translateY(0%)"; })()`))
	// Let the slide and the count-up finish before the picture.
	_ = get(t, screen, "animation done", chromedp.Poll[bool](`[...document.querySelectorAll("#players .row .score")].every(s => s.textContent === s.closest(".row").dataset.score)`))
	waitFor(t, "rows settled", func() bool {
		return order() == "Bo:10 Ce:6 An:5" &&
			get(t, screen, "transitions", chromedp.Evaluate[bool](`document.getAnimations().length === 0 && !document.querySelector(".row.enter")`))
	})
	if u := get(t, screen, "top unit", chromedp.Evaluate[string](`(() => { const r = [...document.querySelectorAll("#units .row")].find(r => r.style.transform === "translateY(0%)"); return r ? r.dataset.key : ""; })()`)); u != "d1" {
		t.Errorf("top unit on the screen: %q, want d1", u)
	}
	screenshot(t, screen, "org-board-after")

	// The organizer moves u2 under d2 on the page; its points go with it.
	run(t, organizer, "edit u2",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#units-body button.edit-unit[data-unit="u2"]`)),
		chromedp.Click(chromedp.CSS(`#units-body button.edit-unit[data-unit="u2"]`)),
		chromedp.WaitVisible(chromedp.ID("edit-form")),
	)
	if opts := get(t, organizer, "parents offered", chromedp.Evaluate[string](`[...document.querySelectorAll("#edit-parent option")].map(o => o.value).join(",")`)); opts != "city,d1,u1,d2,u3" {
		t.Errorf("parents offered for u2: %q", opts)
	}
	run(t, organizer, "move u2 under d2",
		chromedp.SetValue(chromedp.ID("edit-parent"), "d2"),
		chromedp.Click(chromedp.ID("edit-save")),
		chromedp.WaitNotVisible(chromedp.ID("edit-form")),
	)
	_ = get(t, organizer, "u2 under d2", chromedp.Poll[bool](`[...document.querySelectorAll("#units-body tr")].map(r => r.dataset.unit).join(",") === "city,d1,u1,d2,u2,u3"`))
	if o, err := h.st.Org(context.Background(), "u2"); err != nil || o.Parent != "d2" {
		t.Fatalf("u2 after the move: %+v %v", o, err)
	}
	// d2 now holds u2's 6 points (Ce's) besides u3's none.
	if p := get(t, organizer, "d2 points", chromedp.Evaluate[string](`document.querySelector('#units-body tr[data-unit="d2"] td.pts').textContent`)); p != "6" {
		t.Errorf("d2 shows %s points after u2 moved in, want 6", p)
	}
	screenshot(t, organizer, "org-moved-unit")

	// An tries the challenge from the card: one right, then a miss ends it.
	run(t, phone, "start a challenge",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#me-challenge[data-best="0"]`)),
		chromedp.Click(chromedp.ID("me-challenge")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-phase="countdown"]`)),
	)
	h.advance(3 * time.Second)
	for i, right := range []bool{true, false} {
		sel := fmt.Sprintf(`#question[data-index="%d"]`, i)
		run(t, phone, "challenge question", chromedp.WaitVisible(chromedp.CSS(sel+` .qtext`)))
		q := h.pageQuestion(t, get(t, phone, "question text", chromedp.Evaluate[string](`document.querySelector('`+sel+` .qtext').textContent`)), i)
		h.clickAnswer(t, phone, q, right)
		run(t, phone, "reveal shown", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#reveal[data-correct="%t"]`, right))))
		h.advance(3 * time.Second)
	}
	run(t, phone, "the run's end", chromedp.WaitVisible(chromedp.CSS(`#solo-final[data-kind="challenge"][data-score="1"]`)))
	screenshot(t, phone, "org-player-challenge-final")
	run(t, phone, "back to the card", chromedp.Click(chromedp.ID("btn-back")),
		chromedp.WaitVisible(chromedp.CSS(`#me-challenge[data-best="1"]`)))
	screenshot(t, phone, "org-player-me-after")
}

// pageQuestion finds the bank question the page shows by its text.
func (h *harness) pageQuestion(t *testing.T, text string, index int) question {
	t.Helper()
	var q question
	for id, bq := range h.answers {
		if bq.Text == text {
			if q.Question.ID != "" {
				t.Fatalf("two questions read %q", text)
			}
			q.Question.ID, q.Question.Type = id, string(bq.Type)
		}
	}
	if q.Question.ID == "" {
		t.Fatalf("no question reads %q", text)
	}
	q.Index = index
	return q
}
