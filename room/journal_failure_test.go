package room

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// failJournal is a memJournal that fails entries on demand.
type failJournal struct {
	memJournal
	fail bool // read and written on the room goroutine only (done runs there)
}

func (j *failJournal) Submit(e store.JournalEntry, done func(error)) {
	if j.fail {
		if done != nil {
			done(errors.New("disk full (test)"))
		}
		return
	}
	j.memJournal.Submit(e, done)
}

// A failed answer write stops the room; the failed answer is not in what
// a restore folds, the player may answer again, and a journal with a gap
// (entries written after the failed one) restores up to the gap, bridges
// it with a rewind entry after the highest seq, and restores again with
// everything after the rewind.
func TestJournalFailureAndGapRestore(t *testing.T) {
	clk := newRig(t, Config{ID: "x", Kind: KindEvent}).clk
	cfg := Config{ID: "r9", Kind: KindEvent, TimeLimit: 10 * time.Second, Questions: testQuestions()}
	j := &failJournal{}
	failed := make(chan *Room, 1)
	r, err := New(cfg, Options{Clock: clk, Journal: j, OnJournalFailure: func(r *Room) { failed <- r }})
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, r: r, clk: clk, j: &j.memJournal, peers: map[string]*peer{}}
	g.run()
	g.join("a")
	g.join("b")
	g.join("c")
	g.toFirstQuestion()
	if err := g.answer("a", 0, []string{"B"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.r.do(context.Background(), func() error { j.fail = true; return nil }); err != nil {
		t.Fatal(err)
	}
	pb := g.peers["b"]
	if err := g.answer("b", 0, []string{"B"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-failed; got != g.r {
		t.Fatal("OnJournalFailure was not called with the room")
	}
	if pb.count("error") != 1 || pb.count("answer.ack") != 0 {
		t.Fatalf("b whose write failed got %d errors, %d acks", pb.count("error"), pb.count("answer.ack"))
	}
	if err := g.answer("c", 0, []string{"B"}, nil); err == nil {
		t.Fatal("a stopped room took an answer")
	}

	// What the disk could hold: entries after the failed one, written by
	// the room before it learned of the failure. Forge c's answer there.
	durable := g.j.all()
	last := durable[len(durable)-1].Seq
	orphan := store.JournalEntry{Room: cfg.ID, Seq: last + 2, Kind: kindAnswer, At: clk.Now(), Data: []byte(`{"player":"c","index":0,"choice":["B"],"elapsed":5}`)}
	disk := append(append([]store.JournalEntry(nil), durable...), orphan)

	j2 := &memJournal{}
	r2, err := Restore(cfg, Options{Clock: clk, Journal: j2}, disk)
	if err != nil {
		t.Fatalf("restore over a gap: %v", err)
	}
	r2.Adopt(g.r)
	g2 := &rig{t: t, r: r2, clk: clk, j: j2, peers: g.peers}
	g2.run()
	waitPhase(t, g2, PhaseQuestion)
	first := j2.all()[0]
	if first.Kind != kindRewind || first.Seq != orphan.Seq+1 {
		t.Fatalf("first entry after the restore: %+v, want a rewind at seq %d", first, orphan.Seq+1)
	}
	// a's acked answer stands; b's and the orphan c's do not.
	if err := g2.answer("b", 0, []string{"B"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := pb.count("answer.ack"); n != 1 {
		t.Fatalf("b's new answer: %d acks", n)
	}
	if err := g2.answer("c", 0, []string{"A"}, nil); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, g2, PhaseReveal)
	s := g2.snap()
	if s.Scores["a"] == 0 || s.Scores["b"] == 0 || s.Scores["c"] != 0 {
		t.Fatalf("scores after the restore: %v (c answered wrong after the rewind)", s.Scores)
	}
	g2.stop()

	// A later restart folds the prefix, skips the orphan, and goes on after
	// the rewind.
	r3, err := Restore(cfg, Options{Clock: clk, Journal: &memJournal{}}, append(disk, j2.all()...))
	if err != nil {
		t.Fatal(err)
	}
	if r3.rewindAfter != -1 {
		t.Fatal("a bridged gap asks for another rewind")
	}
	for id, want := range map[string]bool{"a": true, "b": true, "c": false} {
		a, ok := r3.st.players[id].answers[0]
		if ok != true || a.correct != want {
			t.Fatalf("%s after the restart: %+v, want an answer, correct %v", id, a, want)
		}
	}
	rep, err := BuildReport(cfg, append(disk, j2.all()...))
	if err != nil || len(rep.Answers) != 3 {
		t.Fatalf("report over the rewind: %+v, %v", rep, err)
	}
}
