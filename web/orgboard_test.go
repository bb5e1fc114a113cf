package web_test

import (
	"testing"
)

// TestOrgBoardTokenReadsLeaderboardsOnly: a leaderboard screen token reads
// the leaderboards of its subtree and nothing else; it cannot see members,
// join codes or the weekly ranking, change anything or issue tokens. Only
// the organizer or an admin of the subtree can issue one.
func TestOrgBoardTokenReadsLeaderboardsOnly(t *testing.T) {
	h := newHarness(t, nil)
	tok, ids, _, players := orgSetup(t, h)
	var d2adm struct{ Token string }
	if code := h.api("POST", "/api/v1/orgs/d2/admin-token", tok, nil, &d2adm); code != 201 {
		t.Fatalf("admin token: %d", code)
	}
	if code := h.api("POST", "/api/v1/orgs/d1/board-token", d2adm.Token, nil, nil); code != 404 {
		t.Fatalf("the d2 admin issued a board token for d1: %d, want 404", code)
	}
	if code := h.api("POST", "/api/v1/orgs/d1/board-token", players["001"], nil, nil); code != 401 && code != 403 {
		t.Fatalf("a player issued a board token: %d", code)
	}
	var board struct{ Org, Name, Token string }
	if code := h.api("POST", "/api/v1/orgs/d2/board-token", d2adm.Token, nil, &board); code != 201 || board.Org != "d2" || board.Name != "District 2" || board.Token == "" {
		t.Fatalf("board token: %d %+v", code, board)
	}
	bt := board.Token
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/api/v1/leaderboard/players", nil, 200},
		{"GET", "/api/v1/leaderboard/units", nil, 200},
		{"GET", "/api/v1/leaderboard/units?level=leaves", nil, 200},
		{"GET", "/api/v1/leaderboard/players?org=u3", nil, 200},
		{"GET", "/api/v1/leaderboard/players?org=u1", nil, 404},
		{"GET", "/api/v1/leaderboard/units?org=city", nil, 404},
		{"GET", "/api/v1/orgs", nil, 403},
		{"GET", "/api/v1/orgs/d2", nil, 403},
		{"GET", "/api/v1/orgs/u3/members", nil, 403},
		{"GET", "/api/v1/orgs/d2/weekly", nil, 403},
		{"PATCH", "/api/v1/orgs/u3", map[string]string{"name": "X"}, 403},
		{"POST", "/api/v1/orgs/d2/board-token", nil, 403},
		{"POST", "/api/v1/orgs/d2/admin-token", nil, 403},
		{"POST", "/api/v1/orgs/import?format=csv", []byte("code,name,parent,expected\nx,X,,1\n"), 403},
		{"POST", "/api/v1/members/import?format=csv", []byte("name,number,unit\nZed,009,u3\n"), 403},
		{"PATCH", "/api/v1/members/" + ids["004"], map[string]string{"unit": "u3"}, 403},
		{"GET", "/api/v1/members/" + ids["004"] + "/rank", nil, 403},
		{"GET", "/api/v1/members/" + ids["004"] + "/ledger", nil, 403},
		{"GET", "/api/v1/me", nil, 401},
	} {
		if code := h.api(c.method, c.path, bt, c.body, nil); code != c.want {
			t.Errorf("%s %s with a board token: %d, want %d", c.method, c.path, code, c.want)
		}
	}
	// Nothing changed: the unit keeps its name and no unit was added.
	var o struct{ Org struct{ Name string } }
	if code := h.api("GET", "/api/v1/orgs/u3", tok, nil, &o); code != 200 || o.Org.Name != "Unit 3" {
		t.Fatalf("u3 after the refused calls: %d %+v", code, o)
	}
}
