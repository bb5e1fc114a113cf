package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 39, 1<<40 - 1} {
		i := bucketOf(v)
		if hi := bucketHigh(i); hi < v {
			t.Errorf("value %d in bucket %d whose top is %d", v, i, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Errorf("value %d: the bucket below (%d) reaches %d", v, i-1, bucketHigh(i-1))
		}
	}
}

func TestQuantilesWithinBucketError(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]int64, 20000)
	for i := range samples {
		samples[i] = int64(rng.ExpFloat64() * 2000) // µs, mean 2 ms
		h.Record(time.Duration(samples[i]) * time.Microsecond)
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		want := samples[int(q*float64(len(samples)))-1]
		got := h.Quantile(q).Microseconds()
		if got < want || float64(got-want) > float64(want)/64+1 {
			t.Errorf("q%.2f = %d µs, want %d within 1/64", q, got, want)
		}
	}
	if h.Max().Microseconds() != samples[len(samples)-1] || h.Count() != int64(len(samples)) {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
}
