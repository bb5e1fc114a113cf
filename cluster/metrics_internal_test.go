package cluster

import (
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestChannelClass(t *testing.T) {
	for in, want := range map[string]string{
		"room:4f2a": "room", "player:abc:def": "player", "match": "match", "pin_dir": "pin_dir",
		"": "other", ":x": "other", "Room:1": "other", "a b:1": "other", "abcdefghijklmnopqrstuvwxyz:1": "other",
	} {
		if got := ChannelClass(in); got != want {
			t.Errorf("ChannelClass(%q) = %q, want %q", in, got, want)
		}
	}
}

func counterValue(t *testing.T, m *Metrics, dir, class string) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Messages.WithLabelValues(dir, class).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.Counter.GetValue()
}

func TestMessagesAreCountedByClassWithinABound(t *testing.T) {
	m := NewMetrics("n1")
	m.publishedOn("room:1", time.Millisecond)
	m.publishedOn("room:2", time.Millisecond)
	m.receivedOn("room:1")
	m.receivedOn("player:9")
	if p, r, pl := counterValue(t, m, "published", "room"), counterValue(t, m, "received", "room"), counterValue(t, m, "received", "player"); p != 2 || r != 1 || pl != 1 {
		t.Fatalf("room published %v, received %v; player received %v", p, r, pl)
	}
	var d dto.Metric
	_ = m.Published.Write(&d)
	if d.Counter.GetValue() != 2 {
		t.Fatalf("published total %v", d.Counter.GetValue())
	}
	for i := 0; i < 2*maxClasses; i++ {
		m.receivedOn("c" + strconv.Itoa(i) + ":x")
	}
	if n := len(m.classes); n != maxClasses {
		t.Fatalf("%d classes kept, want at most %d", n, maxClasses)
	}
	if v := counterValue(t, m, "received", "other"); v != maxClasses+2 {
		t.Fatalf("other = %v, want %d", v, maxClasses+2)
	}
	var nilM *Metrics
	nilM.publishedOn("room:1", time.Millisecond) // records nothing, does not panic
	nilM.receivedOn("room:1")
}
