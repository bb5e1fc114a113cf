package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/leitai/leitai/loadgen"
	"github.com/leitai/leitai/loadgen/stage"
)

// benchSub returns the `leitai bench` subcommand named by args[0], or nil
// for the quick-match bench.
func benchSub(args []string) func(context.Context, []string) error {
	if len(args) == 0 {
		return nil
	}
	switch args[0] {
	case "event":
		return benchEventCmd
	case "event-worker": // started by bench event, not by people
		return func(ctx context.Context, _ []string) error {
			// A worker process only measures. Its garbage collections
			// would pause its readers and show up as server latency, so
			// it trades memory (a few hundred MB) for fewer of them.
			debug.SetGCPercent(400)
			return stage.ServeWorker(ctx, os.Stdin, os.Stdout)
		}
	case "bare-server": // started by bench event, not by people
		return bareServerCmd
	}
	return nil
}

// benchEventCmd benchmarks one stage event against a running server, then
// the same broadcasts from a bare gorilla/websocket server, and reports
// fan-out, ack latency, memory and CPU with the ratios.
func benchEventCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench event", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: leitai bench event --admin-token TOKEN --server-pid PID [flags]

Runs one stage event with many contestants against a Leitai server on this
machine (loopback only), from worker processes that spread their connections
over 127.0.0.x, then broadcasts the same frames from a bare gorilla/websocket
server to as many connections, and reports both with the ratios.

Flags:`)
		fs.PrintDefaults()
	}
	var cfg stage.Config
	urls := fs.String("url", "ws://127.0.0.1:8080/ws", "the server's WebSocket URL, or a cluster's nodes' comma-separated (contestants spread over them in turn; the event is created and hosted on the first); loopback hosts only")
	fs.StringVar(&cfg.AdminToken, "admin-token", env("LEITAI_ADMIN_TOKEN", ""), "organizer token of the server (LEITAI_ADMIN_TOKEN)")
	pids := fs.String("server-pid", "", "the server's process id, or the nodes' comma-separated: their RSS and CPU from /proc, summed")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "the cluster's Redis (a --redis URL): report its CPU (INFO cpu) beside the nodes'")
	fs.IntVar(&cfg.Contestants, "contestants", 2000, "contestants in the event")
	fs.IntVar(&cfg.Workers, "workers", 0, fmt.Sprintf("worker processes; 0: one per %d contestants", stage.MaxContestantsPerWorker))
	fs.IntVar(&cfg.Questions, "questions", 5, "questions in the event (question 0 is not timed)")
	fs.DurationVar(&cfg.AnswerWithin, "answer-within", 2*time.Second, "each contestant answers at a random moment within this long of getting a question")
	fs.DurationVar(&cfg.AnswerAfter, "answer-after", 0, "delay every answer by this much more (to measure a fan-out without answers arriving during it)")
	fs.DurationVar(&cfg.TimeLimit, "time-limit", 60*time.Second, "each question's time limit on the server")
	fs.DurationVar(&cfg.Settle, "settle", time.Second, "quiet pause before each broadcast")
	fs.DurationVar(&cfg.Wait, "wait", 60*time.Second, "how long a broadcast may take to reach everyone")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 10*time.Minute, "how long the workers may take to connect")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", 32, "connection attempts in flight per worker")
	fs.IntVar(&cfg.FirstAddr, "first-addr", 2, "last octet of the workers' first source address")
	fs.BoolVar(&cfg.SkipBare, "no-bare", false, "leave out the bare broadcast")
	fs.BoolVar(&cfg.BareAnswers, "bare-answers", false, "add a second bare run in which the contestants answer and the bare server acks them (what the answer traffic alone costs a broadcast; the targets stay judged against the silent bare run)")
	inProc := fs.Bool("in-process", false, "run the workers and the bare server inside this process (small runs only)")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout (the text report goes to stderr)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench event: unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.URLs, err = loadgen.ParseURLs(*urls); err != nil {
		return err
	}
	if cfg.ServerPIDs, err = loadgen.ParsePIDs(*pids); err != nil {
		return err
	}
	if *inProc {
		cfg.Spawn, cfg.StartBare = stage.InProcessWorkers(), stage.InProcessBare()
	} else {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cfg.Spawn = stage.ExecWorkers(exe, "bench", "event-worker")
		cfg.StartBare = stage.ExecBare(exe, "bench", "bare-server", "--addr", "127.0.0.1:0")
	}
	cfg.Log = os.Stderr
	loadBefore := loadAvg()
	rep, err := stage.Run(ctx, cfg)
	if err != nil {
		return err
	}
	out := os.Stdout
	if *asJSON {
		out = os.Stderr
	}
	rep.Print(out)
	fmt.Fprintf(out, "machine load       %s before, %s after (1, 5, 15 min)\n", loadBefore, loadAvg())
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if !rep.Checks.OK() {
		return fmt.Errorf("bench event: not every contestant got everything: %+v", rep.Checks)
	}
	return nil
}

// bareServerCmd runs the bare broadcast server the event bench compares
// against, until its stdin closes.
func bareServerCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench bare-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return stage.ServeBare(ctx, *addr, os.Stdin, os.Stdout)
}
