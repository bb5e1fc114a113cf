// Package nodetest runs Leitai clusters for tests: the leitai binary,
// built once per test binary, started as several node processes on free
// loopback ports, sharing a real redis-server (internal/redistest) and a
// real PostgreSQL (internal/pgtest), with WebSocket clients to talk to
// them. Nodes can be killed (SIGKILL) or stopped (SIGTERM) mid-test.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(nodetest.Main(m)) }
package nodetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/internal/redistest"
)

// AdminToken is every test cluster's organizer token.
const AdminToken = "nodetest-organizer-token"

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Main runs the tests, then stops the PostgreSQL server and removes the
// built binary.
func Main(m *testing.M) int {
	code := pgtest.Main(m)
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}

// Binary builds cmd/leitai (once per test binary) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "leitai-nodetest-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "leitai")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goBin, "build", "-o", build.bin, "github.com/leitai/leitai/cmd/leitai")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("nodetest: %v", build.err)
	}
	return build.bin
}

// Cluster is a running test cluster.
type Cluster struct {
	t     testing.TB
	bin   string
	Redis *redistest.Server
	DB    string // PostgreSQL URL
	// DBServer is the cluster's own PostgreSQL server (Options.OwnDB), nil
	// when the nodes use a database on the shared one.
	DBServer *pgtest.Server
	Nodes    []*Node
	args     []string
}

// Node is one node process.
type Node struct {
	c    *Cluster
	ID   string
	Addr string // host:port of its HTTP and WebSocket listener
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	// exit is the process's wait error, set when done is closed.
	exit error
	out  *syncBuffer
	mu   sync.Mutex
}

// Options shape a test cluster beyond Start's defaults.
type Options struct {
	// Args are extra flags given to every node's serve command (e.g.
	// "--match-reveal", "200ms").
	Args []string
	// AppendOnly runs Redis with appendonly yes, so it can be stopped and
	// started again (Redis.Term, Redis.Start) with its data.
	AppendOnly bool
	// RedisArgs are extra redis-server arguments (not with AppendOnly).
	RedisArgs []string
	// OwnDB runs PostgreSQL as a server of the test's own (DBServer), which
	// the test may stop and start again; otherwise the nodes share a fresh
	// database on the test binary's server.
	OwnDB bool
}

// Start starts a cluster of n nodes.
func Start(t testing.TB, n int) *Cluster { return StartWith(t, n, Options{}) }

// StartWith starts a cluster of n nodes shaped by o.
func StartWith(t testing.TB, n int, o Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t), args: o.Args}
	if o.AppendOnly {
		c.Redis = redistest.StartPersistent(t)
	} else {
		c.Redis = redistest.StartWithArgs(t, o.RedisArgs...)
	}
	if o.OwnDB {
		c.DBServer = pgtest.StartServer(t)
		c.DB = c.DBServer.URL()
	} else {
		c.DB = pgtest.URL(t)
	}
	for i := 1; i <= n; i++ {
		c.Nodes = append(c.Nodes, c.start(fmt.Sprintf("node%d", i)))
	}
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("nodetest: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (c *Cluster) start(id string) *Node {
	c.t.Helper()
	n := &Node{c: c, ID: id, Addr: "127.0.0.1:" + strconv.Itoa(freePort(c.t)), dir: c.t.TempDir(), done: make(chan struct{})}
	out := &syncBuffer{}
	n.out = out
	n.cmd = exec.Command(c.bin, "serve", "--addr", n.Addr, "--data", n.dir, "--db", c.DB, "--redis", c.Redis.URL(),
		"--node-id", id, "--admin-token", AdminToken, "--log-level", "info")
	n.cmd.Args = append(n.cmd.Args, c.args...)
	n.cmd.Env = append(os.Environ(), "LEITAI_REDIS=", "LEITAI_DB=")
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", id, err)
	}
	go func() {
		err := n.cmd.Wait()
		n.mu.Lock()
		n.exit = err
		n.mu.Unlock()
		close(n.done)
	}()
	c.t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if c.t.Failed() {
			c.t.Logf("%s output:\n%s", id, tail(out.String(), 6000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + n.Addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.done:
			c.t.Fatalf("%s exited at start: %v\n%s", id, n.exit, tail(out.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not healthy in 30 s:\n%s", id, tail(out.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Output is what the node has written to its stdout and stderr so far.
func (n *Node) Output() string { return n.out.String() }

// Kill ends the node with SIGKILL: nothing it holds is handed over.
func (n *Node) Kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// Term sends SIGTERM and waits for the node to exit.
func (n *Node) Term() error {
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-n.done:
	case <-time.After(60 * time.Second):
		return errors.New("nodetest: node still running 60 s after SIGTERM")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exit
}

// URL is an http URL on the node.
func (n *Node) URL(path string) string { return "http://" + n.Addr + path }

// API calls the node's HTTP API with token (if any) and decodes a JSON
// reply into out (if not nil). It returns the status code.
func (n *Node) API(method, path, token string, body, out any) int {
	t := n.c.t
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.URL(path), rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// Event is a created stage event.
type Event struct {
	ID, Room, PIN string
	HostToken     string `json:"host_token"`
	ScreenToken   string `json:"screen_token"`
}

// CreateEvent creates a stage event through the node.
func (n *Node) CreateEvent(body map[string]any) Event {
	t := n.c.t
	t.Helper()
	var ev Event
	if code := n.API("POST", "/api/v1/events", AdminToken, body, &ev); code != http.StatusCreated {
		t.Fatalf("create event on %s: %d %+v", n.ID, code, ev)
	}
	return ev
}

// Metric returns the value of the sample named name (with its labels, as
// /metrics prints it, e.g. `leitai_leases_held{node="node1"}`) on the node,
// and whether it is there.
func (n *Node) Metric(name string) (float64, bool) {
	t := n.c.t
	t.Helper()
	resp, err := http.Get(n.URL("/metrics"))
	if err != nil {
		t.Fatalf("metrics of %s: %v", n.ID, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
