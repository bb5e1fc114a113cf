package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// newDialers makes one dialer per source address. A server on the IPv6
// loopback is dialed from ::1 only.
func newDialers(cfg Config) ([]*websocket.Dialer, error) {
	u, _ := url.Parse(cfg.URL)
	ip := net.ParseIP(u.Hostname())
	v6 := ip != nil && ip.To4() == nil
	if v6 && cfg.Addrs > 1 {
		return nil, fmt.Errorf("%w: a server on %s can be reached from ::1 only; use 127.0.0.1 to spread over %d source addresses", ErrBadConfig, ip, cfg.Addrs)
	}
	pool := &sync.Pool{}
	out := make([]*websocket.Dialer, cfg.Addrs)
	for i := range out {
		nd := &net.Dialer{Timeout: 10 * time.Second}
		if !v6 {
			nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(cfg.FirstAddr+i))}
		}
		out[i] = &websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: 10 * time.Second,
			// Small buffers and a shared write pool: the generator runs
			// beside the server and should cost it as little as possible.
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
			WriteBufferPool: pool,
		}
	}
	return out, nil
}

// connectAll opens every player's connection, DialConcurrency at a time,
// and waits (up to ConnectTimeout) until each has been welcomed or failed.
func (g *gen) connectAll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ConnectTimeout)
	defer cancel()
	n := g.cfg.Players()
	g.welcomed.Add(n)
	seed := rand.Uint64()
	sem := make(chan struct{}, g.cfg.DialConcurrency)
	var dials sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			g.stats.fail("dial:not_attempted", "")
			g.welcomed.Done()
			continue
		}
		dials.Add(1)
		go func() {
			defer dials.Done()
			defer func() { <-sem }()
			g.connect(ctx, i, seed)
		}()
	}
	dials.Wait()
	welcomed := make(chan struct{})
	go func() { g.welcomed.Wait(); close(welcomed) }()
	select {
	case <-welcomed:
	case <-ctx.Done():
	}
}

// connect opens player i's connection and says hello.
func (g *gen) connect(ctx context.Context, i int, seed uint64) {
	d := g.dialers[i%len(g.dialers)]
	ws, resp, err := d.DialContext(ctx, g.cfg.URLs[i%len(g.cfg.URLs)], nil)
	if err != nil {
		g.stats.dialFailed.Add(1)
		code := "dial:" + errClass(err)
		if resp != nil {
			code = "dial:http_" + strconv.Itoa(resp.StatusCode)
		}
		g.stats.fail(code, err.Error())
		g.welcomed.Done()
		return
	}
	ws.SetReadLimit(1 << 20)
	p := &player{g: g, ws: ws, rng: rand.New(rand.NewPCG(seed, uint64(i))), pending: map[string]sent{}}
	g.stats.opened()
	g.mu.Lock()
	g.players = append(g.players, p)
	g.mu.Unlock()
	g.done.Add(1)
	go p.read()
	p.mu.Lock()
	p.send("hello", "h", map[string]string{"name": g.cfg.Name + "-" + strconv.Itoa(i)})
	p.mu.Unlock()
}

// errClass names an I/O error briefly, for counting.
func errClass(err error) string {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return "close:" + strconv.Itoa(ce.Code)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken_pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no_source_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, websocket.ErrBadHandshake):
		return "bad_handshake"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}
