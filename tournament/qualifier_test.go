package tournament

import (
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

func TestRank(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	at := func(p string, score int64, secs int, fin int) store.Attempt {
		return store.Attempt{Player: p, Score: score, Total: time.Duration(secs) * time.Second, FinishedAt: t0.Add(time.Duration(fin) * time.Minute)}
	}
	for _, tc := range []struct {
		name     string
		attempts []store.Attempt
		want     []string
	}{
		{"score first", []store.Attempt{at("a", 5, 10, 1), at("b", 6, 90, 2)}, []string{"b", "a"}},
		{"then time", []store.Attempt{at("a", 6, 50, 1), at("b", 6, 40, 2)}, []string{"b", "a"}},
		{"then who finished first", []store.Attempt{at("b", 6, 40, 3), at("a", 6, 40, 2)}, []string{"a", "b"}},
		{"best of attempts counts", []store.Attempt{at("a", 9, 60, 1), at("a", 2, 10, 5), at("b", 8, 10, 2), at("b", 9, 59, 9)}, []string{"b", "a"}},
		{"a worse later attempt does not lower", []store.Attempt{at("a", 9, 60, 1), at("b", 8, 60, 1), at("a", 1, 60, 2)}, []string{"a", "b"}},
	} {
		got := Rank(tc.attempts)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d ranked", tc.name, len(got))
		}
		for i, p := range tc.want {
			if got[i].Player != p || got[i].Rank != i+1 {
				t.Errorf("%s: rank %d is %s (rank %d), want %s", tc.name, i+1, got[i].Player, got[i].Rank, p)
			}
		}
	}
}
