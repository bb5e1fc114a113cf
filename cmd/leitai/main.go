// Command leitai is the Leitai quiz competition server and its tools:
//
//	leitai serve     run a node (default: SQLite in ./data, port 8080)
//	leitai import    import a question bank file (CSV, JSON, XLSX)
//	leitai bench     play many concurrent matches against a running server
//	leitai proxy     spread requests over several nodes (a local cluster's one URL)
//	leitai version   print the version and commit of this build
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/leitai/leitai/internal/version"
	_ "time/tzdata" // --tz works on hosts without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "leitai:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "import":
		return importCmd(ctx, args)
	case "bench":
		return benchCmd(ctx, args)
	case "proxy":
		return proxyCmd(ctx, args)
	case "version", "-version", "--version":
		fmt.Println(version.Get())
		return nil
	case "help", "-h", "--help":
		fmt.Println("usage: leitai [serve|import|bench|proxy|version] [flags]; leitai CMD -h for the flags")
		return nil
	}
	return fmt.Errorf("unknown command %q (serve, import, bench, proxy, version)", cmd)
}
