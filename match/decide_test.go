package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
)

// TestDecideMatchesReference runs decide and the straightforward O(n²)
// version it replaced over the same random queues (both modes, several
// categories, bots on and off, a range of waiting times and ratings) and
// requires the same groups in the same order, the same timeouts and the
// same tickets left queued.
func TestDecideMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 400; trial++ {
		now := time.Unix(1_800_000_000, 0)
		cfg := Config{MaxWait: 30 * time.Second, BotFill: rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			cfg.Window, cfg.WidenPerSecond, cfg.MaxWindow = 1+rng.Float64()*50, rng.Float64()*10, 100+rng.Float64()*300
		}
		n := rng.IntN(60)
		if trial%50 == 0 {
			n = 2000
		}
		var tickets []*Ticket
		for i := 0; i < n; i++ {
			mode := ModeDuel
			if rng.IntN(3) == 0 {
				mode = ModeFour
			}
			rating := 1500 + 300*rng.NormFloat64()
			if rng.IntN(4) == 0 {
				rating = float64(1400 + 50*rng.IntN(5)) // equal ratings happen
			}
			id := "p" + strconv.Itoa(i)
			tickets = append(tickets, &Ticket{
				ID: "t-" + id, Player: protocol.PlayerInfo{ID: id, Rating: rating}, Mode: mode,
				Category: []string{"", "history"}[rng.IntN(2)],
				At:       now.Add(-time.Duration(rng.IntN(40_000)) * time.Millisecond),
			})
		}
		sort.SliceStable(tickets, func(i, j int) bool { return tickets[i].At.Before(tickets[j].At) })
		got, want := New(cfg, clock.NewFake(now), nil, nil, zerolog.Nop()), New(cfg, clock.NewFake(now), nil, nil, zerolog.Nop())
		for _, m := range []*Matchmaker{got, want} {
			for _, tk := range tickets {
				c := *tk
				key := c.queue()
				m.queues[key] = append(m.queues[key], &c)
				m.byPlayer[c.Player.ID] = &c
			}
		}
		g1, e1 := got.decide(now)
		g2, e2 := refDecide(want, now)
		if a, b := describe(g1, e1, got), describe(g2, e2, want); a != b {
			t.Fatalf("trial %d (%d tickets, %+v):\ndecide    %s\nreference %s", trial, n, cfg, a, b)
		}
	}
}

// describe renders a decision and what is left queued, bots by name only.
func describe(gs []group, expired []*Ticket, m *Matchmaker) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.mode + "/" + g.category + "[")
		for _, t := range g.tickets {
			if t.Bot {
				b.WriteString("bot ")
			} else {
				b.WriteString(t.Player.ID + " ")
			}
		}
		b.WriteString("] ")
	}
	b.WriteString("expired:")
	for _, t := range expired {
		b.WriteString(" " + t.Player.ID)
	}
	keys := make([]string, 0, len(m.queues))
	for k := range m.queues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" queue " + k + ":")
		for _, t := range m.queues[k] {
			b.WriteString(" " + t.Player.ID)
		}
	}
	fmt.Fprintf(&b, " queued %d playing %d starting %d", len(m.byPlayer), len(m.playing), len(m.starting))
	return b.String()
}

// refDecide is decide as it was first written, in O(n²): it picks the groups to start and the tickets to time out, removing
// them all from the queues. Within a queue, tickets are sorted by rating and
// a group is a run of consecutive tickets whose rating spread fits in every
// member's window; the longest-waiting ticket is served first.
func refDecide(m *Matchmaker, now time.Time) ([]group, []*Ticket) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var groups []group
	var expired []*Ticket
	keys := make([]string, 0, len(m.queues))
	for k := range m.queues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		q := m.queues[key]
		if len(q) == 0 {
			continue
		}
		size := Size(q[0].Mode)
		byRating := append([]*Ticket(nil), q...)
		sort.SliceStable(byRating, func(i, j int) bool { return byRating[i].Player.Rating < byRating[j].Player.Rating })
		taken := map[*Ticket]bool{}
		// Serve tickets oldest first: each looks for the tightest run of
		// `size` untaken neighbours (by rating) that includes it.
		for _, t := range q {
			if taken[t] {
				continue
			}
			if run := refBestRun(m, byRating, taken, t, size, now); run != nil {
				for _, x := range run {
					taken[x] = true
				}
				groups = append(groups, group{mode: t.Mode, category: t.Category, tickets: run})
			}
		}
		for _, t := range q {
			if taken[t] || now.Sub(t.At) < m.cfg.MaxWait {
				continue
			}
			taken[t] = true
			if m.cfg.BotFill {
				run := []*Ticket{t}
				for len(run) < size {
					run = append(run, m.bot(t))
				}
				groups = append(groups, group{mode: t.Mode, category: t.Category, tickets: run})
				continue
			}
			expired = append(expired, t)
		}
		for t := range taken {
			m.remove(t)
		}
	}
	for _, g := range groups {
		for _, t := range g.tickets {
			if !t.Bot {
				m.playing[t.Player.ID] = "" // reserved until the room id is known
				m.starting[t.Player.ID] = t
			}
		}
	}
	return groups, expired
}

// refBestRun finds the run of size untaken tickets around t with the smallest
// rating spread that every member accepts, or nil.
func refBestRun(m *Matchmaker, byRating []*Ticket, taken map[*Ticket]bool, t *Ticket, size int, now time.Time) []*Ticket {
	free := make([]*Ticket, 0, len(byRating))
	pos := -1
	for _, x := range byRating {
		if taken[x] {
			continue
		}
		if x == t {
			pos = len(free)
		}
		free = append(free, x)
	}
	if len(free) < size || pos < 0 {
		return nil
	}
	var best []*Ticket
	bestSpread := math.Inf(1)
	for lo := max(0, pos-size+1); lo <= pos && lo+size <= len(free); lo++ {
		run := free[lo : lo+size]
		spread := run[size-1].Player.Rating - run[0].Player.Rating
		ok := true
		for _, x := range run {
			if spread > m.window(x, now) {
				ok = false
				break
			}
		}
		if ok && spread < bestSpread {
			best, bestSpread = run, spread
		}
	}
	if best == nil {
		return nil
	}
	return append([]*Ticket(nil), best...)
}
