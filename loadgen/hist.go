package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets: values (in microseconds) below 2^subBits are exact;
// above, each power of two is split into 2^subBits linear buckets, so a
// quantile read back is within 1/64 (1.6 %) of the true sample. Values up
// to 2^maxExp µs (about 12.7 days) fit.
const (
	subBits = 6
	subN    = 1 << subBits
	maxExp  = 40
	nBucket = subN + (maxExp-subBits)*subN
)

// Histogram records durations in log-linear buckets, HDR-style. Record is
// lock-free and safe from many goroutines; the zero value is ready to use.
type Histogram struct {
	counts [nBucket]atomic.Int64
	n      atomic.Int64
	sum    atomic.Int64 // µs
	max    atomic.Int64 // µs
}

// bucketOf returns the bucket index of v µs.
func bucketOf(v int64) int {
	if v < subN {
		return int(max(v, 0))
	}
	msb := bits.Len64(uint64(v)) - 1 // >= subBits
	if msb >= maxExp {
		return nBucket - 1
	}
	shift := msb - subBits
	sub := int(v>>shift) & (subN - 1)
	return subN + (msb-subBits)*subN + sub
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < subN {
		return int64(i)
	}
	j := i - subN
	msb := j/subN + subBits
	sub := int64(j % subN)
	shift := msb - subBits
	low := (int64(1)<<msb | sub<<shift)
	return low + (int64(1) << shift) - 1
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	v := d.Microseconds()
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count returns the number of samples.
func (h *Histogram) Count() int64 { return h.n.Load() }

// Max returns the largest sample, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Mean returns the mean sample.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load()/n) * time.Microsecond
}

// Quantile returns the sample at quantile q (0 < q <= 1): the upper edge of
// the bucket holding it, never more than the largest sample.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := min(bucketHigh(i), h.max.Load())
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}
