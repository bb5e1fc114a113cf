package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/clock"
)

// TestSweepClosesWhatANoticeMissed: a connection replaced on another node
// whose notice never arrived is closed with 4001 by the sweep, after two
// sweeps agree; one the directory lost is registered again; the others stay.
func TestSweepClosesWhatANoticeMissed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clock.NewFake(time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC))
	hub := clusterstate.NewLocalSessionHub()
	here, there := hub.Node("a"), hub.Node("b") // node a never watches: every notice to it is lost
	g := &Gateway{hub: newHub(), dir: here, clock: clk, log: zerolog.Nop(), runCtx: ctx}
	conns := map[string]*conn{}
	for _, id := range []string{"moved", "stays", "lost"} {
		sess := g.newSession(id, id, rolePlayer)
		g.hub.sessions[id] = sess
		c := &conn{srv: g, id: "c-" + id, quit: make(chan struct{})}
		c.writing.Store(true) // no writer: closing only marks the reason
		sess.attach(c)
		g.register(sess, c)
		conns[id] = c
	}
	if err := there.Register(ctx, "moved", "c-elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := here.Unregister(ctx, "lost", "c-lost"); err != nil {
		t.Fatal(err)
	}
	closed := func(id string) bool {
		select {
		case <-conns[id].quit:
			return true
		default:
			return false
		}
	}
	done := make(chan struct{})
	go func() { g.sweepDirectory(ctx); close(done) }()
	waitFor(t, "the sweep's ticker", func() bool { return clk.Timers() == 1 })
	clk.Advance(sweepEvery)
	waitFor(t, "the lost connection to be registered again", func() bool {
		n, c, _ := here.Holder(ctx, "lost")
		return n == "a" && c == "c-lost"
	})
	if closed("moved") {
		t.Fatal("closed after one sweep: a connection just adopted may not be registered yet")
	}
	clk.Advance(sweepEvery)
	waitFor(t, "the moved connection to close", func() bool { return closed("moved") })
	if conns["moved"].reason != reasonReplaced {
		t.Fatalf("closed with reason %v, want replaced (4001)", conns["moved"].reason)
	}
	if closed("stays") || closed("lost") {
		t.Fatal("a connection the directory names was closed")
	}
	cancel()
	<-done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
