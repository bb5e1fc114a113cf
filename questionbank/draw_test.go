package questionbank

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// pool makes n questions per difficulty 1–3 in category cat and lang lang,
// ids "<cat>-<lang>-<difficulty>-<i>".
func pool(cat, lang string, n int) []Question {
	var qs []Question
	for d := 1; d <= 3; d++ {
		for i := range n {
			qs = append(qs, Question{
				ID: fmt.Sprintf("%s-%s-%d-%d", cat, lang, d, i), Type: Text, Text: "q",
				Answer: []string{"a"}, Category: cat, Lang: lang, Difficulty: d,
			})
		}
	}
	return qs
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func ids(qs []Question) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.ID
	}
	return out
}

func TestDraw(t *testing.T) {
	all := append(append(pool("math", "en", 10), pool("math", "zh", 10)...), pool("poetry", "zh", 10)...)
	tests := []struct {
		name  string
		n     int
		opt   DrawOptions
		check func(t *testing.T, got []Question)
	}{
		{"filters", 6, DrawOptions{Category: "MATH", Lang: "zh"}, func(t *testing.T, got []Question) {
			for _, q := range got {
				if q.Category != "math" || q.Lang != "zh" {
					t.Errorf("drew %s", q.ID)
				}
			}
		}},
		{"one difficulty", 8, DrawOptions{Difficulty: 3}, func(t *testing.T, got []Question) {
			for _, q := range got {
				if q.Difficulty != 3 {
					t.Errorf("drew %s", q.ID)
				}
			}
		}},
		{"mixes and orders easy to hard", 7, DrawOptions{}, func(t *testing.T, got []Question) {
			count := map[int]int{}
			for _, q := range got {
				count[q.Difficulty]++
			}
			for d := 1; d <= 3; d++ {
				if count[d] < 2 || count[d] > 3 {
					t.Errorf("difficulty counts %v", count)
				}
			}
			if !slices.IsSortedFunc(got, func(a, b Question) int { return a.Difficulty - b.Difficulty }) {
				t.Errorf("not ordered easy to hard: %v", ids(got))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Rand = seeded(1)
			got, err := Draw(all, tt.n, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n {
				t.Fatalf("drew %d, want %d", len(got), tt.n)
			}
			if len(distinct(got)) != tt.n {
				t.Errorf("repeats in %v", ids(got))
			}
			tt.check(t, got)
		})
	}
}

func distinct(qs []Question) map[string]bool {
	m := make(map[string]bool)
	for _, q := range qs {
		m[q.ID] = true
	}
	return m
}

func TestDrawDeterministic(t *testing.T) {
	all := pool("c", "zh", 20)
	a, _ := Draw(all, 10, DrawOptions{Rand: seeded(42)})
	b, _ := Draw(all, 10, DrawOptions{Rand: seeded(42)})
	c, _ := Draw(all, 10, DrawOptions{Rand: seeded(43)})
	if !reflect.DeepEqual(ids(a), ids(b)) {
		t.Errorf("same seed, different draws: %v %v", ids(a), ids(b))
	}
	if reflect.DeepEqual(ids(a), ids(c)) {
		t.Errorf("different seeds, same draw: %v", ids(a))
	}
}

func TestDrawExclude(t *testing.T) {
	all := pool("c", "zh", 4) // 12 questions
	exclude := map[string]bool{}
	for _, q := range all[:8] {
		exclude[q.ID] = true
	}
	for seed := range uint64(20) {
		got, err := Draw(all, 4, DrawOptions{Exclude: exclude, Rand: seeded(seed)})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range got {
			if exclude[q.ID] {
				t.Fatalf("seed %d drew excluded %s although 4 fresh ones exist", seed, q.ID)
			}
		}
		// Not enough fresh ones: all 4 fresh, topped up with excluded.
		got, err = Draw(all, 10, DrawOptions{Exclude: exclude, Rand: seeded(seed)})
		if err != nil {
			t.Fatal(err)
		}
		fresh := 0
		for _, q := range got {
			if !exclude[q.ID] {
				fresh++
			}
		}
		if fresh != 4 || len(distinct(got)) != 10 {
			t.Fatalf("seed %d: %d fresh of %v", seed, fresh, ids(got))
		}
	}
}

func TestDrawNotEnough(t *testing.T) {
	all := pool("c", "zh", 2)
	all = append(all, all[0]) // a duplicate id counts once
	if _, err := Draw(all, 7, DrawOptions{}); !errors.Is(err, ErrNotEnough) {
		t.Errorf("err = %v", err)
	}
	if _, err := Draw(all, 3, DrawOptions{Difficulty: 1}); !errors.Is(err, ErrNotEnough) {
		t.Errorf("difficulty filter: err = %v", err)
	}
	if _, err := Draw(all, 1, DrawOptions{Lang: "en"}); !errors.Is(err, ErrNotEnough) {
		t.Errorf("lang filter: err = %v", err)
	}
	if got, err := Draw(all, 6, DrawOptions{}); err != nil || len(distinct(got)) != 6 {
		t.Errorf("whole pool: %v %v", ids(got), err)
	}
	if got, err := Draw(nil, 0, DrawOptions{}); err != nil || got != nil {
		t.Errorf("n=0: %v %v", got, err)
	}
	if _, err := Draw(all, 1, DrawOptions{Difficulty: 4}); err == nil {
		t.Error("difficulty 4 accepted")
	}
}

func TestHistory(t *testing.T) {
	h := NewHistory(3)
	h.Seen([]string{"ann", "bob"}, []string{"q1", "q2"})
	h.Seen([]string{"ann"}, []string{"q3", "q1", "q4"})
	if got, want := h.Recent("ann"), idSet("q3", "q1", "q4"); !reflect.DeepEqual(got, want) {
		t.Errorf("ann = %v, want %v (q1 refreshed, q2 pushed out)", got, want)
	}
	if got, want := h.Recent("ann", "bob", "nobody"), idSet("q1", "q2", "q3", "q4"); !reflect.DeepEqual(got, want) {
		t.Errorf("union = %v, want %v", got, want)
	}
	if got := h.Recent(); len(got) != 0 {
		t.Errorf("no players: %v", got)
	}
	h.Forget("ann")
	if got := h.Recent("ann"); len(got) != 0 {
		t.Errorf("forgotten ann: %v", got)
	}
	if NewHistory(0).k != DefaultHistorySize {
		t.Error("default size")
	}
}

func idSet(ids ...string) map[string]bool {
	m := make(map[string]bool)
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestHistoryWithDraw(t *testing.T) {
	all := pool("c", "zh", 10) // 30 questions
	h := NewHistory(0)
	rng := seeded(7)
	seen := map[string]bool{}
	for range 6 { // 6 rounds of 5 use all 30 before any repeat
		got, err := Draw(all, 5, DrawOptions{Exclude: h.Recent("ann", "bob"), Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range got {
			if seen[q.ID] {
				t.Fatalf("repeat %s", q.ID)
			}
			seen[q.ID] = true
		}
		h.Seen([]string{"ann", "bob"}, ids(got))
	}
}

func TestHistoryConcurrent(t *testing.T) {
	h := NewHistory(50)
	done := make(chan bool)
	for g := range 8 {
		go func() {
			for i := range 200 {
				p := fmt.Sprintf("p%d", i%10)
				h.Seen([]string{p}, []string{fmt.Sprintf("q%d-%d", g, i)})
				h.Recent(p, "p0")
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
	if n := len(h.Recent("p3")); n != 50 {
		t.Errorf("p3 has %d ids, want 50", n)
	}
}

func TestBank(t *testing.T) {
	b := NewBank()
	zh := pool("history", "zh", 2)
	en := pool("science", "en", 1)
	b.Add("zh", zh)
	b.Add("en", en)
	b.Add("zh", zh[:2]) // re-adding changes nothing
	if b.Len() != 9 {
		t.Errorf("Len = %d", b.Len())
	}
	if got := b.Categories(); !reflect.DeepEqual(got, []string{"history", "science"}) {
		t.Errorf("Categories = %v", got)
	}
	if got := ids(b.Questions("en")); !reflect.DeepEqual(got, ids(en)) {
		t.Errorf("Questions(en) = %v", got)
	}
	if got := ids(b.Questions("")); !reflect.DeepEqual(got, append(ids(zh), ids(en)...)) {
		t.Errorf("Questions() = %v", got)
	}
	if b.Questions("nope") != nil {
		t.Error("unknown set")
	}
	zh[0].Answer[0] = "changed"
	if q, ok := b.Get(zh[0].ID); !ok || q.Answer[0] != "a" {
		t.Errorf("Get = %+v, %v (the bank must keep its own copy)", q, ok)
	}
	edited := en[0]
	edited.Text = "edited"
	b.Add("other", []Question{edited})
	if q, _ := b.Get(edited.ID); q.Text != "edited" {
		t.Errorf("Get after add to another set = %q", q.Text)
	}
	b.Remove("other")
	if q, ok := b.Get(edited.ID); !ok || q.Text != "q" {
		t.Errorf("Get after remove = %q, %v", q.Text, ok)
	}
	b.Remove("en")
	if _, ok := b.Get(edited.ID); ok || b.Len() != 6 {
		t.Errorf("after removing en: Len = %d", b.Len())
	}
}

// TestBankPool checks the shared pool: each id once, the first in
// Questions' order; the same draw as from Questions; a fresh pool once the
// bank changes.
func TestBankPool(t *testing.T) {
	b := NewBank()
	b.Add("a", pool("math", "en", 4))
	b.Add("b", append(pool("math", "en", 2), pool("art", "zh", 3)...)) // repeats 6 of a's ids
	all := b.Pool("")
	if got, want := len(all), 12+9; got != want {
		t.Fatalf("pool of every set: %d questions, want %d", got, want)
	}
	seen := map[string]bool{}
	for _, q := range all {
		if seen[q.ID] {
			t.Fatalf("id %s twice in the pool", q.ID)
		}
		seen[q.ID] = true
	}
	for seed := range uint64(20) {
		fromPool, err := Draw(all, 5, DrawOptions{Rand: seeded(seed), Distinct: true})
		if err != nil {
			t.Fatal(err)
		}
		fromCopy, err := Draw(b.Questions(""), 5, DrawOptions{Rand: seeded(seed)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(fromPool), ids(fromCopy)) {
			t.Fatalf("seed %d: pool draws %v, a copy draws %v", seed, ids(fromPool), ids(fromCopy))
		}
	}
	if got := len(b.Pool("b")); got != 15 {
		t.Fatalf("pool of set b: %d, want 15", got)
	}
	if b.Pool("nope") != nil {
		t.Fatal("an unknown set has a pool")
	}
	b.Add("c", pool("sport", "en", 1))
	if got := len(b.Pool("")); got != 12+9+3 {
		t.Fatalf("after Add: %d questions in the pool, want %d", got, 12+9+3)
	}
	b.Remove("b")
	if got := len(b.Pool("")); got != 12+3 {
		t.Fatalf("after Remove: %d questions in the pool, want %d", got, 12+3)
	}
}
