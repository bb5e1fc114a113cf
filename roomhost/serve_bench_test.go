package roomhost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/roomtest"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
)

// answerBatchRoom opens an event room on h with players joined from node
// n2 (and one more who never answers, so that the question stays open)
// and its first question open for an hour, and returns the room and one
// Bus message of RequestBatch carrying an answer from each player.
func answerBatchRoom(tb testing.TB, h *Host, id string, players int) (*room.Room, []byte) {
	tb.Helper()
	ctx := context.Background()
	drawn, err := h.Draw(nil, "", "", "zh", 0, 30)
	if err != nil {
		tb.Fatal(err)
	}
	// Questions answered by a choice, as the answers below are.
	qs := slices.DeleteFunc(drawn, func(q questionbank.Question) bool { return q.Type == questionbank.Text })
	if len(qs) < 3 {
		tb.Fatalf("%d questions answered by a choice in the sample", len(qs))
	}
	qs = qs[:3]
	r, err := h.OpenRoom(ctx, room.Config{ID: id, Kind: room.KindEvent, Questions: qs, LateJoin: true,
		Countdown: time.Millisecond, TimeLimit: time.Hour}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var b RequestBatch
	for i := range players + 1 {
		who := fmt.Sprint("p", i)
		join := &Command{Op: OpJoin, Room: id, Who: who, Name: who, Node: "n2"}
		p := h.cl.remote.peer(ctx, "n2", who)
		p.connected.Store(true)
		if _, err := h.Exec(ctx, join, p); err != nil {
			tb.Fatal(err)
		}
		if i == players {
			break // the one who never answers
		}
		b.Reqs = append(b.Reqs, Request{ID: uint64(i + 1), Cmd: Command{Op: OpAnswer, Room: id, Who: who, Node: "n2",
			Index: 0, Choice: []string{qs[0].Answer[0]}, Elapsed: 1500 * time.Millisecond, Timed: true}})
	}
	if _, err := h.Exec(ctx, &Command{Op: OpControl, Room: id, Action: "start"}, nil); err != nil {
		tb.Fatal(err)
	}
	roomtest.WaitPhase(tb, r, room.PhaseQuestion)
	msg, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return r, msg
}

// countReplies counts the replies the owner sends node n2 (by their ids,
// without decoding them: the benchmark measures the owner).
func countReplies(tb testing.TB, h *Host) *atomic.Int64 {
	tb.Helper()
	var n atomic.Int64
	cancel, err := h.Bus().Subscribe(context.Background(), ReplyChannel("n2"), func(msg []byte) {
		n.Add(int64(bytes.Count(msg, []byte(`{"id":`))))
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cancel)
	return &n
}

// BenchmarkOwnerAnswerBatch is the owner's side of one Bus message of 500
// answers for one room from another node: decoding it, handing the
// answers to the room, the room taking them (after the first round, as
// duplicates, acked again) and the replies going back. One op is one
// message, served until all its replies are out.
func BenchmarkOwnerAnswerBatch(b *testing.B) {
	const players = 500
	h, _, _ := clusterHost(b, time.Hour)
	_, msg := answerBatchRoom(b, h, "r-bench", players)
	replies := countReplies(b, h)
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.cl.remote.serve(ctx, msg)
		want := int64((i + 1) * players)
		for replies.Load() < want {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*players), "ns/answer")
}

// TestOwnerTakesGatheredAnswersInOrder: the answers one message from
// another node carries for a room are taken by the room in the order they
// were sent (one inbox item, not a goroutine each), so their replies go
// back in that order; each is taken once.
func TestOwnerTakesGatheredAnswersInOrder(t *testing.T) {
	const players = 300
	h, _, _ := clusterHost(t, time.Hour)
	r, msg := answerBatchRoom(t, h, "r-order", players)
	var mu sync.Mutex
	var ids []uint64
	var refused error
	cancel, err := h.Bus().Subscribe(context.Background(), ReplyChannel("n2"), func(m []byte) {
		var b ReplyBatch
		if err := json.Unmarshal(m, &b); err != nil {
			t.Errorf("a reply message is not a batch: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rep := range b.Replies {
			if rep.Reply.Err != nil && refused == nil {
				refused = fmt.Errorf("answer %d refused: %v", rep.ID, rep.Reply.Err)
			}
			ids = append(ids, rep.ID)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	h.cl.remote.serve(context.Background(), msg)
	waitFor(t, "every answer's reply", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ids) >= players
	})
	mu.Lock()
	defer mu.Unlock()
	if refused != nil {
		t.Fatal(refused)
	}
	for i, id := range ids {
		if id != uint64(i+1) {
			t.Fatalf("reply %d is to answer %d: the answers were taken out of order", i+1, id)
		}
	}
	if len(ids) != players {
		t.Fatalf("%d replies to %d answers", len(ids), players)
	}
	snap, err := r.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Phase != room.PhaseQuestion {
		t.Fatalf("the room is in %s", snap.Phase)
	}
}
