package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/leitai/leitai/protocol"
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

// wait takes one token from ip's bucket if there is one and returns 0;
// otherwise it takes nothing and returns how long until there is one.
func (a *addrLimits) wait(ip string) time.Duration {
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

// throttle refuses a request over its address's budget in lim with 429,
// the API's error body (rate_limited) and a Retry-After in whole seconds.
func throttle(lim *addrLimits, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d := lim.wait(remoteIP(r)); d > 0 {
			secs := int(math.Ceil(d.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			httpError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests from your address; try again in %v", time.Duration(secs)*time.Second))
			return
		}
		h(w, r)
	}
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
