package stage

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// machineTicks reads the whole machine's CPU time from /proc/stat, in clock
// ticks: busy (everything but idle and iowait) and total. Zeros when it
// cannot be read.
func machineTicks() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// mark is a moment's reading of the clock, the server's CPU and the
// machine's.
type mark struct {
	at          time.Time
	server      float64 // seconds; -1 unknown
	redis       float64 // seconds; -1 unknown
	busy, total uint64
}

func (s *sampler) mark() mark {
	_, cpu := s.sample()
	busy, total := machineTicks()
	return mark{at: time.Now(), server: cpu, redis: s.redisCPU(), busy: busy, total: total}
}

// redisCPU reads Redis's CPU seconds, or -1.
func (s *sampler) redisCPU() float64 {
	if s == nil || s.redis == nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := s.redis.Seconds(ctx)
	if err != nil {
		return -1
	}
	return v
}

// window is what happened between two marks.
type window struct {
	Seconds     float64 `json:"s"`
	ServerCores float64 `json:"server_cores"` // -1 unknown
	RedisCores  float64 `json:"redis_cores"`  // -1 unknown
	MachineBusy float64 `json:"machine_busy"` // fraction of all CPUs; -1 unknown
}

func between(a, b mark) window {
	w := window{Seconds: b.at.Sub(a.at).Seconds(), ServerCores: -1, RedisCores: -1, MachineBusy: -1}
	if a.server >= 0 && b.server >= 0 && w.Seconds > 0 {
		w.ServerCores = (b.server - a.server) / w.Seconds
	}
	if a.redis >= 0 && b.redis >= 0 && w.Seconds > 0 {
		w.RedisCores = (b.redis - a.redis) / w.Seconds
	}
	if b.total > a.total {
		w.MachineBusy = float64(b.busy-a.busy) / float64(b.total-a.total)
	}
	return w
}
