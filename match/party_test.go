package match_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// party forms and queues a party of players with the given ratings.
func party(t *testing.T, ps *match.Parties, ids []string, rating float64) {
	t.Helper()
	if _, err := ps.Create(protocol.PlayerInfo{ID: ids[0], Rating: rating}, &sink{}); err != nil {
		t.Fatal(err)
	}
	p, _ := ps.Of(ids[0])
	for _, id := range ids[1:] {
		if _, err := ps.Join(p.Code, protocol.PlayerInfo{ID: id, Rating: rating}, &sink{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ps.Queue(ids[0], "", "zh", nil); err != nil {
		t.Fatal(err)
	}
}

// The longest-waiting party is paired with the party of its size whose
// mean rating is nearest, within both windows; nobody is matched twice.
func TestTeamQueuePairsBySizeAndRating(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	st := &starter{}
	m := match.New(match.Config{}, clk, st, cluster.NewLocal(clk), zerolog.Nop())
	ps := match.NewParties(m)
	party(t, ps, []string{"a1", "a2"}, 1500)
	clk.Advance(time.Second)
	party(t, ps, []string{"b1", "b2"}, 2000) // too far for now
	party(t, ps, []string{"c1", "c2", "c3"}, 1520)
	party(t, ps, []string{"d1", "d2"}, 1550)
	// A player already in a party cannot join another, nor queue alone
	// while its party is queued.
	if _, err := ps.Create(protocol.PlayerInfo{ID: "a2"}, &sink{}); !errors.Is(err, match.ErrInParty) {
		t.Fatalf("second party: %v", err)
	}
	if _, err := m.Find(protocol.PlayerInfo{ID: "a2"}, "duel", "", &sink{}); !errors.Is(err, match.ErrBusy) {
		t.Fatalf("solo find while the party is queued: %v", err)
	}
	m.Process(context.Background())
	if len(st.games) != 1 {
		t.Fatalf("games = %v", st.games)
	}
	got := slices.Clone(st.games[0])
	slices.Sort(got)
	if !slices.Equal(got, []string{"a1", "a2", "d1", "d2"}) {
		t.Fatalf("matched %v, want a's party with d's", got)
	}
	// b's party waits alone until it times out; c's (of 3) too.
	clk.Advance(30 * time.Second)
	m.Process(context.Background())
	if len(st.games) != 1 {
		t.Fatalf("games = %v", st.games)
	}
	for _, id := range []string{"b1", "c1"} {
		if _, q := m.Queued(id); q {
			t.Fatalf("%s still queued after MaxWait", id)
		}
	}
}

// A party's members may be connected to other nodes: the registry says
// where each is, moves one when its connection comes back elsewhere (its
// queued ticket too), and lists every code with its members.
func TestPartyMembersElsewhere(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	m := match.New(match.Config{}, clk, &starter{}, cluster.NewLocal(clk), zerolog.Nop())
	ps := match.NewParties(m)
	if _, err := ps.CreateCode(protocol.PlayerInfo{ID: "a"}, &sink{}, "ABCDEF"); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.CreateCode(protocol.PlayerInfo{ID: "b"}, &sink{}, "ABCDEF"); !errors.Is(err, match.ErrCodeTaken) {
		t.Fatalf("a code in use: %v", err)
	}
	if _, err := ps.CreateCode(protocol.PlayerInfo{ID: "a"}, &sink{}, "GHJKLM"); !errors.Is(err, match.ErrInParty) {
		t.Fatalf("a second party: %v", err)
	}
	far := &sink{}
	if _, err := ps.JoinMember("ABCDEF", match.Member{Player: protocol.PlayerInfo{ID: "b"}, Sink: far, Node: "n2"}); err != nil {
		t.Fatal(err)
	}
	if node, ok := ps.Where("b"); !ok || node != "n2" {
		t.Fatalf("b is on %q (%v), want n2", node, ok)
	}
	if r := ps.Roster(); len(r) != 1 || !slices.Equal(r["ABCDEF"], []string{"a", "b"}) {
		t.Fatalf("roster %v", r)
	}
	if _, _, err := ps.Queue("a", "", "zh", nil); err != nil {
		t.Fatal(err)
	}
	if tk, _ := m.Queued("b"); tk.Node() != "n2" || tk.Sink != far {
		t.Fatalf("b's ticket on %q", tk.Node())
	}
	near := &sink{}
	if _, moved := ps.Move("b", "n3", near); !moved {
		t.Fatal("b not moved")
	}
	if _, moved := ps.Move("b", "n3", near); moved {
		t.Fatal("b moved twice to one node")
	}
	if tk, _ := m.Queued("b"); tk.Node() != "n3" || tk.Sink != near {
		t.Fatalf("b's ticket on %q after the move", tk.Node())
	}
	if node, _ := ps.Where("b"); node != "n3" {
		t.Fatalf("b is on %q after the move", node)
	}
	if _, ok := ps.Move("nobody", "n3", near); ok {
		t.Fatal("moved a player in no party")
	}
}
