package clusterstate_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/redistest"
)

// roundTrips counts what a client sends Redis: each single command and
// each pipeline once. The first send waits for hold to close, so that the
// test can queue its calls behind it.
type roundTrips struct {
	n     atomic.Int64
	first atomic.Bool
	hold  chan struct{}
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) wait() {
	if h.first.CompareAndSwap(false, true) {
		<-h.hold
	}
}

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.wait()
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.wait()
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestUnregisterManyAtOnce: thousands of connections closing at once (an
// event's end) are forgotten in a few pipelines, not a round trip each,
// and each Unregister still forgets only its own connection.
func TestUnregisterManyAtOnce(t *testing.T) {
	srv := redistest.StartServer(t)
	p := uniquePrefix()
	bus := openBus(t, srv.URL(), p)
	ctx := context.Background()
	const n = 3000
	setup := clusterstate.NewRedisSessions(bus.Client(), bus.Prefix(), bus, "n0")
	for i := range n {
		if err := setup.Register(ctx, fmt.Sprint("p", i), fmt.Sprint("c", i)); err != nil {
			t.Fatal(err)
		}
	}

	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	hook := &roundTrips{hold: make(chan struct{})}
	client.AddHook(hook)
	s := clusterstate.NewRedisSessions(client, bus.Prefix(), bus, "n0")

	var wg sync.WaitGroup
	var called atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := fmt.Sprint("c", i)
			if i%10 == 0 {
				conn = "an older connection" // not the player's: left alone
			}
			called.Add(1)
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := s.Unregister(ctx, fmt.Sprint("p", i), conn); err != nil {
				errs <- err
			}
		}()
	}
	for called.Load() < n {
		time.Sleep(time.Millisecond) // a poll for the goroutines to start, not a wait for Redis
	}
	close(hook.hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := hook.n.Load(); got > n/20 {
		t.Errorf("%d Unregisters took %d round trips to Redis; want them gathered into pipelines (at most %d)", n, got, n/20)
	}
	players := make([]string, n)
	for i := range players {
		players[i] = fmt.Sprint("p", i)
	}
	hs, err := setup.Holders(ctx, players)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		want := clusterstate.Holding{}
		if i%10 == 0 {
			want = clusterstate.Holding{Node: "n0", Conn: fmt.Sprint("c", i)}
		}
		if h != want {
			t.Fatalf("player p%d after Unregister: %+v, want %+v", i, h, want)
		}
	}
}
