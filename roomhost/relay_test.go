package roomhost

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
)

// gateBus is a Bus whose Publish holds the first message until the gate
// opens, and records every message published.
type gateBus struct {
	cluster.Bus
	gate chan struct{}
	once sync.Once
	mu   sync.Mutex
	msgs [][]byte
}

func (b *gateBus) Publish(ctx context.Context, channel string, msg []byte) error {
	b.once.Do(func() { <-b.gate })
	b.mu.Lock()
	b.msgs = append(b.msgs, append([]byte(nil), msg...))
	b.mu.Unlock()
	return nil
}

func (b *gateBus) published() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.msgs...)
}

// TestRelayGathersBacklog: while the Bus is slow, Relay calls queue up; the
// relay then sends them in a few messages, every item once and in order,
// rather than one message per call.
func TestRelayGathersBacklog(t *testing.T) {
	bus := &gateBus{gate: make(chan struct{})}
	n := &nodeRelay{node: "n2", out: make(chan []room.RelayItem, relayQueue), r: &remote{bus: bus}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.run(ctx)

	const calls = 3000
	for i := 0; i < calls; i++ {
		n.Relay([]room.RelayItem{{IDs: []string{fmt.Sprint("p", i)}, Frame: protocol.NewFrame([]byte(fmt.Sprintf(`{"i":%d}`, i)))}})
	}
	close(bus.gate)

	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < calls && time.Now().Before(deadline) {
		got = got[:0]
		for _, m := range bus.published() {
			var b FrameBatch
			if err := json.Unmarshal(m, &b); err != nil {
				t.Fatalf("a relayed message is not a frame batch: %v", err)
			}
			for _, it := range b.Items {
				got = append(got, it.IDs[0])
			}
		}
		time.Sleep(10 * time.Millisecond) // waitFor-style poll of a real goroutine
	}
	if len(got) != calls {
		t.Fatalf("relayed %d items of %d", len(got), calls)
	}
	for i, id := range got {
		if id != fmt.Sprint("p", i) {
			t.Fatalf("item %d is %s: out of order", i, id)
		}
	}
	msgs := len(bus.published())
	if want := 2 + calls/relayBatchMax; msgs > want {
		t.Fatalf("%d items queued behind a slow Bus went out in %d messages, want at most %d", calls, msgs, want)
	}
}
