package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// cycle is one connection's life in the leak test: connect, maybe hello
// (as a guest or by resume token), maybe join an event or a queue, then go
// away, politely or not.
func cycle(addr string, k int, resume, pin string) error {
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
	seq := 0
	request := func(typ string, data any) (msg, error) {
		seq++
		id := typ + itoa(seq)
		b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			return msg{}, err
		}
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return msg{}, fmt.Errorf("%s: %w", typ, err)
			}
			var m msg
			_ = json.Unmarshal(b, &m)
			m.raw = b
			if m.Re == id {
				return m, nil
			}
		}
	}
	expect := func(m msg, err error, typ string) error {
		if err != nil {
			return err
		}
		if m.Type != typ {
			return fmt.Errorf("got %s, want %s", m.raw, typ)
		}
		return nil
	}
	switch k % 5 {
	case 0: // connect and vanish, before any hello
	case 1:
		m, err := request("hello", map[string]any{"name": "过客"})
		if err := expect(m, err, "welcome"); err != nil {
			return err
		}
	case 2:
		m, err := request("hello", map[string]any{"resume": resume})
		if err := expect(m, err, "welcome"); err != nil {
			return err
		}
		m, err = request("event.join", map[string]any{"pin": pin})
		if err := expect(m, err, "room.state"); err != nil {
			return err
		}
	case 3:
		m, err := request("hello", map[string]any{"resume": resume})
		if err := expect(m, err, "welcome"); err != nil {
			return err
		}
		// Queued, or already queued by this player's previous cycle.
		if m, err = request("match.find", map[string]any{"mode": "four"}); err != nil {
			return err
		}
	case 4:
		if m, err := request("ping", map[string]any{"t": 1}); err != nil || m.Type != "pong" {
			return fmt.Errorf("ping: %v %s", err, m.raw)
		}
	}
	if k%2 == 0 {
		// A clean close: send ours and wait for the server's.
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				break
			}
		}
	}
	return nil
}

// TestNoGoroutineLeak: 5,000 connections come and go; afterwards the
// server runs exactly the goroutines it ran before.
func TestNoGoroutineLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 connections")
	}
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{"title": "来来去去", "count": 3, "lang": "zh"})
	const workers = 50
	// One player per worker, so a worker's cycles never replace another's.
	tokens := make([]string, workers)
	for i := range tokens {
		c := h.dial()
		tokens[i] = c.hello("常客" + itoa(i)).Resume
		c.ws.Close()
	}
	waitFor(t, "setup connections closed", func() bool { return h.metric("leitai_connections") == 0 })
	http.DefaultClient.CloseIdleConnections()
	baseline := goleak.IgnoreCurrent()

	const cycles = 5000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < cycles; k += workers {
				if err := cycle(h.addr, k, tokens[w], ev.PIN); err != nil {
					errs <- fmt.Errorf("cycle %d: %w", k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "every connection closed", func() bool { return h.metric("leitai_connections") == 0 })
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, baseline)
}
