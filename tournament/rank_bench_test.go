package tournament

import (
	"fmt"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// BenchmarkRank ranks a qualifier of 100,000 attempts by 25,000 members
// (four each), what a live ranking read computes once the attempts are
// read from the store.
//
//	go test -run '^$' -bench Rank -benchtime 20x ./tournament
func BenchmarkRank(b *testing.B) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	as := make([]store.Attempt, 0, 100000)
	for i := range 100000 {
		as = append(as, store.Attempt{Tournament: "t", Player: fmt.Sprintf("p%05d", i%25000), Num: 1 + i/25000,
			Score: int64((i * 37) % 21), Total: time.Duration((i*13)%600000) * time.Millisecond, FinishedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	b.ResetTimer()
	for range b.N {
		if r := Rank(as); len(r) != 25000 {
			b.Fatalf("%d ranked", len(r))
		}
	}
}
