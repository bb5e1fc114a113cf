package stage

import "testing"

// TestCPUPerAnswer: the answering span's server CPU less the question's own
// fan-out, over the answers written; unknown where the span's CPU or the
// fan-out's is.
func TestCPUPerAnswer(t *testing.T) {
	spans := []window{
		{Seconds: 2, ServerCores: 0.5},
		{Seconds: 2.5, ServerCores: 0.8},
		{Seconds: 2, ServerCores: -1},
		{Seconds: 2, ServerCores: 0.6},
	}
	casts := []Broadcast{
		{Kind: kindQuestion, Index: 1, CPUms: 500, Measured: true},
		{Kind: kindReveal, Index: 1, CPUms: 900, Measured: true},
		{Kind: kindQuestion, Index: 2, CPUms: 100, Measured: true},
		{Kind: kindQuestion, Index: 3, CPUms: -1000, Measured: true},
	}
	reports := []*workerReport{
		{AnswerAt: [][]int64{{1, 1}, {5, 0, 7}, {1, 1}, {1, 1}}},
		{AnswerAt: [][]int64{{1}, {9}}},
	}
	got := cpuPerAnswer(spans, casts, reports)
	// Question 1: 0.8 cores × 2.5 s = 2 s, less 0.5 s of fan-out, over the
	// 3 answers written.
	want := []float64{-1, 1.5 / 3 * 1e6, -1, -1}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("question %d: got %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}
