package gateway

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/leitai/leitai/protocol"
)

// closeReason is why the server closed a connection; each maps to a close
// code the client can act on.
type closeReason int

const (
	reasonNone closeReason = iota
	reasonNormal
	reasonGoingAway
	reasonPolicy
	reasonTooBig
	reasonReplaced
	reasonSlow
	reasonKicked
	reasonGone // the peer vanished or a write failed: nothing to send
)

func (r closeReason) code() int {
	switch r {
	case reasonNormal:
		return protocol.CloseNormal
	case reasonGoingAway:
		return protocol.CloseGoingAway
	case reasonPolicy:
		return protocol.ClosePolicy
	case reasonTooBig:
		return protocol.CloseTooBig
	case reasonReplaced:
		return protocol.CloseReplaced
	case reasonSlow:
		return protocol.CloseSlow
	case reasonKicked:
		return protocol.CloseKicked
	}
	return 0
}

// conn is one WebSocket connection: a reader goroutine (started by serveWS) and a
// writer. Only the writer writes data frames; the queue in between is
// bounded, and a client that lets it fill is disconnected.
//
// The writer runs only while there is something to write: a send starts it
// if it is not running, and it ends once the queue is empty. Most of the
// time a contestant's connection has nothing to write, and an idle writer
// goroutine would hold a stack of its own on each of 15,000 connections.
// There is never more than one writer at a time.
type conn struct {
	srv  *Gateway
	ws   *websocket.Conn
	nc   *corkConn // ws's socket: the writer corks it to send a batch of frames at once (nil: write each alone)
	addr string    // remote IP, for per-address limits
	id   string    // Static once served: the connection's name in the session directory

	out  chan *protocol.Frame
	quit chan struct{} // closed once, by closeWith

	closeOnce sync.Once
	reason    closeReason // written once before quit is closed
	text      string

	writing    atomic.Bool   // a writer goroutine is running, or has ended for good
	pingDue    atomic.Bool   // the ping timer fired; the writer sends the ping
	pinger     *time.Timer   // Static after construction; re-armed by the writer.
	writerDone chan struct{} // closed when the last writer has ended

	srtt    atomic.Int64 // smoothed RTT in ns, from server pings
	samples int          // Owned by the reader: RTT samples taken so far.
	probes  atomic.Int32 // pings still to send in a quick burst, see probe
	pongAt  atomic.Int64 // when the last pong came (Unix ns)
	heardAt atomic.Int64 // when the last message came after hello (Unix ns)
	sess    atomic.Pointer[session]
	limiter *rate.Limiter // Owned by the reader.
	// strikes counts messages refused over a rate limit, draining with
	// time (see Server.strike); struckAt is when it was last brought up
	// to date, toldAt when the last rate_limited reply went out. Owned by
	// the reader.
	strikes  float64
	struckAt time.Time
	toldAt   time.Time
	// received is when the message being handled was read. Owned by the
	// reader.
	received time.Time
	// deadlineMoved is when a message last moved the read deadline. Owned
	// by the reader.
	deadlineMoved time.Time
	// writeMoved is when a frame last moved the write deadline. Owned by
	// the writer.
	writeMoved time.Time
}

// newConn makes the connection and starts its first writer, which sends a
// ping at once so the RTT is known before the first question.
func newConn(srv *Gateway, ws *websocket.Conn, addr string) *conn {
	c := &conn{
		srv: srv, ws: ws, addr: addr,
		out:        make(chan *protocol.Frame, srv.cfg.SendQueue),
		quit:       make(chan struct{}),
		limiter:    rate.NewLimiter(rate.Limit(srv.cfg.MessagesPerSecond), srv.cfg.MessageBurst),
		writerDone: make(chan struct{}),
	}
	c.nc, _ = ws.NetConn().(*corkConn)
	c.pinger = time.AfterFunc(srv.cfg.PingEvery, c.ping)
	c.pingDue.Store(true)
	c.wake()
	return c
}

// send queues a frame without blocking. A full queue means the client is
// not reading: it is disconnected as too slow, and the others never wait.
func (c *conn) send(f *protocol.Frame) bool {
	if c.closing() {
		return false
	}
	select {
	case c.out <- f:
		c.wake()
		return true
	default:
		c.srv.metrics.Slow.Inc()
		c.closeWith(reasonSlow, "send queue full")
		return false
	}
}

// rttRefresh is how many ping periods an RTT sample may age before a
// connection that keeps talking is pinged anyway.
const rttRefresh = 4

// ping is the ping timer's callback. Runs on the timer's goroutine.
func (c *conn) ping() {
	if c.closing() {
		return
	}
	every := c.srv.cfg.PingEvery
	if c.probes.Load() <= 0 && !pingNeeded(time.Now().UnixNano(), c.heardAt.Load(), c.pongAt.Load(), every) {
		c.pinger.Reset(every)
		return
	}
	c.pingDue.Store(true)
	c.wake()
}

// pingNeeded reports whether a connection is due a ping. One that sent a
// message within the last period has shown it is alive (and the message
// moved its read deadline), so it is pinged only to keep its RTT sample
// fresh. A contestant answering every question is spared most pings, and
// so is the server, 15,000 of them a period.
func pingNeeded(now, heard, pong int64, every time.Duration) bool {
	return now-heard >= int64(every) || now-pong >= rttRefresh*int64(every)
}

// Probing: a burst of pings a little apart gives a connection's round trip
// from a few samples, not one, before the first question it will be timed
// on. Each sample waits for its own pong, so pings in flight together do
// not disturb one another.
const (
	probePings = 3
	probeGap   = 100 * time.Millisecond
)

// probe sends a burst of probePings pings, the first at once: at hello,
// when a player joins an event or is matched, and at an event's countdown.
// Safe to call from any goroutine.
func (c *conn) probe() {
	if c.closing() {
		return
	}
	c.probes.Store(probePings)
	c.pingDue.Store(true)
	c.wake()
}

// wake starts a writer unless one is running (or the last has ended).
func (c *conn) wake() {
	if c.writing.CompareAndSwap(false, true) {
		go c.writeLoop()
	}
}

// closeWith starts closing the connection; the writer sends the close frame.
func (c *conn) closeWith(r closeReason, text string) {
	c.closeOnce.Do(func() {
		c.reason, c.text = r, text
		close(c.quit)
		c.wake() // the writer sends the close frame
	})
}

func (c *conn) rtt() time.Duration { return time.Duration(c.srtt.Load()) }

// onPong folds a ping's round trip into the smoothed RTT: the mean of the
// first eight samples, then each new one weighing an eighth, so that the
// few samples of a connection's first second already count equally. Runs
// on the reader (gorilla calls it while reading).
func (c *conn) onPong(payload string) error {
	now := time.Now().UnixNano()
	c.pongAt.Store(now)
	if len(payload) == 8 {
		sent := int64(binary.BigEndian.Uint64([]byte(payload)))
		sample := now - sent
		if sample >= 0 && sample < int64(time.Minute) {
			c.samples++
			c.srtt.Store(smoothRTT(c.srtt.Load(), sample, c.samples))
		}
	}
	if c.sess.Load() == nil {
		return nil // before hello, the hello deadline stands
	}
	return c.ws.SetReadDeadline(time.Now().Add(c.srv.cfg.PongWait))
}

// smoothRTT folds a connection's n-th round-trip sample (counting from 1)
// into its smoothed round trip old.
func smoothRTT(old, sample int64, n int) int64 {
	return old + (sample-old)/int64(min(n, 8))
}

// writeLoop writes what is queued, and a ping when one is due, then ends;
// the next send starts it again. It also ends for good (leaving writing
// set, so no writer starts again) once the connection closes: after
// sending the close frame, or when a write fails. Runs in its own
// goroutine, started by wake.
func (c *conn) writeLoop() {
	for {
		if !c.writeQueued() {
			return // for good
		}
		c.writing.Store(false)
		// A send that came after the queue ran dry saw a writer running
		// and left the frame to it: look once more before leaving.
		if len(c.out) == 0 && !c.pingDue.Load() && !c.closing() {
			return
		}
		if !c.writing.CompareAndSwap(false, true) {
			return // another writer took over
		}
	}
}

// writeQueued writes until the queue is empty and no ping is due. It
// reports false if the connection is finished.
func (c *conn) writeQueued() bool {
	for {
		if c.pingDue.Swap(false) {
			if err := c.writePing(); err != nil {
				c.fail("ping failed")
				return false
			}
			next := c.srv.cfg.PingEvery
			if c.probes.Load() > 0 && c.probes.Add(-1) > 0 {
				next = probeGap
			}
			c.pinger.Reset(next)
		}
		select {
		case <-c.quit:
			c.finish()
			return false
		default:
		}
		select {
		case f := <-c.out:
			if err := c.writeBatch(f); err != nil {
				c.fail("write failed")
				return false
			}
			if len(c.out) > 0 {
				// More came while the batch was written. Let the other
				// connections' writers write what they have first, so a
				// broadcast reaches everyone before any one connection
				// gets the message after it.
				runtime.Gosched()
			}
		default:
			return true
		}
	}
}

// maxBatch is how many frames the writer sends in one system call at most.
const maxBatch = 16

// writeBatch writes f and the frames queued behind it (up to maxBatch, or
// maxCorked bytes) to the socket in one system call. A frame that starts
// a question's clock (Mark) is sent on its own, the batch before it
// first, so the clock starts as its bytes go out, as when every frame was
// written alone.
func (c *conn) writeBatch(f *protocol.Frame) error {
	if c.nc == nil {
		return c.write(f)
	}
	c.nc.cork()
	err := c.write(f)
	for n := 1; err == nil && f.Mark == nil && n < maxBatch && c.nc.gathered() < maxCorked; n++ {
		var next *protocol.Frame
		select {
		case next = <-c.out:
		default:
		}
		if next == nil {
			break
		}
		if next.Mark != nil {
			if err = c.nc.uncork(); err != nil {
				return err
			}
			c.nc.cork()
		}
		f = next
		err = c.write(f)
	}
	if uerr := c.nc.uncork(); err == nil {
		err = uerr
	}
	return err
}

// closing reports whether closeWith has been called.
func (c *conn) closing() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// fail ends the connection after a failed write: nothing more can be
// written to it, not even a close frame.
func (c *conn) fail(text string) {
	c.closeWith(reasonGone, text)
	c.ws.Close()
	c.pinger.Stop()
	close(c.writerDone)
}

// finish flushes what is queued (unless the client is the reason for the
// close) and sends the close frame. It leaves the socket open: the reader
// waits briefly for the client's close reply, so the client reads our close
// frame instead of a reset.
func (c *conn) finish() {
	if c.reason != reasonSlow && c.reason != reasonGone {
		for drained := false; !drained; {
			select {
			case f := <-c.out:
				if c.write(f) != nil {
					drained = true
				}
			default:
				drained = true
			}
		}
	}
	if code := c.reason.code(); code != 0 {
		deadline := time.Now().Add(closeWait)
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, c.text), deadline)
	}
	// Wake the reader if it is blocked; it closes the socket.
	_ = c.ws.SetReadDeadline(time.Now().Add(closeWait))
	c.pinger.Stop()
	close(c.writerDone)
}

// closeWait bounds the close handshake.
const closeWait = time.Second

func (c *conn) writePing() error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	return c.ws.WriteControl(websocket.PingMessage, b[:], time.Now().Add(c.srv.cfg.WriteWait))
}

// plainShared is how many connections a shared frame is written to plainly
// before it is prepared once for the rest: a quick match's frames go to
// two or four players, and preparing one (a 4 KiB buffer of its own in the
// WebSocket library) costs more than those plain writes.
const plainShared = 4

func prepare(b []byte) any {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return err
	}
	return pm
}

// write sends one frame: a shared frame as a message prepared once for all
// connections, a spliced frame part by part.
func (c *conn) write(f *protocol.Frame) error {
	// Each write gives the socket the deadline set here, and moving it
	// resets a runtime timer; so, as the reader does with its own, a busy
	// connection moves it only every sixteenth of the wait. A write still
	// gives up within WriteWait, and after at least 15/16 of it.
	if now := time.Now(); now.Sub(c.writeMoved) >= c.srv.cfg.WriteWait/16 {
		c.writeMoved = now
		if err := c.ws.SetWriteDeadline(now.Add(c.srv.cfg.WriteWait)); err != nil {
			return err
		}
	}
	// A question's clock starts as its bytes go out, not when the write
	// returns: by then the player may already have it, and its answer may
	// come before the writer would get round to noting it.
	if f.Mark != nil {
		if s := c.sess.Load(); s != nil {
			s.markWritten(f.Mark.Room, f.Mark.Index, c.srv.clock.Now(), f.Mark.Limit)
		}
	}
	if f.Probe {
		c.probe()
	}
	var err error
	switch {
	case f.Shared:
		switch pm := f.PreparedAfter(plainShared, prepare).(type) {
		case nil:
			err = c.ws.WriteMessage(websocket.TextMessage, f.Bytes())
		case *websocket.PreparedMessage:
			err = c.ws.WritePreparedMessage(pm)
		case error:
			err = pm
		default:
			err = errors.New("web: bad prepared message")
		}
	case len(f.Parts) == 1:
		err = c.ws.WriteMessage(websocket.TextMessage, f.Parts[0])
	default:
		w, werr := c.ws.NextWriter(websocket.TextMessage)
		if werr != nil {
			return werr
		}
		for _, p := range f.Parts {
			if _, err = w.Write(p); err != nil {
				break
			}
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && !f.Received.IsZero() {
		c.srv.metrics.AckLatency.Observe(time.Since(f.Received).Seconds())
	}
	return err
}
