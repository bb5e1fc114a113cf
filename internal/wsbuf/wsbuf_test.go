package wsbuf_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/wsbuf"
)

// TestReadReusesBuffers reads messages of different sizes through one
// pool: each read returns exactly its message, whatever the buffer held, and
// the buffers handed back are the ones later reads get. sync.Pool may drop a
// buffer now and then (the race detector drops a quarter of them on
// purpose), so the test asks only that most reads reuse one.
func TestReadReusesBuffers(t *testing.T) {
	var msgs []string
	for range 16 {
		msgs = append(msgs, strings.Repeat("长", 2000), "short", "", "a third one")
	}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for _, m := range msgs {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
				return
			}
		}
		_, _, _ = ws.ReadMessage() // until the client closes
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	seen := map[*bytes.Buffer]bool{}
	for _, want := range msgs {
		buf, err := wsbuf.Read(ws)
		if err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != want {
			t.Fatalf("read %d bytes %.20q, want %d bytes %.20q", len(got), got, len(want), want)
		}
		seen[buf] = true
		wsbuf.Put(buf)
	}
	if len(seen) > len(msgs)/2 {
		t.Fatalf("%d reads used %d distinct buffers: the pool is not reused", len(msgs), len(seen))
	}
}
