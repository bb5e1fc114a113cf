package tournament

import (
	"sort"
	"time"

	"github.com/leitai/leitai/store"
)

// Ranked is a player's place in the qualifier: their best attempt.
type Ranked struct {
	Rank     int // from 1
	Player   string
	Best     store.Attempt
	Attempts int
}

// better reports whether attempt a ranks above b: the higher score, then
// the lower total time, then the earlier finish; the player id last, so
// the order is total and the same on every node.
func better(a, b store.Attempt) bool {
	switch {
	case a.Score != b.Score:
		return a.Score > b.Score
	case a.Total != b.Total:
		return a.Total < b.Total
	case !a.FinishedAt.Equal(b.FinishedAt):
		return a.FinishedAt.Before(b.FinishedAt)
	default:
		return a.Player < b.Player
	}
}

// Rank orders players by their best attempt (each player's best of their
// attempts counts, by the same rule as between players).
func Rank(attempts []store.Attempt) []Ranked {
	best := map[string]*Ranked{}
	for _, a := range attempts {
		r, ok := best[a.Player]
		if !ok {
			best[a.Player] = &Ranked{Player: a.Player, Best: a, Attempts: 1}
			continue
		}
		r.Attempts++
		if better(a, r.Best) {
			r.Best = a
		}
	}
	out := make([]Ranked, 0, len(best))
	for _, r := range best {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return better(out[i].Best, out[j].Best) })
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// ms rounds a duration to the millisecond the store keeps.
func ms(d time.Duration) time.Duration { return d.Truncate(time.Millisecond) }
