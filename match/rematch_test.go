package match_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// A match filled with bots plays again with the same bots as soon as its one
// human asks: bots always accept.
func TestRematchWithBots(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	st := &starter{}
	m := match.New(match.Config{MaxWait: 5 * time.Second, BotFill: true}, clk, st, cluster.NewLocal(clk), zerolog.Nop())
	a := &sink{}
	p := protocol.PlayerInfo{ID: "a", Name: "a"}
	if _, err := m.Find(p, "four", "", a); err != nil {
		t.Fatal(err)
	}
	clk.Advance(6 * time.Second)
	m.Process(context.Background())
	room, ok := m.Playing("a")
	if !ok || len(st.games) != 1 || len(st.games[0]) != 4 {
		t.Fatalf("bot-filled match not started: %v", st.games)
	}
	ctx := context.Background()
	if err := m.Rematch(ctx, p, room, a); err != match.ErrNotFinished {
		t.Fatalf("rematch while playing: %v, want ErrNotFinished", err)
	}
	if err := m.Rematch(ctx, protocol.PlayerInfo{ID: st.games[0][1]}, room, nil); err != match.ErrNoMatch {
		t.Fatalf("rematch asked by a bot: %v, want ErrNoMatch", err)
	}
	m.Release(ctx, room, st.games[0])
	if err := m.Rematch(ctx, p, room, a); err != nil {
		t.Fatal(err)
	}
	if len(st.games) != 2 || a.last() != "match.found" {
		t.Fatalf("rematch not started at once: games %v, a got %v", st.games, a.types)
	}
	for i, id := range st.games[0] {
		if st.games[1][i] != id {
			t.Fatalf("rematch seats %v, want the same players %v", st.games[1], st.games[0])
		}
	}
	if next, _ := m.Playing("a"); next == room || next == "" {
		t.Fatalf("a plays in %q after the rematch of %q", next, room)
	}
}

// A match too long over cannot be played again, and is forgotten.
func TestRematchTooLate(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	st := &starter{}
	m := match.New(match.Config{}, clk, st, cluster.NewLocal(clk), zerolog.Nop())
	a, b := &sink{}, &sink{}
	pa, pb := protocol.PlayerInfo{ID: "a"}, protocol.PlayerInfo{ID: "b"}
	_, _ = m.Find(pa, "duel", "", a)
	_, _ = m.Find(pb, "duel", "", b)
	m.Process(context.Background())
	room, _ := m.Playing("a")
	m.Release(context.Background(), room, []string{"a", "b"})
	clk.Advance(2*time.Minute + time.Second)
	m.Process(context.Background())
	if err := m.Rematch(context.Background(), pa, room, a); err != match.ErrNoMatch {
		t.Fatalf("rematch after the keep window: %v, want ErrNoMatch", err)
	}
	if b.last() == "match.rematch_offer" {
		t.Fatal("b was offered a rematch of a forgotten match")
	}
}
