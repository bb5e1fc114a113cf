package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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

// testCreatePlayerConcurrent creates players from many goroutines at
// once, as a burst of guests saying hello does: each call fares as it would
// alone, whatever the calls beside it. A taken id or token hash fails its
// own call with ErrExists and leaves nothing behind; of two calls with one
// new id, exactly one succeeds.
func testCreatePlayerConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreatePlayer(ctx, store.Player{ID: "taken", Name: "taken", CreatedAt: t0},
		store.Token{Hash: "h-taken", Kind: store.TokenResume, Subject: "taken", CreatedAt: t0}))
	type call struct {
		id, hash string
	}
	var calls []call
	for i := range 12 {
		id := fmt.Sprintf("g%d", i)
		calls = append(calls, call{id, "h-" + id})
	}
	calls = append(calls,
		call{"taken", "h-new"},     // 12: the id is taken
		call{"g-token", "h-taken"}, // 13: the token's hash is taken
		call{"twin", "h-twin-1"},   // 14 and 15: one id twice
		call{"twin", "h-twin-2"},
	)
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			errs[i] = s.CreatePlayer(ctx, store.Player{ID: c.id, Name: c.id, Rating: 1500, CreatedAt: t0},
				store.Token{Hash: c.hash, Kind: store.TokenResume, Subject: c.id, CreatedAt: t0})
		})
	}
	wg.Wait()
	for i := range 12 {
		must(t, errs[i])
		tok, err := s.Token(ctx, calls[i].hash)
		must(t, err)
		equal(t, "token's player", tok.Subject, calls[i].id)
		_, err = s.Player(ctx, calls[i].id)
		must(t, err)
	}
	wantErr(t, "player with a taken id", errs[12], store.ErrExists)
	_, err := s.Token(ctx, "h-new")
	wantErr(t, "token of the player with a taken id", err, store.ErrNotFound)
	wantErr(t, "player with a taken token", errs[13], store.ErrExists)
	_, err = s.Player(ctx, "g-token")
	wantErr(t, "player with a taken token", err, store.ErrNotFound)
	if (errs[14] == nil) == (errs[15] == nil) {
		t.Fatalf("two players with one id: %v and %v; want exactly one to fail", errs[14], errs[15])
	}
	lost := 15
	if errs[14] != nil {
		lost = 14
	}
	if !errors.Is(errs[lost], store.ErrExists) {
		t.Fatalf("the twin that lost: %v, want ErrExists", errs[lost])
	}
	_, err = s.Token(ctx, calls[lost].hash)
	wantErr(t, "the losing twin's token", err, store.ErrNotFound)
	tok, err := s.Token(ctx, calls[29-lost].hash)
	must(t, err)
	equal(t, "the winning twin's token", tok.Subject, "twin")
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
