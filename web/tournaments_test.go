package web_test

import (
	"net/http"
	"testing"
	"time"
)

func tournamentBody(id string, rounds int) map[string]any {
	closes := t0.Add(48 * time.Hour)
	var rs []string
	for i := range rounds {
		rs = append(rs, closes.Add(time.Duration(i+1)*time.Hour).Format(time.RFC3339))
	}
	return map[string]any{
		"id":    id,
		"title": "城市答题挑战赛",
		"config": map[string]any{
			"format": "duel", "field": 60,
			"pool":      map[string]any{"sets": []string{"sample"}},
			"qualifier": map[string]any{"opens": t0.Format(time.RFC3339), "closes": closes.Format(time.RFC3339), "questions": 20, "minutes": 10, "attempts": 3},
			"rounds":    rs, "check_in_seconds": 600, "grace_seconds": 120,
		},
	}
}

type bracketReply struct {
	ID     string `json:"id"`
	Format string `json:"format"`
	Field  int    `json:"field"`
	Rounds []struct {
		Num      int       `json:"num"`
		Final    bool      `json:"final"`
		StartsAt time.Time `json:"starts_at"`
		State    string    `json:"state"`
	} `json:"rounds"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestTournamentAPI(t *testing.T) {
	h := newHarness(t, nil)
	org := h.orgToken()

	var created bracketReply
	if code := h.api("POST", "/api/v1/tournaments", org, tournamentBody("city-2026", 6), &created); code != http.StatusCreated {
		t.Fatalf("create: %d %+v", code, created.Error)
	}
	if created.ID != "city-2026" || created.Format != "duel" || created.Field != 60 || len(created.Rounds) != 6 {
		t.Fatalf("created %+v", created)
	}
	var got bracketReply
	if code := h.api("GET", "/api/v1/tournaments/city-2026/bracket", org, nil, &got); code != http.StatusOK {
		t.Fatalf("bracket: %d", code)
	}
	for i, r := range got.Rounds {
		want := t0.Add(48*time.Hour + time.Duration(i+1)*time.Hour)
		if r.Num != i+1 || r.State != "scheduled" || !r.StartsAt.Equal(want) || r.Final != (i == 5) {
			t.Errorf("round %d: %+v", i+1, r)
		}
	}

	for name, tc := range map[string]struct {
		token string
		body  any
		code  int
	}{
		"no token":           {"", tournamentBody("x1", 6), http.StatusUnauthorized},
		"wrong round count":  {org, tournamentBody("x2", 5), http.StatusBadRequest},
		"not json":           {org, []byte("{"), http.StatusBadRequest},
		"unknown field":      {org, []byte(`{"title":"t","colour":"red"}`), http.StatusBadRequest},
		"bad id":             {org, tournamentBody("../etc", 6), http.StatusBadRequest},
		"taken id":           {org, tournamentBody("city-2026", 6), http.StatusConflict},
		"bad format in body": {org, []byte(`{"title":"t","config":{"format":"trio"}}`), http.StatusBadRequest},
	} {
		var reply bracketReply
		if code := h.api("POST", "/api/v1/tournaments", tc.token, tc.body, &reply); code != tc.code {
			t.Errorf("%s: %d, want %d", name, code, tc.code)
		}
	}
	// Nothing refused was stored.
	for _, id := range []string{"x1", "x2"} {
		if code := h.api("GET", "/api/v1/tournaments/"+id+"/bracket", org, nil, nil); code != http.StatusNotFound {
			t.Errorf("refused %s: bracket answered %d", id, code)
		}
	}
	if code := h.api("GET", "/api/v1/tournaments/city-2026/bracket", "", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("bracket without a token: %d", code)
	}
}
