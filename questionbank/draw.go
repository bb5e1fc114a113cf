package questionbank

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// ErrNotEnough is returned by Draw when fewer questions match the filters
// than were asked for, counting recently seen ones too.
var ErrNotEnough = errors.New("questionbank: not enough questions")

// DrawOptions says which questions Draw may pick. The zero value draws from
// the whole pool, mixing difficulties.
type DrawOptions struct {
	// Category, when set, keeps only questions of this category (compared
	// case-insensitively).
	Category string
	// Lang, when set, keeps only questions in this language ("zh", "en").
	Lang string
	// Difficulty, when 1–3, keeps only questions of that difficulty; 0
	// mixes them (see Draw). Other values are an error.
	Difficulty int
	// Exclude holds the ids to avoid, typically History.Recent of the
	// room's players. They are drawn only when the fresh questions run out.
	Exclude map[string]bool
	// Rand is the source of randomness; the same seed and pool give the
	// same draw. Nil means a randomly seeded source.
	Rand *rand.Rand
	// Distinct says the pool holds each id once (as Bank.Pool's does), so
	// Draw need not check for repeats.
	Distinct bool
}

// Draw picks n distinct questions (by id) from pool for a room.
//
// Questions outside the category, language or difficulty asked for are
// never drawn. Among the rest, questions not in Exclude are preferred; when
// there are fewer than n of them, the draw is topped up with excluded ones
// rather than failing. ErrNotEnough is returned only when fewer than n
// questions match at all.
//
// With Difficulty 0 the draw is spread over the difficulty buckets easy (1),
// medium (2) and hard (3): it takes one question from each non-empty bucket
// in turn, starting at a random bucket, so the counts differ by at most one
// unless a bucket runs dry. The result is then ordered easy to hard, so a
// match warms up before it gets hard. A question with difficulty 0 counts as
// medium.
func Draw(pool []Question, n int, opt DrawOptions) ([]Question, error) {
	if opt.Difficulty < 0 || opt.Difficulty > 3 {
		return nil, fmt.Errorf("questionbank: draw: difficulty %d is not 0 to 3", opt.Difficulty)
	}
	if n <= 0 {
		return nil, nil
	}
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	// buckets[stale][difficulty-1] hold indexes into pool.
	var buckets [2][3][]int
	var ids map[string]bool
	if !opt.Distinct {
		ids = make(map[string]bool)
	}
	matched := 0
	for i := range pool {
		q := &pool[i]
		if ids[q.ID] || !opt.matches(q) {
			continue
		}
		if ids != nil {
			ids[q.ID] = true
		}
		stale := 0
		if opt.Exclude[q.ID] {
			stale = 1
		}
		d := bucketOf(q.Difficulty)
		buckets[stale][d] = append(buckets[stale][d], i)
		matched++
	}
	if matched < n {
		return nil, fmt.Errorf("%w: %d wanted, %d match (category %q, lang %q, difficulty %d)",
			ErrNotEnough, n, matched, opt.Category, opt.Lang, opt.Difficulty)
	}
	for s := range buckets {
		for d := range buckets[s] {
			b := buckets[s][d]
			rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		}
	}
	picked := make([]int, 0, n)
	next := rng.IntN(3)
	for s := range buckets {
		picked, next = roundRobin(&buckets[s], picked, n, next)
	}
	out := make([]Question, len(picked))
	for i, p := range picked {
		out[i] = pool[p]
	}
	if opt.Difficulty == 0 {
		slices.SortStableFunc(out, func(a, b Question) int { return bucketOf(a.Difficulty) - bucketOf(b.Difficulty) })
	}
	return out, nil
}

// roundRobin takes one question from each non-empty bucket in turn,
// starting at bucket next, until picked holds n or the buckets are empty.
// It returns the bucket to start from next time.
func roundRobin(b *[3][]int, picked []int, n, next int) ([]int, int) {
	for len(picked) < n && len(b[0])+len(b[1])+len(b[2]) > 0 {
		if len(b[next]) > 0 {
			picked = append(picked, b[next][0])
			b[next] = b[next][1:]
		}
		next = (next + 1) % 3
	}
	return picked, next
}

// bucketOf maps a difficulty to a bucket index 0–2; unset or out-of-range
// difficulties count as medium.
func bucketOf(d int) int {
	if d < 1 || d > 3 {
		return DefaultDifficulty - 1
	}
	return d - 1
}

// matches reports whether q passes the category, language and difficulty
// filters.
func (opt *DrawOptions) matches(q *Question) bool {
	if opt.Category != "" && !strings.EqualFold(strings.TrimSpace(opt.Category), q.Category) {
		return false
	}
	if opt.Lang != "" && normLang(opt.Lang) != normLang(q.Lang) {
		return false
	}
	if opt.Difficulty != 0 && bucketOf(opt.Difficulty) != bucketOf(q.Difficulty) {
		return false
	}
	return true
}
