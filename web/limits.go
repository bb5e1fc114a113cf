package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// addrLimits bounds how fast one remote address may open sessions and join
// events, across all its connections: the per-connection limit alone lets a
// client that reconnects start afresh each time. Limits run on wall time,
// like the sockets they protect.
type addrLimits struct {
	every rate.Limit // Static after construction.
	burst int        // Static after construction.

	// mu guards m.
	mu sync.Mutex
	m  map[string]*addrLimit
}

type addrLimit struct {
	lim  *rate.Limiter
	last time.Time
}

func newAddrLimits(perSecond float64, burst int) *addrLimits {
	return &addrLimits{every: rate.Limit(perSecond), burst: burst, m: map[string]*addrLimit{}}
}

// allow takes one token from ip's bucket.
func (a *addrLimits) allow(ip string) bool {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.m[ip]
	if !ok {
		l = &addrLimit{lim: rate.NewLimiter(a.every, a.burst)}
		a.m[ip] = l
	}
	l.last = now
	return l.lim.AllowN(now, 1)
}

// sweep forgets addresses idle long enough for their buckets to be full
// again, so the map does not grow without bound.
func (a *addrLimits) sweep() {
	idle := time.Duration(float64(a.burst)/float64(a.every)*float64(time.Second)) + time.Minute
	cutoff := time.Now().Add(-idle)
	a.mu.Lock()
	defer a.mu.Unlock()
	for ip, l := range a.m {
		if l.last.Before(cutoff) {
			delete(a.m, ip)
		}
	}
}
