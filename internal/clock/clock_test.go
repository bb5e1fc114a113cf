package clock

import (
	"testing"
	"time"
)

func TestFakeTimersFireInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	f := NewFake(start)
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(1 * time.Second)
	tk := f.NewTicker(500 * time.Millisecond)
	f.Advance(1500 * time.Millisecond)
	select {
	case at := <-b.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Fatalf("b fired at %v", at)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	if _, ok := <-tk.C(); !ok {
		t.Fatal("ticker closed")
	}
	if a.Stop() != true {
		t.Fatal("stop of a pending timer should report true")
	}
	f.Advance(time.Hour)
	select {
	case <-a.C():
		t.Fatal("stopped timer fired")
	default:
	}
	tk.Stop()
	if n := f.Timers(); n != 0 {
		t.Fatalf("%d timers left", n)
	}
	if got := f.Now(); !got.Equal(start.Add(time.Hour + 1500*time.Millisecond)) {
		t.Fatalf("now = %v", got)
	}
}

func TestFakeReset(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tm := f.NewTimer(time.Second)
	tm.Reset(3 * time.Second)
	f.Advance(2 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired before reset deadline")
	default:
	}
	f.Advance(time.Second)
	select {
	case <-tm.C():
	default:
		t.Fatal("did not fire at reset deadline")
	}
}

func TestFakeTimersDue(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	f.NewTimer(200 * time.Millisecond)
	f.NewTicker(time.Second)
	f.NewTimer(5 * time.Second)
	f.NewTimer(15 * time.Second)
	if n := f.TimersDue(time.Second, 9*time.Second); n != 1 {
		t.Fatalf("due in (1 s, 9 s]: %d, want the 5 s timer alone", n)
	}
	if n := f.TimersDue(0, time.Second); n != 2 {
		t.Fatalf("due in (0, 1 s]: %d, want the 200 ms timer and the ticker", n)
	}
	f.Advance(4 * time.Second) // the 5 s timer is 1 s away now, at the bound
	if n := f.TimersDue(time.Second, 9*time.Second); n != 0 {
		t.Fatalf("due in (1 s, 9 s] after 4 s: %d, want none", n)
	}
}
