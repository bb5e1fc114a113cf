package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// waitQueued polls until the gate has journal and ordinary writes waiting.
func waitQueued(t *testing.T, g *writeGate, journal, ordinary int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		j, o := g.queued()
		if j == journal && o == ordinary {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %d journal and %d ordinary writes queued; %d and %d are", journal, ordinary, j, o)
		}
	}
}

// TestWriteGateJournalFirst holds the gate's one slot, queues ordinary
// writes, a journal write and another ordinary write, then lets go: the
// journal write is admitted first, the others in the order they came.
func TestWriteGateJournalFirst(t *testing.T) {
	g := newWriteGate(1)
	ctx := t.Context()
	if err := g.enter(ctx, laneOrdinary); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	write := func(name string, l lane) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.enter(ctx, l); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.leave()
		}()
	}
	write("a", laneOrdinary)
	waitQueued(t, g, 0, 1)
	write("b", laneOrdinary)
	waitQueued(t, g, 0, 2)
	write("journal", laneJournal)
	waitQueued(t, g, 1, 2)
	write("c", laneOrdinary)
	waitQueued(t, g, 1, 3)
	g.leave()
	wg.Wait()
	if want := []string{"journal", "a", "b", "c"}; !slices.Equal(order, want) {
		t.Fatalf("admitted %v, want %v", order, want)
	}
	if g.free != 1 {
		t.Fatalf("%d slots free after everyone left, want 1", g.free)
	}
}

// TestWriteGateJournalWaitsForAdmitted checks that the journal's lane goes
// ahead of the queue, not of the writes already admitted: with two slots
// held, a journal write waits until one of them is left.
func TestWriteGateJournalWaitsForAdmitted(t *testing.T) {
	g := newWriteGate(2)
	ctx := t.Context()
	for range 2 {
		if err := g.enter(ctx, laneOrdinary); err != nil {
			t.Fatal(err)
		}
	}
	admitted := make(chan error, 1)
	go func() { admitted <- g.enter(ctx, laneJournal) }()
	waitQueued(t, g, 1, 0)
	select {
	case err := <-admitted:
		t.Fatalf("journal write admitted (%v) while both slots were held", err)
	default:
	}
	g.leave()
	if err := <-admitted; err != nil {
		t.Fatal(err)
	}
	g.leave()
	g.leave()
	if g.free != 2 {
		t.Fatalf("%d slots free after everyone left, want 2", g.free)
	}
}

// TestWriteGateGiveUp checks that a write that gives up while queued
// leaves the queue and takes no slot: the next write in line gets it.
func TestWriteGateGiveUp(t *testing.T) {
	g := newWriteGate(1)
	if err := g.enter(t.Context(), laneOrdinary); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- g.enter(ctx, laneJournal) }()
	waitQueued(t, g, 1, 0)
	next := make(chan error, 1)
	go func() { next <- g.enter(t.Context(), laneOrdinary) }()
	waitQueued(t, g, 1, 1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the write that gave up: %v, want context.Canceled", err)
	}
	waitQueued(t, g, 0, 1)
	g.leave()
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	g.leave()
	if g.free != 1 {
		t.Fatalf("%d slots free after everyone left, want 1", g.free)
	}
}
