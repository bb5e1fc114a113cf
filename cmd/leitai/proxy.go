package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/proxy"
)

// proxyCmd runs a round-robin reverse proxy in front of several nodes, so a
// cluster started on one machine (scripts/cluster) has one URL without a
// container engine or nginx. It is for trying and testing a cluster; in
// production any load balancer that passes WebSocket upgrades will do.
func proxyCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: leitai proxy --backends http://host:port,http://host:port [flags]

Hands each request and each WebSocket to the next node in turn (no sticky
sessions); a node that refused a connection is passed over for --cooldown.

Flags:`)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", env("LEITAI_PROXY_ADDR", ":8080"), "listen address (LEITAI_PROXY_ADDR)")
	list := fs.String("backends", env("LEITAI_PROXY_BACKENDS", ""), "comma-separated base URLs of the nodes (LEITAI_PROXY_BACKENDS)")
	cooldown := fs.Duration("cooldown", proxy.DefaultCooldown, "how long a node that failed a request is passed over")
	logLevel := fs.String("log-level", env("LEITAI_LOG_LEVEL", "info"), "debug, info, warn or error (LEITAI_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("proxy: unexpected arguments %q", fs.Args())
	}
	backends, err := proxy.ParseBackends(*list)
	if err != nil {
		return fmt.Errorf("proxy: --backends: %w", err)
	}
	if *cooldown <= 0 {
		return fmt.Errorf("proxy: --cooldown must be more than 0, not %v", *cooldown)
	}
	log := newLogger(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), *logLevel, cluster.NodeID("proxy"))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           proxy.New(backends, proxy.Options{Cooldown: *cooldown, Log: log}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.String()
	}
	log.Info().Str("addr", ln.Addr().String()).Strs("backends", names).Msg("proxying")
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Shutdown does not wait for hijacked connections (the WebSockets):
	// they end when their nodes close them or this process exits.
	_ = srv.Shutdown(sctx)
	log.Info().Msg("stopped")
	return nil
}
