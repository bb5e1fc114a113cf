package match_test

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// starter records the matches it is asked to start.
type starter struct {
	mu    sync.Mutex
	games [][]string // player ids per match
	langs [][]string // the tickets' languages per match
	fail  bool
}

func (s *starter) StartMatch(_ context.Context, room, mode, category string, ts []*match.Ticket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return context.DeadlineExceeded
	}
	var ids, langs []string
	for _, t := range ts {
		ids = append(ids, t.Player.ID)
		langs = append(langs, t.Lang)
	}
	s.games = append(s.games, ids)
	s.langs = append(s.langs, langs)
	return nil
}

// sink collects the message types sent to a player.
type sink struct {
	mu    sync.Mutex
	types []string
}

func (s *sink) Send(f *protocol.Frame) bool {
	var m struct{ Type string }
	_ = json.Unmarshal(f.Bytes(), &m)
	s.mu.Lock()
	s.types = append(s.types, m.Type)
	s.mu.Unlock()
	return true
}

func (s *sink) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.types) == 0 {
		return ""
	}
	return s.types[len(s.types)-1]
}

type arrival struct {
	id     string
	rating float64
	at     time.Duration // after the start
	mode   string
}

func TestMatchmakerDecisions(t *testing.T) {
	cases := []struct {
		name     string
		cfg      match.Config
		arrivals []arrival
		process  []time.Duration // instants at which Process runs
		want     [][]string      // matches in order of start
		timeouts []string
	}{
		{
			name:     "two close ratings pair at once",
			arrivals: []arrival{{"a", 1500, 0, "duel"}, {"b", 1550, 0, "duel"}},
			process:  []time.Duration{0},
			want:     [][]string{{"a", "b"}},
		},
		{
			name:     "far ratings wait while the window is narrower than the gap",
			cfg:      match.Config{Window: 100, WidenPerSecond: 50},
			arrivals: []arrival{{"a", 1200, 0, "duel"}, {"b", 1500, 0, "duel"}},
			process:  []time.Duration{0, 3 * time.Second}, // 100+50*3 = 250 < 300
		},
		{
			name:     "far ratings pair once the window reaches the gap",
			cfg:      match.Config{Window: 100, WidenPerSecond: 50},
			arrivals: []arrival{{"a", 1200, 0, "duel"}, {"b", 1500, 0, "duel"}},
			process:  []time.Duration{4 * time.Second}, // 100+50*4 = 300
			want:     [][]string{{"a", "b"}},
		},
		{
			name:     "tightest pair wins",
			arrivals: []arrival{{"a", 1500, 0, "duel"}, {"b", 1590, 0, "duel"}, {"c", 1510, 0, "duel"}},
			process:  []time.Duration{0},
			want:     [][]string{{"a", "c"}},
		},
		{
			name:     "modes do not mix",
			arrivals: []arrival{{"a", 1500, 0, "duel"}, {"b", 1500, 0, "four"}},
			process:  []time.Duration{0},
		},
		{
			name: "four needs four",
			arrivals: []arrival{{"a", 1500, 0, "four"}, {"b", 1510, 0, "four"}, {"c", 1520, 0, "four"},
				{"d", 1530, time.Second, "four"}, {"e", 1540, time.Second, "four"}},
			process: []time.Duration{0, time.Second},
			want:    [][]string{{"a", "b", "c", "d"}},
		},
		{
			name:     "lonely player times out",
			cfg:      match.Config{MaxWait: 10 * time.Second},
			arrivals: []arrival{{"a", 1500, 0, "duel"}},
			process:  []time.Duration{9 * time.Second, 10 * time.Second},
			timeouts: []string{"a"},
		},
		{
			name:     "bots fill after the wait",
			cfg:      match.Config{MaxWait: 10 * time.Second, BotFill: true},
			arrivals: []arrival{{"a", 1500, 0, "duel"}},
			process:  []time.Duration{10 * time.Second},
			want:     [][]string{{"a", "bot"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Unix(1000, 0)
			clk := clock.NewFake(start)
			st := &starter{}
			m := match.New(c.cfg, clk, st, cluster.NewLocal(clk), zerolog.Nop())
			sinks := map[string]*sink{}
			pending := append([]arrival(nil), c.arrivals...)
			for _, at := range c.process {
				for len(pending) > 0 && pending[0].at <= at {
					a := pending[0]
					pending = pending[1:]
					clk.Set(start.Add(a.at))
					sinks[a.id] = &sink{}
					if _, err := m.Find(protocol.PlayerInfo{ID: a.id, Name: a.id, Rating: a.rating}, a.mode, "", sinks[a.id]); err != nil {
						t.Fatal(err)
					}
				}
				clk.Set(start.Add(at))
				m.Process(context.Background())
			}
			if len(st.games) != len(c.want) {
				t.Fatalf("matches %v, want %v", st.games, c.want)
			}
			for i, g := range c.want {
				for j, id := range g {
					got := st.games[i][j]
					if id == "bot" && len(got) > 4 && got[:4] == "bot-" {
						continue
					}
					if got != id {
						t.Fatalf("matches %v, want %v", st.games, c.want)
					}
				}
				for _, id := range g {
					if s, ok := sinks[id]; ok && s.last() != "match.found" {
						t.Fatalf("%s last got %q, want match.found", id, s.last())
					}
				}
			}
			for _, id := range c.timeouts {
				if sinks[id].last() != "match.timeout" {
					t.Fatalf("%s got %v, want match.timeout", id, sinks[id].types)
				}
				if _, ok := m.Queued(id); ok {
					t.Fatalf("%s still queued after timing out", id)
				}
			}
		})
	}
}

func TestNeverInTwoRooms(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	st := &starter{}
	bus := cluster.NewLocal(clk)
	m := match.New(match.Config{}, clk, st, bus, zerolog.Nop())
	p := protocol.PlayerInfo{ID: "p", Name: "p"}
	if _, err := m.Find(p, "duel", "", &sink{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Find(p, "four", "", &sink{}); err != match.ErrBusy {
		t.Fatalf("second queue: %v, want ErrBusy", err)
	}
	if _, err := m.Find(protocol.PlayerInfo{ID: "q"}, "duel", "", &sink{}); err != nil {
		t.Fatal(err)
	}
	m.Process(context.Background())
	room, ok := m.Playing("p")
	if !ok || room == "" {
		t.Fatal("p not marked playing")
	}
	if _, err := m.Find(p, "duel", "", &sink{}); err != match.ErrBusy {
		t.Fatalf("find while playing: %v, want ErrBusy", err)
	}
	// Another node's matchmaker sharing the bus cannot seat p either.
	other := match.New(match.Config{}, clk, st, bus, zerolog.Nop())
	sp := &sink{}
	_, _ = other.Find(p, "duel", "", sp)
	_, _ = other.Find(protocol.PlayerInfo{ID: "r"}, "duel", "", &sink{})
	other.Process(context.Background())
	if len(st.games) != 1 {
		t.Fatalf("p seated twice: %v", st.games)
	}
	if sp.last() != "error" {
		t.Fatalf("p on the other node got %v", sp.types)
	}
	if _, ok := other.Queued("r"); !ok {
		t.Fatal("r should be back in the queue")
	}
	m.Release(context.Background(), room, []string{"p", "q"})
	if _, err := m.Find(p, "duel", "", &sink{}); err != nil {
		t.Fatalf("find after release: %v", err)
	}
}

func TestStartFailureFreesPlayers(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	st := &starter{fail: true}
	m := match.New(match.Config{}, clk, st, cluster.NewLocal(clk), zerolog.Nop())
	a, b := &sink{}, &sink{}
	_, _ = m.Find(protocol.PlayerInfo{ID: "a"}, "duel", "", a)
	_, _ = m.Find(protocol.PlayerInfo{ID: "b"}, "duel", "", b)
	m.Process(context.Background())
	if a.last() != "error" || b.last() != "error" {
		t.Fatalf("a %v b %v", a.types, b.types)
	}
	if _, busy := m.Playing("a"); busy {
		t.Fatal("a still marked playing after a failed start")
	}
}

func TestCancelAndLeave(t *testing.T) {
	m := match.New(match.Config{}, clock.NewFake(time.Unix(0, 0)), &starter{}, cluster.NewLocal(nil), zerolog.Nop())
	tk, _ := m.Find(protocol.PlayerInfo{ID: "a"}, "duel", "", &sink{})
	if err := m.Cancel("a", "wrong"); err != match.ErrNoTicket {
		t.Fatalf("cancel with a wrong ticket: %v", err)
	}
	if err := m.Cancel("a", tk.ID); err != nil {
		t.Fatal(err)
	}
	_, _ = m.Find(protocol.PlayerInfo{ID: "a"}, "duel", "", &sink{})
	m.Leave("a")
	if _, ok := m.Queued("a"); ok {
		t.Fatal("still queued after Leave")
	}
	if _, err := m.Find(protocol.PlayerInfo{ID: "a"}, "team", "", &sink{}); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestElo(t *testing.T) {
	cases := []struct {
		ratings []float64
		ranks   []int
		want    []float64
	}{
		{[]float64{1500, 1500}, []int{1, 2}, []float64{1516, 1484}},
		{[]float64{1500, 1500}, []int{1, 1}, []float64{1500, 1500}},
		{[]float64{1600, 1400}, []int{2, 1}, []float64{1575.7, 1424.3}},
		{[]float64{1500, 1500, 1500, 1500}, []int{1, 2, 3, 4}, []float64{1516, 1505.3, 1494.7, 1484}},
	}
	for _, c := range cases {
		got := match.Elo(c.ratings, c.ranks)
		sum0, sum1 := 0.0, 0.0
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 0.05 {
				t.Fatalf("Elo(%v, %v) = %v, want %v", c.ratings, c.ranks, got, c.want)
			}
			sum0 += c.ratings[i]
			sum1 += got[i]
		}
		if math.Abs(sum0-sum1) > 0.2 {
			t.Fatalf("Elo does not conserve rating: %v -> %v", sum0, sum1)
		}
	}
	if match.PointsFor("duel", 1) != 5 || match.PointsFor("four", 4) != 2 || match.PointsFor("four", 9) != 2 {
		t.Fatal("PointsFor")
	}
}

// barrierStarter starts a match only once n starts are in progress at
// once, or gives up after a while.
type barrierStarter struct {
	n       int
	mu      sync.Mutex
	waiting int
	all     chan struct{}
	started int
	gaveUp  int
}

func (s *barrierStarter) StartMatch(context.Context, string, string, string, []*match.Ticket) error {
	s.mu.Lock()
	s.waiting++
	if s.waiting == s.n {
		close(s.all)
	}
	s.mu.Unlock()
	select {
	case <-s.all:
	case <-time.After(5 * time.Second):
		s.mu.Lock()
		s.gaveUp++
		s.mu.Unlock()
		return context.DeadlineExceeded
	}
	s.mu.Lock()
	s.started++
	s.mu.Unlock()
	return nil
}

// TestTickStartsSideBySide: the matches one tick forms are started side by
// side (their room headers are then written together), and Process
// returns once all of them have started.
func TestTickStartsSideBySide(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	st := &barrierStarter{n: 3, all: make(chan struct{})}
	m := match.New(match.Config{}, clk, st, cluster.NewLocal(clk), zerolog.Nop())
	for i, r := range []float64{1000, 1010, 1500, 1510, 2000, 2010} {
		id := string(rune('a' + i))
		if _, err := m.Find(protocol.PlayerInfo{ID: id, Name: id, Rating: r}, "duel", "", &sink{}); err != nil {
			t.Fatal(err)
		}
	}
	m.Process(context.Background())
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started != 3 || st.gaveUp != 0 {
		t.Fatalf("%d matches started, %d gave up waiting for the others; want 3 started side by side", st.started, st.gaveUp)
	}
}
