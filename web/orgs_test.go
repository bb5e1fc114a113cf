package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

const orgTree = "code,name,parent,expected\ncity,City,,0\nd1,District 1,city,0\nd2,District 2,city,0\nu1,Unit 1,d1,4\nu2,Unit 2,d1,2\nu3,Unit 3,d2,2\n"

const orgRoster = "name,number,unit\nAn,001,u1\nBo,002,u1\nCe,003,u2\nDi,004,u3\n"

type rosterReply struct {
	Members []struct{ ID, Name, Number, Unit, Invite string }
}

// orgSetup imports the tree and roster and registers every member; it
// returns the organizer token, member ids by number and player tokens by
// number.
func orgSetup(t *testing.T, h *harness) (string, map[string]string, map[string]string, map[string]string) {
	tok := h.orgToken()
	if code := h.api("POST", "/api/v1/orgs/import?format=csv", tok, []byte(orgTree), nil); code != 201 {
		t.Fatalf("tree import: %d", code)
	}
	var ro rosterReply
	if code := h.api("POST", "/api/v1/members/import?format=csv", tok, []byte(orgRoster), &ro); code != 201 || len(ro.Members) != 4 {
		t.Fatalf("roster import: %d %+v", code, ro)
	}
	ids, players, tokens := map[string]string{}, map[string]string{}, map[string]string{}
	for _, m := range ro.Members {
		var reg struct{ ID, Member, Token, Unit string }
		if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"invite": m.Invite}, &reg); code != 201 || reg.Member != m.ID || reg.Unit != m.Unit {
			t.Fatalf("register %s: %d %+v", m.Number, code, reg)
		}
		ids[m.Number], players[m.Number], tokens[m.Number] = m.ID, reg.ID, reg.Token
		// The invitation is used up.
		if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"invite": m.Invite}, nil); code != 404 {
			t.Fatalf("second use of an invitation: %d, want 404", code)
		}
	}
	return tok, ids, players, tokens
}

func TestOrgImportRefusesBadTree(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.orgToken()
	bad := "code,name,parent,expected\na,A,,1\nb,B,c,1\nc,C,b,1\nd,D,zz,1\na,A2,,1\n"
	var out struct {
		Imported int
		Errors   []struct {
			Row     int
			Column  string
			Message string
		}
	}
	if code := h.api("POST", "/api/v1/orgs/import?format=csv", tok, []byte(bad), &out); code != 422 || len(out.Errors) != 4 {
		t.Fatalf("bad tree: %d %+v", code, out)
	}
	orgs, _ := h.st.Orgs(context.Background(), "")
	if len(orgs) != 0 {
		t.Fatalf("a refused import stored %d units", len(orgs))
	}
}

func TestOrgMembersPlayAndRank(t *testing.T) {
	h := newHarness(t, nil)
	tok, ids, players, tokens := orgSetup(t, h)
	// The player token opens a session as the member's player.
	c := h.dial()
	id := c.send("hello", map[string]any{"token": tokens["001"]})
	w := c.welcomed(id)
	if w.Player.ID != players["001"] {
		t.Fatalf("hello with the member's token played as %s, want %s", w.Player.ID, players["001"])
	}
	ctx := context.Background()
	day := h.clk.Now().In(mustLoc(t)).Format(time.DateOnly)
	for i, a := range []struct {
		num    string
		points int64
	}{{"001", 5}, {"002", 2}, {"003", 6}, {"004", 3}} {
		_, err := h.st.Award(ctx, nil, []store.Award{{Ref: "t:" + a.num, Player: players[a.num], Source: store.SourceDuel, Points: a.points, Day: day, At: h.clk.Now()}})
		if err != nil {
			t.Fatal(i, err)
		}
	}
	var me struct {
		Points, CityRank, UnitRank int64
		CityOf                     int64 `json:"city_of"`
	}
	if code := h.api("GET", "/api/v1/me?period=day", tokens["001"], nil, &me); code != 200 || me.Points != 5 {
		t.Fatalf("me: %d %+v", code, me)
	}
	var board struct {
		Units []struct {
			Code              string
			Points            int64
			Registered        int64
			Active            int64
			ParticipationRate float64 `json:"participation_rate"`
		}
	}
	if code := h.api("GET", "/api/v1/leaderboard/units?period=week", tok, nil, &board); code != 200 || len(board.Units) != 2 ||
		board.Units[0].Code != "d1" || board.Units[0].Points != 13 || board.Units[0].Registered != 3 || board.Units[1].Points != 3 {
		t.Fatalf("unit board: %d %+v", code, board)
	}
	var wk struct {
		Units []struct {
			Code        string
			BelowTarget bool `json:"below_target"`
			Top         []struct{ Name string }
		}
	}
	if code := h.api("GET", "/api/v1/orgs/city/weekly", tok, nil, &wk); code != 200 || len(wk.Units) != 3 || len(wk.Units[0].Top) == 0 {
		t.Fatalf("weekly: %d %+v", code, wk)
	}
	var x []byte
	if code := h.api("GET", "/api/v1/orgs/city/weekly?format=xlsx", tok, nil, &x); code != 200 {
		t.Fatalf("weekly xlsx: %d", code)
	}
	f, err := excelize.OpenReader(bytes.NewReader(x))
	if err != nil {
		t.Fatal(err)
	}
	if typ, _ := f.GetCellType("Participation", "H2"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Fatalf("participation rate stored as text (%v)", typ)
	}
	// Moving a member keeps past points with the unit that earned them.
	if code := h.api("PATCH", "/api/v1/members/"+ids["001"], tok, map[string]string{"unit": "u3"}, nil); code != 200 {
		t.Fatalf("move member: %d", code)
	}
	if code := h.api("GET", "/api/v1/leaderboard/units?period=week", tok, nil, &board); code != 200 || board.Units[0].Points != 13 {
		t.Fatalf("after the move: %+v", board)
	}
}

func mustLoc(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestOrgAdminScope tries every organization, member, ledger and
// leaderboard endpoint with d1's admin token against d2's subtree: each
// must refuse (403 or 404) and change nothing.
func TestOrgAdminScope(t *testing.T) {
	h := newHarness(t, nil)
	tok, ids, _, _ := orgSetup(t, h)
	var at struct{ Token string }
	if code := h.api("POST", "/api/v1/orgs/d1/admin-token", tok, nil, &at); code != 201 {
		t.Fatalf("admin token: %d", code)
	}
	adm := at.Token
	// It sees its own subtree.
	var list struct{ Orgs []struct{ Code string } }
	if code := h.api("GET", "/api/v1/orgs", adm, nil, &list); code != 200 || len(list.Orgs) != 3 {
		t.Fatalf("own subtree: %d %+v", code, list)
	}
	outside := ids["004"] // in u3, under d2
	before, _ := h.st.Orgs(context.Background(), "")
	cases := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/orgs/import?format=csv", []byte("code,name,parent\nx,X,d2\n")},
		{"GET", "/api/v1/orgs?root=d2", nil},
		{"GET", "/api/v1/orgs?root=city", nil},
		{"GET", "/api/v1/orgs/d2", nil},
		{"GET", "/api/v1/orgs/u3", nil},
		{"GET", "/api/v1/orgs/city", nil},
		{"PATCH", "/api/v1/orgs/u3", map[string]any{"name": "taken"}},
		{"PATCH", "/api/v1/orgs/u1", map[string]any{"parent": "d2"}},
		{"PATCH", "/api/v1/orgs/d1", map[string]any{"parent": "u1"}},
		{"POST", "/api/v1/orgs/u1/admin-token", nil},
		{"POST", "/api/v1/orgs/u3/admin-token", nil},
		{"GET", "/api/v1/orgs/u3/members", nil},
		{"GET", "/api/v1/orgs/d2/weekly", nil},
		{"GET", "/api/v1/orgs/d2/weekly?format=xlsx", nil},
		{"POST", "/api/v1/members/import?format=csv", []byte("name,number,unit\nX,900,u3\n")},
		{"PATCH", "/api/v1/members/" + outside, map[string]string{"unit": "u1"}},
		{"PATCH", "/api/v1/members/" + ids["001"], map[string]string{"unit": "u3"}},
		{"GET", "/api/v1/members/" + outside + "/rank", nil},
		{"GET", "/api/v1/members/" + outside + "/ledger", nil},
		{"GET", "/api/v1/leaderboard/players?org=d2", nil},
		{"GET", "/api/v1/leaderboard/players?org=city", nil},
		{"GET", "/api/v1/leaderboard/units?org=d2", nil},
		{"GET", "/api/v1/leaderboard/units?org=city", nil},
	}
	for _, c := range cases {
		var body []byte
		code := h.api(c.method, c.path, adm, c.body, &body)
		if strings.HasPrefix(c.path, "/api/v1/members/import") {
			// A roster is refused row by row: the unit is not in the subtree.
			if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "no unit u3 in your organization") {
				t.Errorf("roster into u3 with d1's token: %d %s", code, body)
			}
			continue
		}
		if code != http.StatusForbidden && code != http.StatusNotFound {
			t.Errorf("%s %s with d1's token: %d %s, want 403 or 404", c.method, c.path, code, body)
		}
		if !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %s: body %s is not an API error", c.method, c.path, body)
		}
	}
	after, _ := h.st.Orgs(context.Background(), "")
	if len(after) != len(before) {
		t.Fatalf("units %d -> %d", len(before), len(after))
	}
	for i := range after {
		if after[i] != before[i] {
			t.Errorf("unit changed: %+v -> %+v", before[i], after[i])
		}
	}
	m, _ := h.st.Member(context.Background(), outside)
	if m.Unit != "u3" {
		t.Errorf("outside member moved to %s", m.Unit)
	}
	if m, _ := h.st.Member(context.Background(), ids["001"]); m.Unit != "u1" {
		t.Errorf("inside member moved out to %s", m.Unit)
	}
	if ms, _ := h.st.Members(context.Background(), "u3"); len(ms) != 1 {
		t.Errorf("u3 has %d members, want 1", len(ms))
	}
	// A player token is no admin token.
	if code := h.api("GET", "/api/v1/orgs", "nonsense", nil, nil); code != 401 {
		t.Errorf("unknown token: %d", code)
	}
}

// xlsxOf builds a one-sheet workbook from comma-separated lines.
func xlsxOf(t *testing.T, text string) []byte {
	t.Helper()
	f := excelize.NewFile()
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		for j, v := range strings.Split(line, ",") {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if err := f.SetCellValue("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestOrgImportXLSXReportsEveryBadRow: a tree and a roster as XLSX with
// several bad rows are refused whole, each bad row named, and nothing is
// stored; the same files corrected import.
func TestOrgImportXLSXReportsEveryBadRow(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.orgToken()
	type rowErrs struct {
		Imported int
		Errors   []struct {
			Row     int
			Column  string
			Message string
		}
	}
	got := func(out rowErrs) map[string]bool {
		m := map[string]bool{}
		for _, e := range out.Errors {
			m[fmt.Sprintf("%d:%s", e.Row, e.Column)] = true
		}
		return m
	}
	// Row 3 an unknown parent, row 4 no name and a bad count, row 5 a
	// duplicate code, rows 6 and 7 a cycle.
	bad := "code,name,parent,expected\ncity,City,,0\nd1,District,nowhere,0\nu1,,city,many\ncity,Again,,0\nx,X,y,1\ny,Y,x,1\n"
	var out rowErrs
	if code := h.api("POST", "/api/v1/orgs/import?format=xlsx", tok, xlsxOf(t, bad), &out); code != 422 || out.Imported != 0 {
		t.Fatalf("bad tree: %d %+v", code, out)
	}
	for _, want := range []string{"3:parent", "4:name", "4:expected", "5:code", "6:parent", "7:parent"} {
		if !got(out)[want] {
			t.Errorf("no error for %s in %+v", want, out.Errors)
		}
	}
	if len(out.Errors) != 6 {
		t.Errorf("%d errors, want 6: %+v", len(out.Errors), out.Errors)
	}
	if orgs, _ := h.st.Orgs(context.Background(), ""); len(orgs) != 0 {
		t.Fatalf("a refused tree stored %d units", len(orgs))
	}
	if code := h.api("POST", "/api/v1/orgs/import?format=xlsx", tok, xlsxOf(t, orgTree), nil); code != 201 {
		t.Fatalf("good tree: %d", code)
	}
	// Roster: row 3 repeats a number, row 4 names no unit known, row 5 has no name.
	badRoster := "name,number,unit\nAn,001,u1\nBo,001,u1\nCe,003,nowhere\n,004,u3\n"
	out = rowErrs{}
	if code := h.api("POST", "/api/v1/members/import?format=xlsx", tok, xlsxOf(t, badRoster), &out); code != 422 || out.Imported != 0 {
		t.Fatalf("bad roster: %d %+v", code, out)
	}
	for _, want := range []string{"3:number", "4:unit", "5:name"} {
		if !got(out)[want] {
			t.Errorf("no error for %s in %+v", want, out.Errors)
		}
	}
	if len(out.Errors) != 3 {
		t.Errorf("%d errors, want 3: %+v", len(out.Errors), out.Errors)
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if ms, _ := h.st.Members(context.Background(), u); len(ms) != 0 {
			t.Fatalf("a refused roster stored %d members in %s", len(ms), u)
		}
	}
	var ro rosterReply
	if code := h.api("POST", "/api/v1/members/import?format=xlsx", tok, xlsxOf(t, orgRoster), &ro); code != 201 || len(ro.Members) != 4 {
		t.Fatalf("good roster: %d %+v", code, ro)
	}
}

// TestOrgReadsAgreeOnEveryNode: two servers on one database, as nodes of a
// cluster share theirs. Points paid through one (a daily practice played
// there, and an award) are read the same from the other: leaderboards,
// ranks, the weekly ranking and the "me" card come from the store, not from
// what a node saw.
func TestOrgReadsAgreeOnEveryNode(t *testing.T) {
	// Two nodes of one cluster (a shared bus and leases) on one store: two
	// single nodes on one database would each adopt the other's rooms as
	// orphans and fence them.
	a, b := clusterPair(t)
	tok, _, players, tokens := orgSetup(t, a)
	b.orgToken()

	// An plays today's practice on node a, all right.
	c := a.dial()
	c.welcomed(c.send("hello", map[string]any{"token": tokens["001"]}))
	soloStart(t, c, "daily")
	c.expect("room.state")
	a.advance(3 * time.Second)
	for i := 0; i < 5; i++ {
		a.playQuestion(c, i, true)
		a.advance(3 * time.Second)
	}
	c.expect("room.finished")
	// The units board, read on node a before the next award, is kept
	// there for web.BoardFresh: within it, a answers what it read.
	const units = "/api/v1/leaderboard/units?period=week&by=points"
	var before, cached []byte
	if code := a.api("GET", units, tok, nil, &before); code != 200 {
		t.Fatalf("units board on a: %d", code)
	}
	day := a.clk.Now().In(mustLoc(t)).Format(time.DateOnly)
	if _, err := a.st.Award(context.Background(), nil, []store.Award{{Ref: "t:003", Player: players["003"], Source: store.SourceDuel, Points: 2, Day: day, At: a.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	if code := a.api("GET", units, tok, nil, &cached); code != 200 || !bytes.Equal(before, cached) {
		t.Fatalf("units board on a within %v of its read: %d %s, want what it read: %s", web.BoardFresh, code, cached, before)
	}
	// Past the interval every node answers the same, the award counted.
	a.advance(web.BoardFresh)
	for _, path := range []string{
		"/api/v1/leaderboard/players?period=day",
		"/api/v1/leaderboard/players?period=week&org=d1",
		"/api/v1/leaderboard/units?period=week&by=points",
		"/api/v1/orgs?period=week",
		"/api/v1/orgs/city/weekly",
	} {
		var fromA, fromB []byte
		if code := a.api("GET", path, tok, nil, &fromA); code != 200 {
			t.Fatalf("%s on a: %d", path, code)
		}
		if code := b.api("GET", path, tok, nil, &fromB); code != 200 || !bytes.Equal(fromA, fromB) {
			t.Errorf("%s: node b answers %d %s, node a %s", path, code, fromB, fromA)
		}
		if path == units && bytes.Equal(fromA, before) {
			t.Errorf("units board on a after %v: %s, the same as before the award", web.BoardFresh, fromA)
		}
	}
	var me struct {
		Points        int64
		UnitRank      int64 `json:"unit_rank"`
		ChallengeBest int   `json:"challenge_best"`
		Daily         struct{ Day, State string }
	}
	if code := b.api("GET", "/api/v1/me?period=day", tokens["001"], nil, &me); code != 200 || me.Points != 5 || me.UnitRank != 1 || me.Daily.State != "done" || me.Daily.Day != day {
		t.Fatalf("An's card on node b: %d %+v", code, me)
	}
	if code := b.api("GET", "/api/v1/me?period=day", tokens["002"], nil, &me); code != 200 || me.Points != 0 || me.Daily.State != "todo" {
		t.Fatalf("Bo's card on node b: %d %+v", code, me)
	}
	var led []struct{ Source string }
	if code := b.api("GET", "/api/v1/me/ledger", tokens["001"], nil, &led); code != 200 || len(led) != 1 || led[0].Source != store.SourceDaily {
		t.Fatalf("An's history on node b: %d %+v", code, led)
	}
}

// TestOrgJoinByUnitCode: a member without an invitation picks their unit
// with its join code; a wrong code or a missing name is refused and
// registers no one.
func TestOrgJoinByUnitCode(t *testing.T) {
	h := newHarness(t, nil)
	tok, _, _, _ := orgSetup(t, h)
	var u3 struct {
		Org struct {
			JoinCode   string `json:"join_code"`
			Registered int64
		}
	}
	if code := h.api("GET", "/api/v1/orgs/u3", tok, nil, &u3); code != 200 || u3.Org.JoinCode == "" {
		t.Fatalf("u3: %d %+v", code, u3)
	}
	before := u3.Org.Registered
	if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"join_code": "NOSUCH", "name": "Ed"}, nil); code != 404 {
		t.Fatalf("unknown join code: %d", code)
	}
	if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"join_code": u3.Org.JoinCode}, nil); code != 400 {
		t.Fatalf("join without a name: %d", code)
	}
	var reg struct{ ID, Member, Unit, Token string }
	if code := h.api("POST", "/api/v1/members/register", "", map[string]string{"join_code": u3.Org.JoinCode, "name": "Ed", "number": "005"}, &reg); code != 201 || reg.Unit != "u3" || reg.Token == "" {
		t.Fatalf("join u3: %d %+v", code, reg)
	}
	if code := h.api("GET", "/api/v1/orgs/u3", tok, nil, &u3); code != 200 || u3.Org.Registered != before+1 {
		t.Fatalf("u3 registered %d after one join, was %d", u3.Org.Registered, before)
	}
	// The player token plays as the new member.
	c := h.dial()
	if w := c.welcomed(c.send("hello", map[string]any{"token": reg.Token})); w.Player.ID != reg.ID {
		t.Fatalf("hello with the joined member's token played as %s, want %s", w.Player.ID, reg.ID)
	}
}
