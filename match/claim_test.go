package match_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
)

// flakyClaims is a Bus's claims that fail on demand, and can run a hook
// in the middle of a claim (while a match is starting).
type flakyClaims struct {
	inner match.Claims
	mu    sync.Mutex
	fail  bool
	busy  map[string]bool // player claim keys held elsewhere
	hook  func(key string)
}

func (f *flakyClaims) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	fail, busy, hook := f.fail, f.busy[key], f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(key)
	}
	if fail {
		return false, errors.New("bus unreachable")
	}
	if busy {
		return false, nil
	}
	return f.inner.Claim(ctx, key, owner, ttl)
}

func (f *flakyClaims) Release(ctx context.Context, key, owner string) error {
	return f.inner.Release(ctx, key, owner)
}

func TestBusErrorLeavesPlayersQueued(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	st := &starter{}
	claims := &flakyClaims{inner: cluster.NewLocal(clk), fail: true}
	m := match.New(match.Config{}, clk, st, claims, zerolog.Nop())
	a, b := &sink{}, &sink{}
	_, _ = m.Find(protocol.PlayerInfo{ID: "a"}, "duel", "", a)
	_, _ = m.Find(protocol.PlayerInfo{ID: "b"}, "duel", "", b)
	m.Process(context.Background())
	if len(a.types) != 0 || len(b.types) != 0 {
		t.Fatalf("a Bus error was told to players: a %v b %v", a.types, b.types)
	}
	for _, id := range []string{"a", "b"} {
		if _, ok := m.Queued(id); !ok {
			t.Fatalf("%s dropped from the queue by a Bus error", id)
		}
		if _, ok := m.Playing(id); ok {
			t.Fatalf("%s marked playing after a Bus error", id)
		}
	}
	claims.mu.Lock()
	claims.fail = false
	claims.mu.Unlock()
	clk.Advance(250 * time.Millisecond)
	m.Process(context.Background())
	if len(st.games) != 1 || a.last() != "match.found" || b.last() != "match.found" {
		t.Fatalf("no match once the Bus is back: %v a %v b %v", st.games, a.types, b.types)
	}
}

func TestBusyPlayerIsToldAndOthersRequeued(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	claims := &flakyClaims{inner: cluster.NewLocal(clk), busy: map[string]bool{"player:b": true}}
	m := match.New(match.Config{}, clk, &starter{}, claims, zerolog.Nop())
	a, b := &sink{}, &sink{}
	_, _ = m.Find(protocol.PlayerInfo{ID: "a"}, "duel", "", a)
	_, _ = m.Find(protocol.PlayerInfo{ID: "b"}, "duel", "", b)
	m.Process(context.Background())
	if b.last() != "error" {
		t.Fatalf("b held elsewhere got %v", b.types)
	}
	if _, ok := m.Queued("b"); ok {
		t.Fatal("b, playing elsewhere, was requeued")
	}
	if _, ok := m.Queued("a"); !ok {
		t.Fatal("a was not requeued")
	}
}

func TestCancelWhileStartingIsNotRequeued(t *testing.T) {
	for _, how := range []string{"cancel", "leave"} {
		t.Run(how, func(t *testing.T) {
			clk := clock.NewFake(time.Unix(0, 0))
			claims := &flakyClaims{inner: cluster.NewLocal(clk), busy: map[string]bool{"player:c": true}}
			m := match.New(match.Config{}, clk, &starter{}, claims, zerolog.Nop())
			ta, _ := m.Find(protocol.PlayerInfo{ID: "a", Rating: 1500}, "duel", "", &sink{})
			_, _ = m.Find(protocol.PlayerInfo{ID: "c", Rating: 1500}, "duel", "", &sink{})
			var once sync.Once
			claims.hook = func(string) {
				once.Do(func() {
					if how == "cancel" {
						if err := m.Cancel("a", ta.ID); err != nil {
							t.Errorf("cancel while starting: %v", err)
						}
					} else {
						m.Leave("a")
					}
				})
			}
			m.Process(context.Background())
			if _, ok := m.Queued("a"); ok {
				t.Fatalf("a was requeued after a %s while its match was starting", how)
			}
			if _, ok := m.Playing("a"); ok {
				t.Fatal("a left marked playing")
			}
			if _, err := m.Find(protocol.PlayerInfo{ID: "a"}, "duel", "", &sink{}); err != nil {
				t.Fatalf("a cannot queue again: %v", err)
			}
		})
	}
}

// A cancel that arrives while a match that would start is being started
// gets exactly one outcome: either it wins (no match.found, the match is not
// started, the partner is queued again) or it is refused because the match
// already started. Never match.cancelled and match.found both.
func TestCancelWhileStartingGetsOneOutcome(t *testing.T) {
	for _, when := range []string{"claim", "found"} {
		t.Run(when, func(t *testing.T) {
			clk := clock.NewFake(time.Unix(0, 0))
			claims := &flakyClaims{inner: cluster.NewLocal(clk)}
			st := &starter{}
			m := match.New(match.Config{}, clk, st, claims, zerolog.Nop())
			a, b := &sink{}, &sink{}
			var cancelErr error
			var once sync.Once
			cancel := func() { once.Do(func() { cancelErr = m.Cancel("a", "") }) }
			// "claim": the cancel comes while the players' claims are taken;
			// "found": as b is sent match.found.
			if when == "claim" {
				claims.hook = func(string) { cancel() }
			} else {
				b.onSend = func(typ string) {
					if typ == "match.found" {
						cancel()
					}
				}
			}
			_, _ = m.Find(protocol.PlayerInfo{ID: "a", Rating: 1500}, "duel", "", a)
			_, _ = m.Find(protocol.PlayerInfo{ID: "b", Rating: 1500}, "duel", "", b)
			m.Process(context.Background())
			found := slices.Contains(a.types, "match.found")
			switch {
			case cancelErr == nil && found:
				t.Fatalf("a was told its cancel succeeded and then match.found: %v", a.types)
			case cancelErr == nil:
				if len(st.games) != 0 {
					t.Fatalf("the cancel won but the match was started: %v", st.games)
				}
				if _, ok := m.Queued("b"); !ok {
					t.Fatal("b was not queued again after a's cancel")
				}
				if _, ok := m.Playing("b"); ok {
					t.Fatal("b left marked playing")
				}
				if _, ok := m.Queued("a"); ok {
					t.Fatal("a, who cancelled, was queued again")
				}
				// The claims were given back: a and b can be matched again.
				_, _ = m.Find(protocol.PlayerInfo{ID: "a", Rating: 1500}, "duel", "", a)
				clk.Advance(250 * time.Millisecond)
				m.Process(context.Background())
				if len(st.games) != 1 || a.last() != "match.found" || b.last() != "match.found" {
					t.Fatalf("no match after the cancel: games %v a %v b %v", st.games, a.types, b.types)
				}
			case !errors.Is(cancelErr, match.ErrNoTicket):
				t.Fatalf("cancel after the match started: %v, want ErrNoTicket", cancelErr)
			case !found || len(st.games) != 1:
				t.Fatalf("the cancel was refused but the match did not start: %v, a %v", st.games, a.types)
			}
			if when == "claim" && cancelErr != nil {
				t.Fatalf("a cancel before match.found was refused: %v", cancelErr)
			}
			if when == "found" && cancelErr == nil {
				t.Fatal("a cancel after match.found was sent was accepted")
			}
		})
	}
}
