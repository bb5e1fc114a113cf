package web_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestExportNeutralisesFormulas: names and teams a spreadsheet would take
// for formulas come out of the CSV export as text (prefixed with ') and out
// of the XLSX export as string cells, never formulas.
func TestExportNeutralisesFormulas(t *testing.T) {
	h := newHarness(t, nil)
	teams := []string{"=SUM(A1:A9)", "@蓝队"}
	ev := h.createEvent(map[string]any{"title": "=HYPERLINK(\"http://x\")", "count": 1, "lang": "zh", "team_mode": "sum", "teams": teams})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	names := []string{"=1+1", "+cmd", "@x", "-2", "普通人"}
	ps := make([]*client, len(names))
	for i, n := range names {
		ps[i] = h.dial()
		ps[i].hello(n)
		if m := ps[i].reply(ps[i].send("event.join", map[string]any{"pin": ev.PIN, "team": teams[i%2]})); m.Type != "room.state" {
			t.Fatalf("join as %q: %s", n, m.raw)
		}
	}
	h.control(host, ev.Room, "start")
	h.advance(3 * time.Second)
	q := h.nextQuestion(ps...)
	for i, c := range ps {
		d := h.wrongAnswer(q)
		if i%2 == 0 {
			d = h.correctAnswer(q)
		}
		c.reply(c.send("answer", d))
	}
	ps[0].expect("reveal")
	h.control(host, ev.Room, "end")
	ps[0].expect("room.finished")

	dangerous := func(s string) bool { return s != "" && strings.ContainsRune("=+-@", rune(s[0])) }
	var body []byte
	if code := h.api("GET", "/api/v1/events/"+ev.ID+"/results?format=csv", h.orgToken(), nil, &body); code != 200 {
		t.Fatalf("csv: %d", code)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) != len(names)+1 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if dangerous(cell) {
				t.Fatalf("csv cell %q would be a formula: row %q", cell, row)
			}
		}
		name, team := row[1], row[2]
		if !slices.Contains([]string{"'=SUM(A1:A9)", "'@蓝队"}, team) {
			t.Fatalf("csv team %q, want a team prefixed with '", team)
		}
		seen[name] = true
	}
	for _, n := range names {
		want := n
		if dangerous(n) {
			want = "'" + n
		}
		if !seen[want] {
			t.Fatalf("csv has no row for %q (want the cell %q); rows %q", n, want, rows)
		}
	}

	if code := h.api("GET", "/api/v1/events/"+ev.ID+"/results?format=xlsx", h.orgToken(), nil, &body); code != 200 {
		t.Fatalf("xlsx: %d", code)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, sheet := range []string{"Standings", "Answers"} {
		rows, err := x.GetRows(sheet)
		if err != nil || len(rows) != len(names)+1 {
			t.Fatalf("%s: %v, %d rows", sheet, err, len(rows))
		}
		got := map[string]bool{}
		for r := range rows {
			for c := range rows[r] {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if f, _ := x.GetCellFormula(sheet, cell); f != "" {
					t.Fatalf("%s!%s holds the formula %q", sheet, cell, f)
				}
				v, _ := x.GetCellValue(sheet, cell)
				if !dangerous(v) {
					continue
				}
				typ, _ := x.GetCellType(sheet, cell)
				if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
					t.Fatalf("%s!%s = %q is stored as cell type %v, not a string", sheet, cell, v, typ)
				}
				got[v] = true
			}
		}
		for _, v := range append([]string{"=1+1", "+cmd", "@x", "-2"}, teams...) {
			if !got[v] {
				t.Fatalf("%s: no string cell %q", sheet, v)
			}
		}
	}
}

// TestScriptLikeNames: a nickname that looks like HTML is kept as the text
// it is, and never travels as markup: every frame and API body escapes it.
func TestScriptLikeNames(t *testing.T) {
	h := newHarness(t, nil)
	const evil = `<svg/onload=alert(1)>`
	ev := h.createEvent(map[string]any{"title": `<script>alert("t")</script>`, "count": 1, "lang": "zh"})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	host.reply(host.send("watch", map[string]any{"room": ev.Room}))
	other := h.dial()
	other.hello("旁观者")
	other.reply(other.send("event.join", map[string]any{"pin": ev.PIN}))
	p := h.dial()
	if w := p.hello(evil); w.Player.Name != evil {
		t.Fatalf("name came back as %q", w.Player.Name)
	}
	var st struct{ Members []struct{ Name string } }
	p.reply(p.send("event.join", map[string]any{"pin": ev.PIN})).decode(t, &st)
	if !slices.ContainsFunc(st.Members, func(m struct{ Name string }) bool { return m.Name == evil }) {
		t.Fatalf("members %+v, want the name verbatim", st.Members)
	}
	var joined struct{ Player struct{ Name string } }
	other.expectFn("join of "+evil, func(m msg) bool { return m.Type == "room.joined" && strings.Contains(string(m.Data), "svg") }).decode(t, &joined)
	if joined.Player.Name != evil {
		t.Fatalf("room.joined name %q", joined.Player.Name)
	}
	for _, c := range []*client{host, other, p} {
		for _, m := range c.all() {
			if bytes.ContainsAny(m.raw, "<>") {
				t.Fatalf("a frame carries raw markup: %s", m.raw)
			}
		}
	}
	for _, path := range []string{"/api/v1/events/" + ev.ID + "/results", "/api/v1/pins/" + ev.PIN, "/api/v1/events"} {
		var body []byte
		h.api("GET", path, h.orgToken(), nil, &body)
		if bytes.ContainsAny(body, "<>") {
			t.Fatalf("%s carries raw markup: %s", path, body)
		}
	}
}

// TestExportContents: every export carries the question text; the XLSX
// answer sheet keeps numbers and booleans typed; the JSON export of an event
// without teams has an empty team list and, once it ended, its end time.
func TestExportContents(t *testing.T) {
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{"title": "导出", "count": 1, "lang": "zh"})
	host := h.dial()
	host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken}))
	a, b := h.dial(), h.dial()
	a.hello("甲")
	b.hello("乙")
	for _, c := range []*client{a, b} {
		c.reply(c.send("event.join", map[string]any{"pin": ev.PIN}))
	}
	h.control(host, ev.Room, "start")
	h.advance(3 * time.Second)
	q := h.nextQuestion(a, b)
	a.reply(a.send("answer", h.correctAnswer(q)))
	h.advance(time.Second)
	b.reply(b.send("answer", h.wrongAnswer(q)))
	a.expect("reveal")
	h.control(host, ev.Room, "end")
	a.expect("room.finished")
	if q.Question.Text == "" {
		t.Fatal("the question has no text")
	}

	// JSON.
	var doc struct {
		Event struct {
			CreatedAt int64 `json:"created_at"`
			EndedAt   int64 `json:"ended_at"`
		}
		Teams   *[]any
		Answers []struct {
			QuestionText string `json:"question_text"`
		}
	}
	waitFor(t, "the event's end recorded", func() bool {
		h.api("GET", "/api/v1/events/"+ev.ID+"/results", h.orgToken(), nil, &doc)
		return doc.Event.EndedAt != 0
	})
	if doc.Teams == nil || len(*doc.Teams) != 0 {
		t.Fatalf("teams = %v, want []", doc.Teams)
	}
	if doc.Event.EndedAt < doc.Event.CreatedAt || len(doc.Answers) != 2 {
		t.Fatalf("event %+v, %d answers", doc.Event, len(doc.Answers))
	}
	for _, ans := range doc.Answers {
		if ans.QuestionText != q.Question.Text {
			t.Fatalf("json question_text %q, want %q", ans.QuestionText, q.Question.Text)
		}
	}

	// CSV.
	var body []byte
	h.api("GET", "/api/v1/events/"+ev.ID+"/results?format=csv", h.orgToken(), nil, &body)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	last := len(rows[0]) - 1
	if rows[0][last] != "question_text" || rows[1][last] != q.Question.Text || rows[2][last] != q.Question.Text {
		t.Fatalf("csv question text column: %q", rows)
	}

	// XLSX: the answer sheet's numbers are numbers.
	h.api("GET", "/api/v1/events/"+ev.ID+"/results?format=xlsx", h.orgToken(), nil, &body)
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	head, err := x.GetRows("Answers")
	if err != nil || len(head) != 3 {
		t.Fatalf("answers sheet: %v, %d rows", err, len(head))
	}
	col := map[string]int{}
	for i, name := range head[0] {
		col[name] = i + 1
	}
	for r := 2; r <= 3; r++ {
		for name, want := range map[string]excelize.CellType{
			"rank": excelize.CellTypeUnset, "question_index": excelize.CellTypeUnset, "elapsed_ms": excelize.CellTypeUnset,
			"points": excelize.CellTypeUnset, "correct": excelize.CellTypeBool, "question_text": excelize.CellTypeSharedString,
		} {
			cell, _ := excelize.CoordinatesToCellName(col[name], r)
			typ, _ := x.GetCellType("Answers", cell)
			if typ != want && !(want == excelize.CellTypeUnset && typ == excelize.CellTypeNumber) {
				v, _ := x.GetCellValue("Answers", cell)
				t.Fatalf("Answers!%s (%s) = %q has cell type %v, want %v", cell, name, v, typ, want)
			}
		}
	}
	if v, _ := x.GetCellValue("Answers", mustCell(col["question_text"], 2)); v != q.Question.Text {
		t.Fatalf("xlsx question text %q", v)
	}
}

func mustCell(col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row)
	return c
}
