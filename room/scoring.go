package room

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Scoring rules.
const (
	Speed    = "speed"    // 500–1000 by speed, plus a streak bonus
	Race     = "race"     // 20 to the fastest correct answer, 10 to the others; first to the target wins
	Accuracy = "accuracy" // one point per correct answer
)

// ValidScoring reports whether s names a scoring rule.
func ValidScoring(s string) bool { return s == Speed || s == Race || s == Accuracy }

// scored is one player's answer to a question as the scoring rule sees it.
type scored struct {
	correct bool
	elapsed time.Duration
	weight  float64
	streak  int // consecutive correct answers including this one
}

// points returns what each answer earns under rule. fastest is the smallest
// elapsed time among the correct answers to the question (race only).
func points(rule string, limit time.Duration, s scored, fastest time.Duration, streakBonus bool) int64 {
	if !s.correct {
		return 0
	}
	switch rule {
	case Race:
		if s.elapsed == fastest {
			return int64(math.Round(20 * s.weight))
		}
		return int64(math.Round(10 * s.weight))
	case Accuracy:
		return 1
	default: // Speed
		frac := float64(s.elapsed) / float64(limit)
		frac = math.Max(0, math.Min(1, frac))
		p := int64(math.Round(1000 * s.weight * (1 - frac/2)))
		if streakBonus && s.streak > 1 {
			p += int64(min(100*(s.streak-1), 500))
		}
		return p
	}
}

// ranked is what ranking needs of a player.
type ranked interface {
	rankKey() (score int64, timeMS int64, seq int)
}

// rankPlayers sorts ps best first: higher score, then less total time on
// correct answers, then earlier join. It returns the rank of each position;
// players equal in score and time share a rank.
func rankPlayers[T ranked](ps []T) []int {
	// slices, not sort.SliceStable: that one swaps through reflection, an
	// allocation and a deep stack on the room's goroutine at every reveal.
	slices.SortStableFunc(ps, func(a, b T) int {
		sa, ta, qa := a.rankKey()
		sb, tb, qb := b.rankKey()
		if c := cmp.Compare(sb, sa); c != 0 {
			return c
		}
		if c := cmp.Compare(ta, tb); c != 0 {
			return c
		}
		return cmp.Compare(qa, qb)
	})
	ranks := make([]int, len(ps))
	for i := range ps {
		if i > 0 {
			s0, t0, _ := ps[i-1].rankKey()
			s1, t1, _ := ps[i].rankKey()
			if s0 == s1 && t0 == t1 {
				ranks[i] = ranks[i-1]
				continue
			}
		}
		ranks[i] = i + 1
	}
	return ranks
}
