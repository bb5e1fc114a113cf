// Package addrlimit bounds how fast one remote address may do something,
// across all its connections.
package addrlimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bounds how fast one remote address may open sessions and join
// events, across all its connections: the per-connection limit alone lets a
// client that reconnects start afresh each time. Limits run on wall time,
// like the sockets they protect.
type Limits struct {
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

// New makes limits of perSecond per address, bursts of burst.
func New(perSecond float64, burst int) *Limits {
	return &Limits{every: rate.Limit(perSecond), burst: burst, m: map[string]*addrLimit{}}
}

// Allow takes one token from ip's bucket.
func (a *Limits) Allow(ip string) bool {
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

// Wait takes one token from ip's bucket if there is one and returns 0;
// otherwise it takes nothing and returns how long until there is one.
func (a *Limits) Wait(ip string) time.Duration {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.m[ip]
	if !ok {
		l = &addrLimit{lim: rate.NewLimiter(a.every, a.burst)}
		a.m[ip] = l
	}
	l.last = now
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Hour // a bucket that can never hold one token; not with the defaults
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// Sweep forgets addresses idle long enough for their buckets to be full
// again, so the map does not grow without bound.
func (a *Limits) Sweep() {
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
