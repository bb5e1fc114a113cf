package room

import (
	"strconv"
	"testing"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
)

// A room that ends on a miss finishes after the first question its player
// answers wrong, with the run's length as its score, and not before.
func TestEndOnMissFinishesAtFirstWrongAnswer(t *testing.T) {
	qs := make([]questionbank.Question, 10)
	for i := range qs {
		qs[i] = testQuestions()[0]
		qs[i].ID = "q" + strconv.Itoa(i)
	}
	g := newRig(t, Config{ID: "c1", Kind: KindChallenge, Questions: qs, Scoring: Accuracy, AutoStart: true, EndOnMiss: true})
	pa := &peer{}
	g.peers["a"] = pa
	g.r.Seat([]protocol.PlayerInfo{{ID: "a", Name: "a"}}, []Peer{pa})
	g.run()
	waitPhase(t, g, PhaseCountdown)
	for i := 0; i < 4; i++ {
		g.clk.Advance(4 * time.Second) // countdown, then each reveal
		waitPhase(t, g, PhaseQuestion)
		choice := "B"
		if i == 3 {
			choice = "A"
		}
		if err := g.answer("a", i, []string{choice}, nil); err != nil {
			t.Fatal(err)
		}
		waitPhase(t, g, PhaseReveal)
		if i < 3 && g.snap().Phase == PhaseFinished {
			t.Fatalf("finished after %d right answers", i+1)
		}
	}
	res, done := func() (*Result, bool) {
		// Rebuilt from the journal, the room is finished with a run of 3.
		r, err := Restore(g.r.Config(), Options{Clock: g.clk, Journal: &memJournal{}}, g.j.all())
		if err != nil {
			t.Fatal(err)
		}
		return r.FinishedResult()
	}()
	if done {
		t.Fatalf("finished before the reveal's time was up: %+v", res)
	}
	g.clk.Advance(4 * time.Second)
	waitPhase(t, g, PhaseFinished)
	if pa.count("question") != 4 || pa.count("room.finished") != 1 {
		t.Fatalf("a saw %d questions, %d finishes", pa.count("question"), pa.count("room.finished"))
	}
	r, err := Restore(g.r.Config(), Options{Clock: g.clk, Journal: &memJournal{}}, g.j.all())
	if err != nil {
		t.Fatal(err)
	}
	res, done = r.FinishedResult()
	if !done || len(res.Standings) != 1 || res.Standings[0].Score != 3 {
		t.Fatalf("restored result %+v, %v; want finished with a run of 3", res, done)
	}
}
