package stage

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"time"
)

// BareStarter starts a bare broadcast server and returns its WebSocket URL,
// its process id (0 when it shares this process, so its use cannot be told
// apart), and a function that stops it.
type BareStarter func(ctx context.Context) (wsURL string, pid int, stop func() error, err error)

// bareHello is the line a bare server process prints once it listens.
type bareHello struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// ServeBare runs a bare broadcast server on addr (a loopback address) in
// this process: it prints one JSON line {"url":…,"pid":…} on out once it
// listens, and serves until in ends or ctx is cancelled.
func ServeBare(ctx context.Context, addr string, in io.Reader, out io.Writer) error {
	ln, err := listenLoopback(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, in)
		cancel()
	}()
	b, _ := json.Marshal(bareHello{URL: "ws://" + ln.Addr().String() + "/ws", PID: os.Getpid()})
	if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
		ln.Close()
		return err
	}
	return NewBareServer().Run(ctx, ln)
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("stage: bare server: %q is not a loopback address", addr)
	}
	return net.Listen("tcp", addr)
}

// ExecBare starts the bare server as a child process running argv (for
// example this binary with "bench bare-server"), so its memory and CPU can
// be read apart from everything else.
func ExecBare(argv ...string) BareStarter {
	return func(ctx context.Context) (string, int, func() error, error) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stderr = os.Stderr
		cmd.WaitDelay = 10 * time.Second
		in, err := cmd.StdinPipe()
		if err != nil {
			return "", 0, nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return "", 0, nil, err
		}
		if err := cmd.Start(); err != nil {
			return "", 0, nil, fmt.Errorf("stage: start bare server: %w", err)
		}
		stop := func() error {
			in.Close()
			return cmd.Wait()
		}
		line, err := bufio.NewReader(out).ReadBytes('\n')
		var h bareHello
		if err == nil {
			err = json.Unmarshal(line, &h)
		}
		if err != nil {
			_ = cmd.Process.Kill()
			_ = stop()
			return "", 0, nil, fmt.Errorf("stage: bare server did not start: %w", err)
		}
		go func() { _, _ = io.Copy(io.Discard, out) }()
		return h.URL, cmd.Process.Pid, stop, nil
	}
}

// InProcessBare runs the bare server inside this process (tests).
func InProcessBare() BareStarter {
	return func(ctx context.Context) (string, int, func() error, error) {
		ln, err := listenLoopback("127.0.0.1:0")
		if err != nil {
			return "", 0, nil, err
		}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- NewBareServer().Run(ctx, ln) }()
		return "ws://" + ln.Addr().String() + "/ws", 0, func() error { cancel(); return <-done }, nil
	}
}
