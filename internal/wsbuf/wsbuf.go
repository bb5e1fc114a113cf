// Package wsbuf reads WebSocket messages into buffers shared through a pool,
// for readers that are done with a message's bytes once they have handled
// it: thousands of connections then share a few buffers instead of
// allocating one per message.
package wsbuf

import (
	"bytes"
	"io"
	"sync"

	"github.com/gorilla/websocket"
)

var pool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Read reads ws's next message into a buffer from the pool. Hand the buffer
// back with Put once nothing refers to its bytes any more.
func Read(ws *websocket.Conn) (*bytes.Buffer, error) {
	_, r, err := ws.NextReader()
	if err != nil {
		return nil, err
	}
	return ReadFrom(r)
}

// ReadFrom reads a message's reader (from NextReader) into a buffer from
// the pool, as Read does. A reader that calls NextReader itself keeps one
// frame fewer on its stack while it waits for the next message.
func ReadFrom(r io.Reader) (*bytes.Buffer, error) {
	buf := pool.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return buf, nil
}

// Put returns a buffer from Read to the pool.
func Put(buf *bytes.Buffer) { pool.Put(buf) }
