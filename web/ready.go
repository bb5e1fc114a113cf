package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/leitai/leitai/protocol"
)

// Pinger is a part a node depends on that can say whether it answers: the
// store (*store.SQL) and, in cluster mode, the bus (*cluster.RedisBus).
type Pinger interface {
	Ping(ctx context.Context) error
}

// readyTimeout bounds each part's check, so /readyz answers within it
// even when a part hangs rather than refuses.
const readyTimeout = 2 * time.Second

// readyPart is one part's line in /readyz.
type readyPart struct {
	OK      bool   `json:"ok"`
	Backend string `json:"backend,omitempty"`
	Error   string `json:"error,omitempty"`
	// Millis is how long the check took.
	Millis float64 `json:"ms"`
}

// readyChecks lists what /readyz asks: the store always, Redis when the
// node's bus is one that can be pinged (the in-process bus of a single
// node cannot fail and is not listed).
func (s *Server) readyChecks() map[string]func(context.Context) error {
	checks := map[string]func(context.Context) error{}
	if p, ok := s.store.(Pinger); ok {
		checks["store"] = p.Ping
	} else {
		checks["store"] = func(ctx context.Context) error { _, err := s.store.QuestionSets(ctx); return err }
	}
	if p, ok := s.bus.(Pinger); ok {
		checks["redis"] = p.Ping
	}
	return checks
}

// handleReady answers GET /readyz: 200 when every part answers, 503 naming
// the parts that do not (and while the node shuts down), with a body that
// lists each part:
//
//	{"status":"ready","parts":{"store":{"ok":true,"backend":"postgres","ms":0.4},
//	 "redis":{"ok":true,"ms":0.2}},"rooms":3,"sessions":120}
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.gw.Stopped():
		httpError(w, protocol.Errorf(protocol.CodeUnavailable, "shutting down"))
		return
	default:
	}
	checks := s.readyChecks()
	parts := make(map[string]readyPart, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			start := time.Now()
			err := check(ctx)
			p := readyPart{OK: err == nil, Millis: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				p.Error = err.Error()
			}
			mu.Lock()
			parts[name] = p
			mu.Unlock()
		}()
	}
	wg.Wait()
	if st, ok := parts["store"]; ok {
		if b, ok := s.store.(interface{ Backend() string }); ok {
			st.Backend = b.Backend()
			parts["store"] = st
		}
	}
	body := map[string]any{"status": "ready", "parts": parts, "rooms": s.host.Rooms().Len(), "sessions": s.gw.Sessions()}
	for _, name := range []string{"store", "redis"} {
		if p, ok := parts[name]; ok && !p.OK {
			body["status"] = "unavailable"
			body["error"] = protocol.Errorf(protocol.CodeUnavailable, "%s: %s", name, p.Error)
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
	}
	writeJSON(w, http.StatusOK, body)
}
