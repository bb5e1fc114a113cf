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
	"github.com/rs/zerolog"
)

// gateBus is a Bus whose Publish holds the first message until the gate
// opens, and records every message published.
type gateBus struct {
	cluster.Bus
	gate chan struct{}
	once sync.Once
	mu   sync.Mutex
	msgs [][]byte
	chs  []string
}

func (b *gateBus) Publish(ctx context.Context, channel string, msg []byte) error {
	b.once.Do(func() { <-b.gate })
	b.mu.Lock()
	b.msgs = append(b.msgs, append([]byte(nil), msg...))
	b.chs = append(b.chs, channel)
	b.mu.Unlock()
	return nil
}

func (b *gateBus) published() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.msgs...)
}

// on returns the messages published on channel.
func (b *gateBus) on(channel string) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]byte
	for i, c := range b.chs {
		if c == channel {
			out = append(out, b.msgs[i])
		}
	}
	return out
}

// testRelay starts the relay to node n2 of a remote on bus.
func testRelay(t *testing.T, bus cluster.Bus) *nodeRelay {
	t.Helper()
	r := &remote{bus: bus, host: &Host{log: zerolog.Nop()}, relays: map[string]*nodeRelay{}, peers: map[peerKey]*remotePeer{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.relayLocked(ctx, "n2")
}

// relayedIDs decodes the frame batches published and lists their ids in
// order, failing if one is bigger than the budget allows.
func relayedIDs(t *testing.T, msgs [][]byte) []string {
	t.Helper()
	var got []string
	for _, m := range msgs {
		var b FrameBatch
		if err := json.Unmarshal(m, &b); err != nil {
			t.Fatalf("a relayed message is not a frame batch: %v", err)
		}
		for _, it := range b.Items {
			got = append(got, it.IDs...)
		}
	}
	return got
}

// waitFor polls cond (real goroutines) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRelayGathersBacklog: while the Bus is slow, Relay calls queue up; the
// relay then sends them in a few messages, every item once and in order,
// rather than one message per call.
func TestRelayGathersBacklog(t *testing.T) {
	bus := &gateBus{gate: make(chan struct{})}
	n := testRelay(t, bus)

	const calls = 3000
	for i := 0; i < calls; i++ {
		n.Relay([]room.RelayItem{{IDs: []string{fmt.Sprint("p", i)}, Frame: protocol.NewFrame([]byte(fmt.Sprintf(`{"i":%d}`, i)))}})
	}
	close(bus.gate)

	var got []string
	waitFor(t, "every item relayed", func() bool {
		got = relayedIDs(t, bus.published())
		return len(got) >= calls
	})
	if len(got) != calls {
		t.Fatalf("relayed %d items of %d", len(got), calls)
	}
	for i, id := range got {
		if id != fmt.Sprint("p", i) {
			t.Fatalf("item %d is %s: out of order", i, id)
		}
	}
	// The first call's message waits at the gate; everything behind it
	// goes in the next (3,000 small items are well under busBudget).
	msgs := len(bus.published())
	if want := 2; msgs > want {
		t.Fatalf("%d items queued behind a slow Bus went out in %d messages, want at most %d", calls, msgs, want)
	}
}

// TestRelayNeverDrops: a burst of acks far beyond what the relay once
// queued (4,096 calls, dropped beyond that) behind a stalled Bus all reach
// the other node, once each and in order.
func TestRelayNeverDrops(t *testing.T) {
	bus := &gateBus{gate: make(chan struct{})}
	n := testRelay(t, bus)
	const calls = 20000
	ack := protocol.NewFrame([]byte(`{"type":"answer.ack","id":"a","data":{}}`))
	for i := 0; i < calls; i++ {
		n.Relay([]room.RelayItem{{IDs: []string{fmt.Sprint("p", i)}, Frame: ack}})
	}
	close(bus.gate)
	var got []string
	waitFor(t, "every ack relayed", func() bool {
		got = relayedIDs(t, bus.published())
		return len(got) >= calls
	})
	if len(got) != calls {
		t.Fatalf("relayed %d acks of %d", len(got), calls)
	}
	for i, id := range got {
		if id != fmt.Sprint("p", i) {
			t.Fatalf("ack %d went to %s: lost or out of order", i, id)
		}
	}
	for _, m := range bus.published() {
		if len(m) > busBudget {
			t.Fatalf("a message of %d bytes, over the budget of %d", len(m), busBudget)
		}
	}
}

// finishedFrames makes what room.finished is to n players: a big shared
// prefix (the top 50 standings) and suffix around each player's own part,
// the same slices for all, as room.sayFinished builds them.
func finishedFrames(n int) (ids []string, frames []*protocol.Frame) {
	var top []protocol.Standing
	for i := 0; i < 50; i++ {
		top = append(top, protocol.Standing{Rank: i + 1, ID: fmt.Sprintf("%036d", i), Name: fmt.Sprint("contestant-", i), Score: 5000, Delta: 1000, PrevRank: 3, TimeMS: 1234, Streak: 5})
	}
	whole := protocol.Encode("room.finished", "", protocol.Finished{Room: "r1", Standings: top, Players: 30000})
	prefix := append(whole[:len(whole)-2:len(whole)-2], `,"you":`...)
	suffix := []byte("}}")
	for i := 0; i < n; i++ {
		ids = append(ids, fmt.Sprint("p", i))
		frames = append(frames, &protocol.Frame{Parts: [][]byte{prefix, []byte(fmt.Sprintf(`{"rank":%d,"score":1000,"points_awarded":0}`, i+1)), suffix}})
	}
	return ids, frames
}

// TestRelayFinishedToManyPlayers: room.finished to 10,000 players of one
// other node used to be one Bus message of the whole frame per player, some
// 70 MB, which Redis's default pub/sub output limit (32 MiB) cuts off: the
// subscriber is disconnected and every one of them misses the end. It now
// carries the shared part once, in messages within busBudget, and every
// player's frame decodes to exactly what the room made for it.
func TestRelayFinishedToManyPlayers(t *testing.T) {
	const players = 10000
	ids, frames := finishedFrames(players)
	bus := &gateBus{gate: make(chan struct{})}
	close(bus.gate)
	n := testRelay(t, bus)
	n.Relay([]room.RelayItem{{Room: "r1", IDs: ids, Frames: frames}})
	var got []string
	waitFor(t, "room.finished relayed to every player", func() bool {
		got = relayedIDs(t, bus.published())
		return len(got) >= players
	})
	total := 0
	i := 0
	for _, m := range bus.published() {
		total += len(m)
		if len(m) > busBudget {
			t.Fatalf("a message of %d bytes, over the budget of %d", len(m), busBudget)
		}
		var b FrameBatch
		if err := json.Unmarshal(m, &b); err != nil {
			t.Fatal(err)
		}
		for _, it := range b.Items {
			_, personal := it.Decode()
			for k, id := range it.IDs {
				if id != ids[i] {
					t.Fatalf("player %d is %s, want %s", i, id, ids[i])
				}
				if f := personal(k); f == nil || string(f.Bytes()) != string(frames[i].Bytes()) {
					t.Fatalf("player %d's room.finished differs from the room's", i)
				}
				i++
			}
		}
	}
	if i != players {
		t.Fatalf("%d of %d players got room.finished", i, players)
	}
	if limit := 4 << 20; total > limit {
		t.Fatalf("room.finished for %d players took %d bytes on the Bus, want under %d: the shared part should go once", players, total, limit)
	}
}

// TestRelaySplitsASharedItem: one frame for more players than fit in a
// message is cut by ids, and each id gets it once.
func TestRelaySplitsASharedItem(t *testing.T) {
	var ids []string
	for i := 0; i < 40000; i++ {
		ids = append(ids, fmt.Sprintf("%036d", i))
	}
	msgs := encodeFrames([]room.RelayItem{{Room: "r", IDs: ids, Frame: protocol.NewShared([]byte(`{"type":"question"}`))}}, busBudget)
	if len(msgs) < 2 {
		t.Fatalf("%d ids of 36 bytes in %d message(s): want them split by the budget", len(ids), len(msgs))
	}
	got := relayedIDs(t, msgs)
	if len(got) != len(ids) {
		t.Fatalf("%d ids relayed, want %d", len(got), len(ids))
	}
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("id %d is %s, want %s", i, got[i], ids[i])
		}
	}
	for _, m := range msgs {
		if len(m) > busBudget {
			t.Fatalf("a message of %d bytes, over the budget of %d", len(m), busBudget)
		}
	}
}

// TestRequesterGathersPerOwner: 500 answers sent at once from one node to
// rooms of one owner, while the Bus is slow, go out in a couple of
// messages, each request once, in order, with this node as sender.
func TestRequesterGathersPerOwner(t *testing.T) {
	bus := &gateBus{gate: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewRequester(ctx, bus, "edge", func([]Request) { t.Error("a request failed") }, nil)
	const answers = 500
	var wg sync.WaitGroup
	for i := 0; i < answers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Send("owner", Request{ID: uint64(i + 1), Cmd: Command{Op: OpAnswer, Room: "r1", Who: fmt.Sprint("p", i)}})
		}()
	}
	wg.Wait()
	close(bus.gate)
	var seen map[uint64]bool
	waitFor(t, "every request published", func() bool {
		seen = map[uint64]bool{}
		for _, m := range bus.on(RequestChannel("owner")) {
			var b RequestBatch
			if err := json.Unmarshal(m, &b); err != nil {
				t.Fatalf("a request message is not a batch: %v", err)
			}
			for _, r := range b.Reqs {
				if seen[r.ID] || r.Cmd.Node != "edge" {
					t.Fatalf("request %d twice, or without its sender (%q)", r.ID, r.Cmd.Node)
				}
				seen[r.ID] = true
			}
		}
		return len(seen) >= answers
	})
	if msgs := len(bus.on(RequestChannel("owner"))); msgs > 2 {
		t.Fatalf("%d concurrent answers to one owner took %d Bus messages, want at most 2 (one held at the gate, the rest gathered)", answers, msgs)
	}
}

// failBus fails every publish.
type failBus struct{ cluster.Bus }

func (failBus) Publish(context.Context, string, []byte) error { return cluster.ErrUnavailable }

// TestRequesterFailsWhatItCannotSend: a message that cannot be published
// fails exactly its requests, so their senders answer unavailable at once.
func TestRequesterFailsWhatItCannotSend(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failed := make(chan uint64, 10)
	s := NewRequester(ctx, failBus{}, "edge", func(reqs []Request) {
		for _, r := range reqs {
			failed <- r.ID
		}
	}, nil)
	s.Send("owner", Request{ID: 7, Cmd: Command{Op: OpAnswer, Room: "r1", Who: "p"}})
	select {
	case id := <-failed:
		if id != 7 {
			t.Fatalf("failed request %d, want 7", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an unpublishable request was never failed")
	}
}

// TestRepliesGatheredPerNode: the replies to many commands from one node
// go back in a few messages, not one each.
func TestRepliesGatheredPerNode(t *testing.T) {
	bus := &gateBus{gate: make(chan struct{})}
	n := testRelay(t, bus)
	const replies = 500
	for i := 0; i < replies; i++ {
		n.r.reply(context.Background(), "n2", uint64(i+1), Reply{})
	}
	close(bus.gate)
	var got int
	waitFor(t, "every reply published", func() bool {
		got = 0
		for _, m := range bus.on(ReplyChannel("n2")) {
			var b ReplyBatch
			if err := json.Unmarshal(m, &b); err != nil {
				t.Fatalf("a reply message is not a batch: %v", err)
			}
			for _, r := range b.Replies {
				got++
				if r.ID != uint64(got) {
					t.Fatalf("reply %d has id %d: out of order", got, r.ID)
				}
			}
		}
		return got >= replies
	})
	if msgs := len(bus.on(ReplyChannel("n2"))); msgs > 2 {
		t.Fatalf("%d replies took %d Bus messages, want at most 2", replies, msgs)
	}
}
