// Package doortest gives tests a second way into one server: a listener of
// its own that counts the WebSocket requests it serves, so that a client
// spread over two URLs meets one server as if it were two nodes.
package doortest

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// Second serves h on a new loopback listener until the test ends. It
// returns the listener's WebSocket URL (path /ws) and a count of the
// requests for /ws that came through it.
func Second(t testing.TB, h http.Handler) (wsURL string, count func() int64) {
	t.Helper()
	var n atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	})}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("second door: %v", err)
		}
	}()
	t.Cleanup(func() { hs.Close() })
	return "ws://" + ln.Addr().String() + "/ws", n.Load
}
