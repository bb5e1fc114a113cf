package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/cluster/bustest"
	"github.com/leitai/leitai/internal/clock"
	dto "github.com/prometheus/client_model/go"
)

// fakeTimeNode is a Local node whose claims and leases expire on the hub's
// fake clock.
type fakeTimeNode struct {
	*cluster.Local
	clk *clock.Fake
}

func (f fakeTimeNode) Advance(d time.Duration) { f.clk.Advance(d) }

func TestLocalBusContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) (bustest.Node, bustest.Node) {
		clk := clock.NewFake(time.Unix(0, 0))
		hub := cluster.NewLocalHub(clk)
		return fakeTimeNode{hub.Node(), clk}, fakeTimeNode{hub.Node(), clk}
	})
}

// TestWatchLapsedTakesOver runs two watchers on a fake clock: the lapsed
// lease of a dead node is taken over once, by one of them.
func TestWatchLapsedTakesOver(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	hub := cluster.NewLocalHub(clk)
	dead, n1, n2 := hub.Node(), hub.Node(), hub.Node()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old, _, _ := dead.TakeLease(ctx, "room:1", "dead", 3*time.Second)
	type take struct {
		node  string
		lease cluster.Lease
	}
	took := make(chan take, 4)
	var wg sync.WaitGroup
	for name, n := range map[string]*cluster.Local{"n1": n1, "n2": n2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cluster.WatchLapsed(ctx, n, clk, time.Second, func(l cluster.Lease) {
				if nl, ok, _ := n.TakeLease(ctx, l.Key, name, 3*time.Second); ok {
					took <- take{name, nl}
				}
			}, nil)
		}()
	}
	// Let the tickers exist before time moves.
	deadline := time.Now().Add(5 * time.Second)
	for clk.Timers() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the watchers never started")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Advance(time.Second)
	select {
	case tk := <-took:
		t.Fatalf("%s took a live lease: %+v", tk.node, tk.lease)
	case <-time.After(50 * time.Millisecond):
	}
	clk.Advance(3 * time.Second)
	var got take
	select {
	case got = <-took:
	case <-time.After(5 * time.Second):
		t.Fatal("no watcher took the lapsed lease")
	}
	if got.lease.Epoch <= old.Epoch {
		t.Fatalf("takeover epoch %d not above %d", got.lease.Epoch, old.Epoch)
	}
	cancel()
	wg.Wait()
	select {
	case tk := <-took:
		t.Fatalf("the lease was taken twice, also by %s", tk.node)
	default:
	}
}

func TestLocalMetricsByClass(t *testing.T) {
	hub := cluster.NewLocalHub(nil)
	a, b := hub.Node(), hub.Node()
	ma, mb := cluster.NewMetrics("a"), cluster.NewMetrics("b")
	a.SetMetrics(ma)
	b.SetMetrics(mb)
	ctx := context.Background()
	n := 0
	if _, err := b.Subscribe(ctx, "fr:b", func([]byte) { n++ }); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := a.Publish(ctx, "fr:b", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Publish(ctx, "owners", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("delivered %d, want 3", n)
	}
	count := func(m *cluster.Metrics, dir, class string) float64 {
		var d dto.Metric
		if err := m.Messages.WithLabelValues(dir, class).Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.Counter.GetValue()
	}
	// The publisher counts what it published, the subscriber's node what
	// it received, each by class.
	for _, c := range []struct {
		m          *cluster.Metrics
		dir, class string
		want       float64
	}{
		{ma, "published", "fr", 3}, {ma, "published", "owners", 1}, {ma, "received", "fr", 0},
		{mb, "received", "fr", 3}, {mb, "published", "fr", 0},
	} {
		if got := count(c.m, c.dir, c.class); got != c.want {
			t.Errorf("leitai_bus_messages_total{direction=%q,class=%q} = %v, want %v", c.dir, c.class, got, c.want)
		}
	}
}
