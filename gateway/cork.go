package gateway

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkConn is a connection's socket as the WebSocket library sees it. While
// the connection's writer has it corked, the library's writes are gathered
// and go to the socket in one system call when it is uncorked: a writer
// that finds several frames queued (an answer's ack and the room's
// progress, a reveal and its scoreboard) writes them all at once instead
// of one call each. Uncorked, writes go straight through, as a close frame
// written from another goroutine does.
//
// It also keeps the write deadline last given to the socket: the library
// sets the deadline before every frame, and setting an unchanged one still
// resets a runtime timer.
type corkConn struct {
	net.Conn

	// mu guards the following fields.
	mu     sync.Mutex
	corked bool
	buf    *[]byte   // the gathered bytes while corked, from corkBufs
	wd     time.Time // the write deadline the socket has
	wdSet  bool
}

// corkBufs holds the buffers of corked writes between batches, so an idle
// connection holds none.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxCorked is how many bytes a batch gathers before the writer sends them.
const maxCorked = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wdSet && t.Equal(c.wd) {
		return nil
	}
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.wd, c.wdSet = t, true
	return nil
}

func (c *corkConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Conn.SetDeadline(t); err != nil {
		c.wdSet = false
		return err
	}
	c.wd, c.wdSet = t, true
	return nil
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = corkBufs.Get().(*[]byte)
	c.mu.Unlock()
}

// gathered is how many bytes wait to be sent.
func (c *corkConn) gathered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		return 0
	}
	return len(*c.buf)
}

// uncork sends what was gathered, in one write, and lets writes through
// again. The lock is held across the write, so a write from another
// goroutine cannot get between the gathered frames.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return nil
	}
	c.corked = false
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= maxCorked {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	return err
}

// corkWriter hands the WebSocket library a corkConn when it takes the
// connection over from the HTTP server.
type corkWriter struct {
	http.ResponseWriter
	conn *corkConn
}

var errNoHijack = errors.New("gateway: the response cannot be taken over")

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errNoHijack
	}
	nc, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	return w.conn, brw, nil
}
