package storetest

import (
	"encoding/json"
	"testing"

	"github.com/leitai/leitai/store"
)

func testCreatePlayerWithTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.Token{Hash: "h-resume", Kind: store.TokenResume, Subject: "p1", CreatedAt: t0, ExpiresAt: t0.Add(3600e9)}
	must(t, s.CreatePlayer(ctx, store.Player{ID: "p1", Name: "韩梅梅", CreatedAt: t0}, tok))
	got, err := s.Token(ctx, "h-resume")
	must(t, err)
	equal(t, "token made with the player", got, tok)
	// A token that clashes undoes the player too: one transaction.
	err = s.CreatePlayer(ctx, store.Player{ID: "p2", Name: "x", CreatedAt: t0}, store.Token{Hash: "h-resume", Kind: store.TokenResume, Subject: "p2"})
	wantErr(t, "player with a taken token", err, store.ErrExists)
	_, err = s.Player(ctx, "p2")
	wantErr(t, "player of a failed create", err, store.ErrNotFound)
}

func testFinishMatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		must(t, s.CreatePlayer(ctx, store.Player{ID: id, Name: id, Rating: 1500, CreatedAt: t0}))
	}
	must(t, s.CreateRoom(ctx, store.Room{ID: "r1", Kind: "duel", CreatedAt: t0}))
	must(t, s.CreateRoom(ctx, store.Room{ID: "r2", Kind: "duel", CreatedAt: t0}))
	must(t, s.CreateRoom(ctx, store.Room{ID: "r3", Kind: "duel", CreatedAt: t0}))
	res := func(room string) store.Result {
		return store.Result{Room: room, Kind: "duel", FinishedAt: t0, Standings: json.RawMessage(`{"standings":[]}`)}
	}
	players := []store.PlayerResult{{Player: "a", Rating: 1516, Points: 5}, {Player: "b", Rating: 1484, Points: 2}}
	got, err := s.FinishMatch(ctx, res("r1"), "2025-03-14", store.Caps{"duel": 1}, players)
	must(t, err)
	if got["a"] != 5 || got["b"] != 2 {
		t.Fatalf("first match awarded %v", got)
	}
	// The same room finished again (a replay) pays nothing more.
	got, err = s.FinishMatch(ctx, res("r1"), "2025-03-14", store.Caps{"duel": 1}, players)
	must(t, err)
	if got["a"] != 5 || got["b"] != 2 {
		t.Fatalf("replayed finish reported %v, want the first award's 5 and 2", got)
	}
	got, err = s.FinishMatch(ctx, res("r2"), "2025-03-14", store.Caps{"duel": 1}, players)
	must(t, err)
	if got["a"] != 0 || got["b"] != 0 {
		t.Fatalf("second match of the day with cap 1 awarded %v", got)
	}
	a, err := s.Player(ctx, "a")
	must(t, err)
	if a.Rating != 1516 || a.Points != 5 {
		t.Fatalf("player a = %+v", a)
	}
	if _, err := s.Result(ctx, "r1"); err != nil {
		t.Fatalf("result of r1: %v", err)
	}
	// A missing player fails the whole finish: no result, no points.
	_, err = s.FinishMatch(ctx, res("r3"), "2025-03-15", nil, []store.PlayerResult{{Player: "a", Rating: 1, Points: 9}, {Player: "ghost", Rating: 1, Points: 1}})
	wantErr(t, "finish with a missing player", err, store.ErrNotFound)
	_, err = s.Result(ctx, "r3")
	wantErr(t, "result of a failed finish", err, store.ErrNotFound)
	a, _ = s.Player(ctx, "a")
	if a.Points != 5 || a.Rating != 1516 {
		t.Fatalf("a failed finish changed player a: %+v", a)
	}
}
