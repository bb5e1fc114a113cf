package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/roomtest"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

// memJournalStore is the store behind the answer-path harness: a real
// SQLite store, but the committer's journal writes are taken at once and
// kept nowhere, so the harness measures the path up to the store, not the
// disk (store has its own benchmarks).
type memJournalStore struct {
	store.Store
	entries atomic.Int64
}

func (m *memJournalStore) AppendJournal(_ context.Context, es []store.JournalEntry) error {
	m.entries.Add(int64(len(es)))
	return nil
}

type noMarks struct{}

func (noMarks) MarkPlayed(string) {}
func (noMarks) MarkUsed(string)   {}

// answerPath is a node reduced to the answer's path: a gateway in front of
// a host with one event room, its question open for an hour, whose
// journal goes through a real Committer. Its players share one real
// WebSocket connection, over loopback TCP, whose far end (client) reads
// the frames raw and counts the acks: one conn, so that thousands of
// players cost thousands of sessions, not thousands of sockets.
type answerPath struct {
	tb      testing.TB
	gw      *Gateway
	host    *roomhost.Host
	c       *conn
	roomID  string
	choice  string
	players []*session
	joined  int      // players joined, the one who never answers too
	msgs    [][]byte // msgs[i] is players[i]'s answer to question 0
	acks    chan struct{}
	bad     atomic.Pointer[string] // the first error reply
}

func newAnswerPath(tb testing.TB) *answerPath {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sq, err := store.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "leitai.db"))
	if err != nil {
		tb.Fatal(err)
	}
	st := &memJournalStore{Store: sq}
	j := store.NewCommitter(st, store.CommitterOptions{Linger: -1})
	jdone := make(chan struct{})
	go func() { _ = j.Run(ctx); close(jdone) }()
	bank := questionbank.NewBank()
	qs, err := questionbank.Sample()
	if err != nil {
		tb.Fatal(err)
	}
	bank.Add("sample", qs)
	h := roomhost.New(roomhost.Config{}, roomhost.Deps{Store: st, Journal: j, Bank: bank, Clock: clock.Real{}, Log: zerolog.Nop(), Marks: noMarks{}})
	gw := New(Config{
		MaxFrame: 4096, HelloTimeout: time.Minute, PingEvery: time.Hour, PongWait: time.Hour,
		WriteWait: 10 * time.Second, Grace: time.Minute, SendQueue: 1 << 16,
		MessagesPerSecond: 1e9, MessageBurst: 1 << 30, JoinsPerSecondPerAddr: 1e9, JoinBurstPerAddr: 1 << 30,
		RTTCreditMax: 350 * time.Millisecond,
	}, Deps{Host: h, Clock: clock.Real{}, RateClock: clock.Real{}, Log: zerolog.Nop(), Marks: noMarks{}, Metrics: Metrics{
		Conns:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "c"}),
		Messages:    prometheus.NewCounter(prometheus.CounterOpts{Name: "m"}),
		Answers:     prometheus.NewCounter(prometheus.CounterOpts{Name: "a"}),
		Slow:        prometheus.NewCounter(prometheus.CounterOpts{Name: "s"}),
		Refused:     prometheus.NewCounter(prometheus.CounterOpts{Name: "r"}),
		RateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "rl"}),
		AckLatency:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "al"}),
		AnswerWaits: prometheus.NewCounter(prometheus.CounterOpts{Name: "aw"}),
	}})
	if err := h.Begin(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := gw.Begin(ctx); err != nil {
		tb.Fatal(err)
	}
	p := &answerPath{tb: tb, gw: gw, host: h, roomID: "r-answers", acks: make(chan struct{}, 1<<16)}
	p.c = p.dial()
	tb.Cleanup(func() {
		p.c.closeWith(reasonGoingAway, "")
		h.Stop(cancel)
		<-jdone
		sq.Close()
	})

	// Questions answered by a choice, as the answers here are.
	drawn, err := h.Draw(nil, "", "", "zh", 0, 30)
	if err != nil {
		tb.Fatal(err)
	}
	drawn = slices.DeleteFunc(drawn, func(q questionbank.Question) bool { return q.Type == questionbank.Text })
	p.choice = drawn[0].Answer[0]
	if _, err := h.OpenRoom(ctx, room.Config{ID: p.roomID, Kind: room.KindEvent, Questions: drawn[:3], LateJoin: true,
		Countdown: time.Millisecond, TimeLimit: time.Hour}, nil); err != nil {
		tb.Fatal(err)
	}
	// The first player never answers: the question stays open, and the
	// room's "has everyone answered" stops at it.
	p.join(1)
	p.players = p.players[:0]
	p.msgs = p.msgs[:0]
	if _, err := h.Exec(ctx, &roomhost.Command{Op: roomhost.OpControl, Room: p.roomID, Action: room.ActStart}, nil); err != nil {
		tb.Fatal(err)
	}
	r, _ := h.Rooms().Get(p.roomID)
	roomtest.WaitPhase(tb, r, room.PhaseQuestion)
	return p
}

// join adds n players to the room, each with its question written to it
// now, and waits until the connection has written what the room sent them.
func (p *answerPath) join(n int) {
	p.tb.Helper()
	ctx := context.Background()
	for range n {
		id := fmt.Sprintf("p%06d", p.joined)
		p.joined++
		sess := &session{srv: p.gw, id: id, name: id, role: rolePlayer, conn: p.c}
		if _, err := p.host.Exec(ctx, &roomhost.Command{Op: roomhost.OpJoin, Room: p.roomID, Who: id, Name: id}, sess); err != nil {
			p.tb.Fatal(err)
		}
		sess.addRoomLocal(p.roomID)
		sess.markWritten(p.roomID, 0, time.Now(), time.Hour)
		p.players = append(p.players, sess)
		p.msgs = append(p.msgs, fmt.Appendf(nil, `{"type":"answer","id":"a%d","data":{"room":%q,"index":0,"choice":[%q]}}`, len(p.msgs), p.roomID, p.choice))
	}
	// What the room says of the joins (to everyone, while it is small)
	// goes out from its fan-out after Exec returns: wait until the
	// connection has been quiet a while.
	for quiet := 0; quiet < 50; {
		time.Sleep(time.Millisecond)
		quiet++
		if len(p.c.out) > 0 || p.c.writing.Load() {
			quiet = 0
		}
	}
}

// answer has player i answer, as its connection's reader would, and waits
// for the ack.
func (p *answerPath) answer(i int) {
	p.c.sess.Store(p.players[i])
	p.c.received = time.Now()
	p.gw.handleRead(p.c, p.msgs[i])
	<-p.acks // the test's -timeout ends a wait that never ends
	if s := p.bad.Load(); s != nil {
		p.tb.Fatalf("an error instead of an ack: %s", *s)
	}
}

// dial makes the shared connection: the gateway's side a conn as openConn
// makes it, the client's a raw TCP socket read by readFrames.
func (p *answerPath) dial() *conn {
	p.tb.Helper()
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}}
	got := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		got <- ws
	}))
	p.tb.Cleanup(srv.Close)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		p.tb.Fatal(err)
	}
	p.tb.Cleanup(func() { nc.Close() })
	host := strings.TrimPrefix(srv.URL, "http://")
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReaderSize(nc, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			p.tb.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	ws := <-got
	c := newConn(p.gw, ws, "127.0.0.1")
	c.id = "c1"
	go p.readFrames(br)
	return c
}

// readFrames reads the server's frames (unmasked, unfragmented) and counts
// the acks; it allocates nothing per frame, but for an error, which ends
// the benchmark. What the room tells its players (joins, states) is
// skipped.
func (p *answerPath) readFrames(br *bufio.Reader) {
	var hdr [8]byte
	buf := make([]byte, 1<<20)
	ack := []byte(`{"type":"answer.ack"`)
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return
		}
		op := hdr[0] & 0x0f
		n := int(hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return
			}
			n = int(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(br, hdr[:8]); err != nil {
				return
			}
			n = int(binary.BigEndian.Uint64(hdr[:8]))
		}
		if _, err := io.ReadFull(br, buf[:n]); err != nil {
			return
		}
		if op != websocket.TextMessage {
			continue
		}
		msg := buf[:n]
		switch {
		case bytes.HasPrefix(msg, ack):
			p.acks <- struct{}{}
		case bytes.HasPrefix(msg, []byte(`{"type":"error"`)):
			s := string(msg)
			p.bad.CompareAndSwap(nil, &s)
			p.acks <- struct{}{}
		}
	}
}

// BenchmarkAnswerPath is one answer through a node: the reader's handling
// of the message (rate limit, decode, the edge's timing), the hand-over to
// the room, the room taking it, its journal entry through the Committer
// (to a store that keeps nothing), and the ack once durable, encoded and
// written by the connection's writer to a loopback socket. Each op is a
// new player's first answer, waited for until its ack is read; players
// are joined in blocks between ops, off the clock.
func BenchmarkAnswerPath(b *testing.B) {
	p := newAnswerPath(b)
	const block = 4096
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i == len(p.players) {
			b.StopTimer()
			p.join(block)
			b.StartTimer()
		}
		p.answer(i)
	}
}

// answerAllocBudget is what one answer may allocate on its way through a
// node, as BenchmarkAnswerPath takes it (TestAnswerPathAllocBudget):
//
//   - 2 in decoding: the request id and the choice slice (the room id is
//     the session's own copy; a one-letter option key costs nothing);
//   - 1 for the answer handed to the room's inbox (shared with Submit,
//     which must report it itself if the room ends meanwhile; the room
//     tells the outcome to the connection, so there is no callback);
//   - 4 in the room: the answer's record, which the room keeps and which
//     holds its durability; the record's slot in the player's answers
//     map (its first answer); the journal entry's bytes; the Committer's
//     callback bound to the record;
//   - 1 for the ack on its way: its frame and bytes in one;
//   - 2 in gorilla/websocket writing it: its write buffer boxed as it goes
//     back to the buffer pool, and one in Conn.write.
const answerAllocBudget = 10

// TestAnswerPathAllocBudget fails if an answer allocates more than its
// budget: an allocation added to the path must be argued for here.
func TestAnswerPathAllocBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("joins a few hundred players")
	}
	p := newAnswerPath(t)
	const runs = 300
	p.join(runs + 1) // AllocsPerRun runs once more to warm up
	i := 0
	got := testing.AllocsPerRun(runs, func() {
		p.answer(i)
		i++
	})
	if got > answerAllocBudget {
		t.Fatalf("an answer allocates %v times, over its budget of %d", got, answerAllocBudget)
	}
	t.Logf("an answer allocates %v times (budget %d)", got, answerAllocBudget)
}
