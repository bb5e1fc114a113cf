package room

import (
	"testing"
	"time"
)

func TestPoints(t *testing.T) {
	limit := 20 * time.Second
	cases := []struct {
		name    string
		rule    string
		s       scored
		fastest time.Duration
		bonus   bool
		want    int64
	}{
		{"speed instant", Speed, scored{correct: true, elapsed: 0, weight: 1, streak: 1}, 0, true, 1000},
		{"speed half", Speed, scored{correct: true, elapsed: 10 * time.Second, weight: 1, streak: 1}, 0, true, 750},
		{"speed at limit", Speed, scored{correct: true, elapsed: limit, weight: 1, streak: 1}, 0, true, 500},
		{"speed clamps over limit", Speed, scored{correct: true, elapsed: 2 * limit, weight: 1, streak: 1}, 0, true, 500},
		{"speed weight", Speed, scored{correct: true, elapsed: 0, weight: 2, streak: 1}, 0, false, 2000},
		{"speed streak 2", Speed, scored{correct: true, elapsed: 0, weight: 1, streak: 2}, 0, true, 1100},
		{"speed streak capped", Speed, scored{correct: true, elapsed: 0, weight: 1, streak: 12}, 0, true, 1500},
		{"speed streak off", Speed, scored{correct: true, elapsed: 0, weight: 1, streak: 4}, 0, false, 1000},
		{"speed wrong", Speed, scored{correct: false, elapsed: 0, weight: 1, streak: 0}, 0, true, 0},
		{"speed rounds", Speed, scored{correct: true, elapsed: 3412 * time.Millisecond, weight: 1, streak: 1}, 0, false, 915},
		{"race fastest", Race, scored{correct: true, elapsed: time.Second, weight: 1}, time.Second, false, 20},
		{"race other", Race, scored{correct: true, elapsed: 2 * time.Second, weight: 1}, time.Second, false, 10},
		{"race weighted", Race, scored{correct: true, elapsed: time.Second, weight: 1.5}, time.Second, false, 30},
		{"race wrong", Race, scored{correct: false, elapsed: time.Second, weight: 1}, time.Second, false, 0},
		{"accuracy", Accuracy, scored{correct: true, elapsed: 5 * time.Second, weight: 3}, 0, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := points(c.rule, limit, c.s, c.fastest, c.bonus); got != c.want {
				t.Fatalf("points = %d, want %d", got, c.want)
			}
		})
	}
}

type rk struct {
	id          string
	score, time int64
	seq         int
}

func (r *rk) rankKey() (int64, int64, int) { return r.score, r.time, r.seq }

func TestRankPlayers(t *testing.T) {
	ps := []*rk{
		{"a", 10, 500, 0},
		{"b", 30, 900, 1},
		{"c", 30, 400, 2},
		{"d", 10, 500, 3},
		{"e", 0, 0, 4},
	}
	ranks := rankPlayers(ps)
	var order string
	for _, p := range ps {
		order += p.id
	}
	if order != "cbade" {
		t.Fatalf("order = %s", order)
	}
	want := []int{1, 2, 3, 3, 5}
	for i := range want {
		if ranks[i] != want[i] {
			t.Fatalf("ranks = %v, want %v", ranks, want)
		}
	}
}

// TestRankPlayersAllocatesOnlyRanks: ranking sorts in place and allocates
// only the ranks it returns. A sort through reflection allocated a swapper
// each time and grew the room's stack at every reveal.
func TestRankPlayersAllocatesOnlyRanks(t *testing.T) {
	ps := make([]*rk, 16)
	for i := range ps {
		ps[i] = &rk{id: string(rune('a' + i)), score: int64(i % 5), time: int64(1000 - i), seq: i}
	}
	if n := testing.AllocsPerRun(100, func() {
		ps[0], ps[len(ps)-1] = ps[len(ps)-1], ps[0] // something to sort each time
		rankPlayers(ps)
	}); n != 1 {
		t.Fatalf("rankPlayers allocated %v times a call, want 1 (the ranks)", n)
	}
}
