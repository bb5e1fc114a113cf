package room

import (
	"context"
	"testing"
	"time"
)

// heldFinisher settles a result only when told to, as a store that is slow
// to answer would.
type heldFinisher struct {
	got     chan *Result
	release chan map[string]int64
}

func (f *heldFinisher) Finish(r *Result, done func(map[string]int64)) {
	f.got <- r
	go func() { done(<-f.release) }()
}

// TestFinisherDoesNotHoldTheRoom: the room hands its result over and keeps
// serving while the finisher stores it; the result frame goes out only once
// the finisher is done, with the points it paid.
func TestFinisherDoesNotHoldTheRoom(t *testing.T) {
	g := newRig(t, Config{ID: "r-fin", Kind: KindEvent, TimeLimit: 10 * time.Second})
	fin := &heldFinisher{got: make(chan *Result, 1), release: make(chan map[string]int64)}
	g.r.opts.Finisher = fin
	g.run()
	a := g.join("a")
	g.toFirstQuestion()
	if err := g.answer("a", 0, []string{"B"}, nil); err != nil {
		t.Fatal(err)
	}
	g.control(ActEnd)
	var res *Result
	select {
	case res = <-fin.got:
	case <-time.After(5 * time.Second):
		t.Fatal("the finisher was not handed the result")
	}
	if len(res.Standings) != 1 || res.Standings[0].ID != "a" {
		t.Fatalf("result standings %+v", res.Standings)
	}
	// The finisher has not answered: the room still serves requests, and
	// has told nobody the result yet.
	if s := g.snap(); s.Phase != PhaseFinished {
		t.Fatalf("phase %s while settling", s.Phase)
	}
	if n := a.count("room.finished"); n != 0 {
		t.Fatalf("room.finished sent %d times before the result was stored", n)
	}
	fin.release <- map[string]int64{"a": 7}
	select {
	case <-g.r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the room did not end once its result was stored")
	}
	if n := a.count("room.finished"); n != 1 {
		t.Fatalf("room.finished sent %d times, want 1", n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.msgs {
		if m["type"] != "room.finished" {
			continue
		}
		you, _ := m["data"].(map[string]any)["you"].(map[string]any)
		if you["points_awarded"] != float64(7) {
			t.Fatalf("room.finished you = %v, want the 7 points the finisher paid", you)
		}
	}
}

// TestShutdownWaitsForTheFinisher: a room stopped while its result is
// being stored waits for it, and still tells its players.
func TestShutdownWaitsForTheFinisher(t *testing.T) {
	g := newRig(t, Config{ID: "r-fin2", Kind: KindEvent, TimeLimit: 10 * time.Second})
	fin := &heldFinisher{got: make(chan *Result, 1), release: make(chan map[string]int64)}
	g.r.opts.Finisher = fin
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() { _ = g.r.Run(ctx); close(ended) }()
	a := g.join("a")
	g.toFirstQuestion()
	g.control(ActEnd)
	<-fin.got
	cancel()
	select {
	case <-ended:
		t.Fatal("the room ended before its result was stored")
	case <-time.After(50 * time.Millisecond):
	}
	fin.release <- nil
	<-ended
	if n := a.count("room.finished"); n != 1 {
		t.Fatalf("room.finished sent %d times, want 1", n)
	}
}
