package match

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
)

// randomQueue makes n duel tickets that joined over the last 30 s, with
// ratings spread as players' are (mean 1500, deviation 300).
func randomQueue(rng *rand.Rand, n int, mode string, now time.Time) []*Ticket {
	q := make([]*Ticket, n)
	start := now.Add(-30 * time.Second)
	for i := range q {
		id := "p" + strconv.Itoa(i)
		q[i] = &Ticket{
			ID: "t-" + id, Player: protocol.PlayerInfo{ID: id, Rating: 1500 + 300*rng.NormFloat64()},
			Mode: mode, At: start.Add(time.Duration(i) * 30 * time.Second / time.Duration(n)),
		}
	}
	return q
}

// load makes q the matchmaker's only queue.
func (m *Matchmaker) load(q []*Ticket) {
	m.queues = map[string][]*Ticket{}
	m.byPlayer = map[string]*Ticket{}
	m.playing = map[string]string{}
	m.starting = map[string]*Ticket{}
	if len(q) == 0 {
		return
	}
	key := q[0].Mode + "/" + q[0].Category
	m.queues[key] = append([]*Ticket(nil), q...)
	for _, t := range q {
		m.byPlayer[t.Player.ID] = t
	}
}

// BenchmarkDecide measures one tick of the matcher over a queue of n
// waiting players, the queue alone (no rooms are started).
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			now := time.Unix(1_800_000_000, 0)
			m := New(Config{}, clock.NewFake(now), nil, nil, zerolog.Nop())
			q := randomQueue(rand.New(rand.NewPCG(1, uint64(n))), n, ModeDuel, now)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				m.load(q)
				b.StartTimer()
				m.decide(now)
			}
		})
	}
}
