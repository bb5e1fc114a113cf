package loadgen

import (
	"time"

	"github.com/gorilla/websocket"
)

// The exported helpers below let other generators (the stage event
// benchmark in loadgen/stage) spread and count their connections the same
// way this one does.

// SourceDialers returns one dialer per source address, 127.0.0.first
// onwards, with the generator's small buffers. Keep each address under the
// server's per-address limit (PerAddr connections is safe).
func SourceDialers(wsURL string, addrs, first int) ([]*websocket.Dialer, error) {
	return newDialers(Config{URL: wsURL, Addrs: addrs, FirstAddr: first})
}

// ErrClass names an I/O error briefly, for counting ("reset", "eof",
// "close:4002", …).
func ErrClass(err error) string { return errClass(err) }

// SelfCPU returns this process's CPU time so far (user and system).
func SelfCPU() time.Duration { return selfCPU() }

// CheckFiles refuses a process that would need more open files than it may
// have for n connections.
func CheckFiles(n int) error { return checkFiles(n) }
