// Package proxy is the small load balancer of `leitai proxy`: it hands each
// request (and each WebSocket, for its whole life) to the next of several
// backends in turn, without sticky sessions, so a local cluster answers on
// one URL the way it would behind nginx or HAProxy. A backend that refused
// a connection is passed over for a short while, so a stopped node costs
// one failed request, not every third one.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
)

// DefaultCooldown is how long a backend that failed is passed over.
const DefaultCooldown = 2 * time.Second

// Options tune a Proxy; the zero value is usable.
type Options struct {
	// Cooldown is how long a backend is skipped after a request to it
	// failed; default DefaultCooldown.
	Cooldown time.Duration
	Clock    clock.Clock
	Log      zerolog.Logger
}

// Proxy is an http.Handler that spreads requests over its backends.
type Proxy struct {
	backends []*url.URL // Static after construction.
	cooldown time.Duration
	clock    clock.Clock
	log      zerolog.Logger
	rp       *httputil.ReverseProxy

	// mu guards next and downUntil.
	mu        sync.Mutex
	next      int
	downUntil []time.Time
}

// ParseBackends reads a comma-separated list of http:// (or https://) base
// URLs, such as "http://127.0.0.1:8081,http://127.0.0.1:8082".
func ParseBackends(list string) ([]*url.URL, error) {
	var out []*url.URL
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("backend %q: want http://host:port", raw)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return nil, fmt.Errorf("backend %q: give the base URL only, without a path or query", raw)
		}
		u.Path = ""
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("no backends: give at least one http://host:port")
	}
	return out, nil
}

// New makes a proxy over backends, which must not be empty.
func New(backends []*url.URL, o Options) *Proxy {
	if len(backends) == 0 {
		panic("proxy: no backends")
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	p := &Proxy{backends: backends, cooldown: o.Cooldown, clock: o.Clock, log: o.Log, downUntil: make([]time.Time, len(backends))}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		ErrorHandler: p.failed,
		// Frames and streamed exports go out as they come.
		FlushInterval: -1,
	}
	return p
}

// backendKey carries the index of the chosen backend from rewrite to
// failed.
type backendKey struct{}

// pick returns the next backend in turn that is not cooling down, or, when
// all are, the next one anyway (better a try than a certain failure).
func (p *Proxy) pick() int {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.backends)
	first := p.next
	p.next = (p.next + 1) % n
	for i := 0; i < n; i++ {
		j := (first + i) % n
		if !now.Before(p.downUntil[j]) {
			p.next = (j + 1) % n
			return j
		}
	}
	return first
}

// rewrite sends the request to the chosen backend. The Host header stays
// the one the client sent, so the node's Origin check and the links it
// writes name the address players use, and X-Forwarded-For/-Host/-Proto
// tell the node who asked.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	i := p.pick()
	pr.SetURL(p.backends[i])
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
	pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), backendKey{}, i))
}

// failed answers 502 and passes the backend over for a while.
func (p *Proxy) failed(w http.ResponseWriter, r *http.Request, err error) {
	if i, ok := r.Context().Value(backendKey{}).(int); ok && r.Context().Err() == nil {
		p.mu.Lock()
		p.downUntil[i] = p.clock.Now().Add(p.cooldown)
		p.mu.Unlock()
		p.log.Warn().Err(err).Str("backend", p.backends[i].Host).Dur("cooldown", p.cooldown).Msg("backend failed; passing it over")
	}
	http.Error(w, "bad gateway: the node did not answer", http.StatusBadGateway)
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.rp.ServeHTTP(w, r) }
