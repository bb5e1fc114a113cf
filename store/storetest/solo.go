package storetest

import (
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// testChallengeBest: a longer run replaces the best, a shorter or equal one
// does not, recording the same run twice changes nothing, and the board
// lists the longest first, the earlier first among equals.
func testChallengeBest(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"c1", "c2", "c3"} {
		must(t, s.CreatePlayer(ctx, store.Player{ID: id, Name: "name-" + id, CreatedAt: t0}))
	}
	rec := func(player, room string, n int, at time.Time, want int) {
		t.Helper()
		got, err := s.RecordChallenge(ctx, store.ChallengeBest{Player: player, Room: room, Best: n, At: at})
		must(t, err)
		if got != want {
			t.Fatalf("record %s %s %d: best %d, want %d", player, room, n, got, want)
		}
	}
	rec("c1", "r1", 4, t0, 4)
	rec("c1", "r2", 2, t0.Add(time.Minute), 4)
	rec("c1", "r1", 4, t0, 4)
	rec("c2", "r3", 4, t0.Add(time.Hour), 4)
	rec("c3", "r4", 1, t0, 1)
	rec("c3", "r5", 6, t0.Add(2*time.Hour), 6)
	_, err := s.RecordChallenge(ctx, store.ChallengeBest{Player: "", Room: "r", Best: 1, At: t0})
	wantErr(t, "no player", err, store.ErrInvalid)
	_, err = s.ChallengeBestOf(ctx, "nobody")
	wantErr(t, "no best", err, store.ErrNotFound)

	best, err := s.ChallengeBestOf(ctx, "c1")
	must(t, err)
	equal(t, "c1's best", best, store.ChallengeBest{Player: "c1", Name: "name-c1", Best: 4, Room: "r1", At: t0})
	board, err := s.ChallengeLeaderboard(ctx, 10)
	must(t, err)
	var order []string
	for _, b := range board {
		order = append(order, b.Player)
	}
	equal(t, "leaderboard order", order, []string{"c3", "c1", "c2"})
	board, err = s.ChallengeLeaderboard(ctx, 2)
	must(t, err)
	if len(board) != 2 {
		t.Fatalf("limit 2: %d rows", len(board))
	}
}
