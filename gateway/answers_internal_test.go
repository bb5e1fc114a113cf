package gateway

import (
	"testing"
	"time"
)

// A request seen again gets the first one's answer; answers older than
// the cutoff are forgotten once given, never while still being worked out.
func TestAnswersRepeatAndPrune(t *testing.T) {
	var a answers
	t0 := time.Unix(1_000_000, 0)
	first, isNew := a.begin("node-b r1 7", t0)
	if !isNew {
		t.Fatal("a first request is not new")
	}
	again, isNew := a.begin("node-b r1 7", t0.Add(time.Second))
	if isNew || again != first {
		t.Fatal("a repeated request is not answered by the first one's answer")
	}
	if _, isNew := a.begin("node-b r2 7", t0); !isNew {
		t.Fatal("the same id from another run of the node is not a new request")
	}
	a.prune(t0.Add(time.Minute))
	if _, isNew := a.begin("node-b r1 7", t0); isNew {
		t.Fatal("an answer still being worked out was forgotten")
	}
	first.rep.Party = "p-1"
	close(first.done)
	a.prune(t0.Add(time.Minute))
	if x, isNew := a.begin("node-b r1 7", t0.Add(time.Minute)); !isNew || x == first {
		t.Fatal("an old answer given was kept")
	}
}
