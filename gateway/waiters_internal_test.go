package gateway

import "testing"

// TestWaitersPairByID: a reply reaches the request with its id and no
// other; a second reply to one request, and a reply to a request that
// stopped waiting, are dropped without blocking.
func TestWaitersPairByID(t *testing.T) {
	var w waiters[string]
	idA, a, doneA := w.wait()
	idB, b, doneB := w.wait()
	if idA == idB || w.id() == idB {
		t.Fatalf("ids repeat: %d %d", idA, idB)
	}
	w.deliver(idB, "to b")
	w.deliver(idB, "to b again")
	w.deliver(idA, "to a")
	if got := <-a; got != "to a" {
		t.Fatalf("a got %q", got)
	}
	if got := <-b; got != "to b" {
		t.Fatalf("b got %q", got)
	}
	select {
	case got := <-b:
		t.Fatalf("b got a second reply %q", got)
	default:
	}
	doneA()
	doneB()
	w.deliver(idA, "late")
	if len(w.pending) != 0 {
		t.Fatalf("%d requests still pending after done", len(w.pending))
	}
}
