//go:build unix

package loadgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/web"
)

// BenchmarkDuelPath plays b.N whole duels in process against a real
// server (real SQLite store, real WebSocket connections on loopback):
// each of 2×duelPairs guests sends match.find, is matched, answers each of
// the 5 questions as soon as it arrives, waits for every answer's ack
// and for room.finished, and queues again until b.N matches have been
// played. The timings are short (10 ms countdown and reveal), so a match
// costs what its work costs, not its waits. Per match (one op) it reports
// ns/op (wall time divided by the matches, duelPairs playing at once),
// B/op and allocs/op (the whole process: server and the lean clients),
// and cpu-ms/match, the process's CPU time (user + system) per match.
// After the run every match's result must be in the store.
//
//	go test -run '^$' -bench DuelPath -benchtime 400x -count 3 ./loadgen/
func BenchmarkDuelPath(b *testing.B) {
	url, _, st := startServerWith(b, func(c *web.Config) {
		c.MatchCountdown = 10 * time.Millisecond
		c.RevealFor = 10 * time.Millisecond
		c.MatchTimeLimit = 2 * time.Second
		// Everyone is matched at the first tick they wait in, whatever
		// their ratings have become.
		c.Match = match.Config{Tick: 5 * time.Millisecond, Window: 800, MaxWindow: 800}
		// A player here sends about 7 requests in a match of 100 ms.
		c.MessagesPerSecond, c.MessageBurst = 1000, 1000
	})
	const duelPairs = 32
	clients := make([]*duelClient, 2*duelPairs)
	for i := range clients {
		c, err := dialDuelClient(url, i)
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	// tickets counts the match.find still to send: two per match, so that
	// every player queued finds a partner.
	var tickets atomic.Int64
	tickets.Store(int64(2 * b.N))
	var rooms sync.Map
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.play(&tickets, &rooms); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/match")
	n := 0
	ctx := context.Background()
	var missing error
	rooms.Range(func(k, _ any) bool {
		n++
		if _, err := st.Result(ctx, k.(string)); err != nil {
			missing = fmt.Errorf("room %s: result not stored: %w", k, err)
			return false
		}
		return true
	})
	if missing != nil {
		b.Fatal(missing)
	}
	if n != b.N {
		b.Fatalf("%d matches finished, want %d", n, b.N)
	}
	for _, c := range clients {
		c.ws.Close()
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// duelClient is one lean player of BenchmarkDuelPath: one goroutine reads
// and answers at once.
type duelClient struct {
	ws  *websocket.Conn
	seq int
}

func dialDuelClient(url string, i int) (*duelClient, error) {
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	c := &duelClient{ws: ws}
	if _, err := c.send("hello", map[string]string{"name": fmt.Sprintf("duel-%d", i)}); err != nil {
		return nil, err
	}
	return c, nil
}

// send writes a request and returns its id.
func (c *duelClient) send(typ string, data any) (string, error) {
	c.seq++
	id := fmt.Sprint(c.seq)
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data any    `json:"data"`
	}{typ, id, data})
	if err != nil {
		return id, err
	}
	return id, c.ws.WriteMessage(websocket.TextMessage, b)
}

// play queues and plays until no ticket is left, then returns once every
// answer it sent is acked.
func (c *duelClient) play(tickets *atomic.Int64, rooms *sync.Map) error {
	var room, findID string
	queued, acks := false, 0
	next := func() (bool, error) {
		if tickets.Add(-1) < 0 {
			return false, nil
		}
		queued = true
		var err error
		findID, err = c.send("match.find", map[string]string{"mode": "duel"})
		return true, err
	}
	if more, err := next(); !more || err != nil {
		return err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		var m struct {
			Type string          `json:"type"`
			Re   string          `json:"re"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		switch m.Type {
		case "match.found":
			var f protocol.MatchFound
			if err := json.Unmarshal(m.Data, &f); err != nil {
				return err
			}
			room = f.Room
		case "question":
			var q protocol.Question
			if err := json.Unmarshal(m.Data, &q); err != nil {
				return err
			}
			a := protocol.Answer{Room: q.Room, Index: q.Index}
			if len(q.Question.Options) > 0 && q.Question.Type != "text" {
				a.Choice = []string{q.Question.Options[0].Key}
			} else {
				t := "答"
				a.Text = &t
			}
			acks++
			if _, err := c.send("answer", a); err != nil {
				return err
			}
		case "answer.ack":
			acks--
		case "error":
			if m.Re == findID {
				// The server has not let go of the last match yet.
				time.Sleep(5 * time.Millisecond)
				if findID, err = c.send("match.find", map[string]string{"mode": "duel"}); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("server error: %s", m.Data)
		case "room.finished":
			var f protocol.Finished
			if err := json.Unmarshal(m.Data, &f); err != nil {
				return err
			}
			if f.Room != room {
				continue
			}
			rooms.Store(room, true)
			room, queued = "", false
			more, err := next()
			if err != nil {
				return err
			}
			if !more && acks == 0 {
				return nil
			}
		}
		if !queued && room == "" && acks == 0 && tickets.Load() < 0 {
			return nil
		}
	}
}
