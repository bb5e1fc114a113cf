package stage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// The coordinator talks to each worker over a pipe pair: commands as JSON
// lines on the worker's stdin, events as JSON lines on its stdout. A worker
// whose stdin closes drops its connections and exits, so workers never
// outlive their coordinator.

// Commands.
const (
	opJoin   = "join"   // connect Count contestants, say hello, join the event by PIN
	opBare   = "bare"   // connect Count plain WebSockets to the bare server
	opReport = "report" // send what was measured
	opClose  = "close"  // close every connection
)

// Events.
const (
	evReady  = "ready"  // the connect of a join or bare command is over
	evAll    = "all"    // every live contestant has Kind for Index
	evReport = "report" // the reply to report
	evClosed = "closed" // the reply to close
	evFailed = "failed" // a command could not be carried out
)

// What a worker counts per question index, and reports with evAll.
const (
	kindQuestion = "question"
	kindReveal   = "reveal"
	kindAck      = "ack" // an answer resolved: acked or refused
)

// command is one instruction to a worker.
type command struct {
	Op  string `json:"op"`
	URL string `json:"url,omitempty"`
	// URLs, when set, are the nodes contestant k dials in turn:
	// URLs[k % len(URLs)].
	URLs  []string `json:"urls,omitempty"`
	PIN   string   `json:"pin,omitempty"`
	Count int      `json:"count,omitempty"`
	// FirstAddr and Addrs are the worker's own range of source addresses.
	FirstAddr int    `json:"first_addr,omitempty"`
	Addrs     int    `json:"addrs,omitempty"`
	Name      string `json:"name,omitempty"`
	// Questions is how many question indexes to keep times for.
	Questions int `json:"questions,omitempty"`
	// AnswerWithinMS: each contestant answers at a uniformly random moment
	// this long after receiving a question.
	AnswerWithinMS  int64 `json:"answer_within_ms,omitempty"`
	AnswerAfterMS   int64 `json:"answer_after_ms,omitempty"`
	DialConcurrency int   `json:"dial_concurrency,omitempty"`
	// Answers makes a bare phase's contestants answer as a join phase's
	// do (the bare server acks every answer).
	Answers          bool  `json:"answers,omitempty"`
	ConnectTimeoutMS int64 `json:"connect_timeout_ms,omitempty"`
}

// event is one message from a worker.
type event struct {
	Ev     string        `json:"ev"`
	Kind   string        `json:"kind,omitempty"`
	Index  int           `json:"index,omitempty"`
	Ready  int           `json:"ready,omitempty"`
	Failed int           `json:"failed,omitempty"`
	Report *workerReport `json:"report,omitempty"`
	Err    string        `json:"err,omitempty"`

	worker int // set by the coordinator's reader
}

// workerReport is everything a worker measured in one phase. Times are
// Unix nanoseconds on the shared machine clock; 0 means never.
type workerReport struct {
	Contestants int `json:"contestants"`
	Ready       int `json:"ready"`
	// Question[i][k] and Reveal[i][k] are when contestant k read question
	// or reveal i.
	Question [][]int64 `json:"question"`
	Reveal   [][]int64 `json:"reveal"`
	// Ack[i][k] is contestant k's answer-to-ack time for question i in
	// nanoseconds; 0: no answer sent, -1: sent and never acked.
	Ack [][]int64 `json:"ack"`
	// AnswerAt[i][k] is when contestant k wrote its answer to question i.
	AnswerAt [][]int64        `json:"answer_at"`
	Finished int              `json:"finished"`
	Sent     int64            `json:"answers_sent"`
	Acked    int64            `json:"answers_acked"`
	Lost     int64            `json:"lost"`
	Errors   map[string]int64 `json:"errors"`
	Samples  []string         `json:"error_samples,omitempty"`
	CPU      float64          `json:"cpu_s"`
	Connect  float64          `json:"connect_s"`
}

// workerProc is the coordinator's end of one worker.
type workerProc struct {
	in   io.WriteCloser
	out  io.ReadCloser
	wait func() error
}

// Spawner starts worker i and returns its pipes and a wait function.
type Spawner func(ctx context.Context, i int) (in io.WriteCloser, out io.ReadCloser, wait func() error, err error)

// ExecWorkers spawns each worker as a child process running argv (for
// example this binary with "bench event-worker"); its stderr is ours.
func ExecWorkers(argv ...string) Spawner {
	return func(ctx context.Context, i int) (io.WriteCloser, io.ReadCloser, func() error, error) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "LEITAI_STAGE_WORKER="+strconv.Itoa(i))
		cmd.Stderr = os.Stderr
		cmd.WaitDelay = 5 * time.Second
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, nil, nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, nil, fmt.Errorf("stage: start worker %d: %w", i, err)
		}
		return in, out, cmd.Wait, nil
	}
}

// InProcessWorkers runs each worker as goroutines of this process, for
// tests and small runs.
func InProcessWorkers() Spawner {
	return func(ctx context.Context, i int) (io.WriteCloser, io.ReadCloser, func() error, error) {
		cmdR, cmdW := io.Pipe()
		evR, evW := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := ServeWorker(ctx, cmdR, evW)
			evW.CloseWithError(io.EOF)
			done <- err
		}()
		return cmdW, evR, func() error { return <-done }, nil
	}
}

// lineWriter writes JSON lines; safe from many goroutines.
type lineWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{w: bufio.NewWriterSize(w, 64<<10)} }

func (l *lineWriter) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	b = append(b, '\n')
	if _, err := l.w.Write(b); err != nil {
		l.err = err
		return err
	}
	l.err = l.w.Flush()
	return l.err
}

// readLines decodes JSON lines from r into fn until r ends.
func readLines(r io.Reader, fn func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 256<<20) // a report holds every sample
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	return nil
}
