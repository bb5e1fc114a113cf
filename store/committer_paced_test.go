package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// BenchmarkCommitterPaced offers journal entries to a committer on SQLite
// at a fixed rate, open loop, as a stage event's answers arrive: 7,500 a
// second is 15,000 contestants answering within two seconds. Unlike
// BenchmarkCommitter (closed loop, batches of hundreds) the batch size here
// is set by the linger, as on a live node, so cpu-ns/op shows what the
// commits cost per answer and ack-p50-µs / ack-p99-µs what the linger adds
// to an answer's wait for durability. Run it with -benchtime 15000x.
// BenchmarkCommitterPacedSlow offers 1,000 a second, roughly what 2,000 duels
// answer: run it with -benchtime 5000x.
func BenchmarkCommitterPaced(b *testing.B) { benchLingers(b, 7500) }

func BenchmarkCommitterPacedSlow(b *testing.B) { benchLingers(b, 1000) }

func benchLingers(b *testing.B, rate int) {
	for _, linger := range []time.Duration{2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
		b.Run("linger="+linger.String(), func(b *testing.B) { benchPaced(b, linger, rate) })
	}
}

func benchPaced(b *testing.B, linger time.Duration, rate int) {
	s := openSQLite(b)
	ctx := context.Background()
	if err := s.CreateRoom(ctx, store.Room{ID: "r", Kind: "stage", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	counting := &countingStore{Store: s}
	c := store.NewCommitter(counting, store.CommitterOptions{Linger: linger})
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx) }()
	defer func() { cancel(); <-ran }()

	data := json.RawMessage(stageAnswer)
	lat := make([]time.Duration, b.N) // written by the committer goroutine only
	var wg sync.WaitGroup
	wg.Add(b.N)
	b.ResetTimer()
	cpu := processCPU()
	start := time.Now()
	for i := range b.N {
		// Entry i is due at start + i/rate; sleep only when ahead.
		due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if d := time.Until(due); d > 200*time.Microsecond {
			time.Sleep(d)
		}
		sent := time.Now()
		c.Submit(store.JournalEntry{Room: "r", Seq: int64(i), Kind: "answer", At: sent, Data: data},
			func(err error) {
				if err != nil {
					b.Error(err)
				}
				lat[i] = time.Since(sent)
				wg.Done()
			})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/float64(max(1, counting.calls.Load())), "entries/batch")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "ack-p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "ack-p99-µs")
}
