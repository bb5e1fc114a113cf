// Package redistest starts real redis-server processes for tests: one
// standalone server, or a Redis Cluster of several masters, on loopback
// ports that were free, with their files in the test's temporary directory.
// Every process is killed when the test ends.
//
// When redis-server is not installed the test is skipped, unless the
// environment says Redis is required (CI=true or LEITAI_REQUIRE_REDIS set,
// as scripts/test does): then it fails.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Port int
	dir  string
	args []string
	cmd  *exec.Cmd
	exit chan struct{}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the server's redis:// URL (database 0).
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Servers []*Server
}

// URL is the cluster's redis:// URL listing every master as a seed.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		addrs[i] = s.Addr()
	}
	return "redis://" + strings.Join(addrs, ",") + "?cluster=true"
}

// Required reports whether a missing redis-server must fail the test.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("LEITAI_REQUIRE_REDIS") != ""
}

// need returns the path of a binary, skipping or failing the test without it.
func need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if Required() {
			t.Fatalf("%s is not installed and Redis is required here (CI=true or LEITAI_REQUIRE_REDIS); install redis-server (apt-get install redis-server)", name)
			return ""
		}
		t.Skipf("%s is not installed: skipping the Redis tests (install redis-server, or run scripts/test, to run them)", name)
	}
	return p
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartServer starts a standalone redis-server without persistence.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

// StartWithArgs starts a standalone redis-server without persistence, with
// extra configuration arguments (e.g. "--client-output-buffer-limit",
// "pubsub 256kb 256kb 0").
func StartWithArgs(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, extra)
}

// StartPersistent starts a standalone redis-server with the append-only
// file on (appendfsync always), so that Term and Start restart it on the
// same port with what it had acknowledged.
func StartPersistent(t testing.TB) *Server {
	t.Helper()
	return start(t, []string{"--appendonly", "yes", "--appendfsync", "always"})
}

func start(t testing.TB, extra []string) *Server {
	t.Helper()
	need(t, "redis-server")
	dir := t.TempDir()
	s := &Server{Port: freePort(t), dir: dir}
	s.args = append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log")}, extra...)
	s.Start(t)
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Sentinel is a redis-server in sentinel mode watching one master.
type Sentinel struct {
	*Server
	Master     *Server
	MasterName string
}

// URL is the redis:// URL that reaches the master through the sentinel.
func (s *Sentinel) URL() string {
	return "redis://" + s.Addr() + "/0?master=" + s.MasterName
}

// StartSentinel starts a standalone master and one sentinel monitoring it
// under name, and waits until the sentinel knows the master's address.
func StartSentinel(t testing.TB, name string) *Sentinel {
	t.Helper()
	master := StartServer(t)
	dir := t.TempDir()
	s := &Server{Port: freePort(t), dir: dir}
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\nlogfile %s\n"+
		"sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n",
		s.Port, dir, filepath.Join(dir, "redis.log"), name, master.Port, name)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s.args = []string{conf, "--sentinel"}
	s.Start(t)
	t.Cleanup(func() { s.Stop(t) })
	want := "127.0.0.1:" + strconv.Itoa(master.Port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("redis-cli", "-p", strconv.Itoa(s.Port), "sentinel", "get-master-addr-by-name", name).Output()
		if strings.Join(strings.Fields(string(out)), ":") == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: the sentinel does not know master %s at %s: %q", name, want, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &Sentinel{Server: s, Master: master, MasterName: name}
}

// Start (re)starts the server on its port and waits until it answers PING.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		t.Fatalf("redistest: server on port %d is already running", s.Port)
	}
	cmd := exec.Command("redis-server", s.args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.cmd, s.exit = cmd, make(chan struct{})
	go func(exit chan struct{}) { _ = cmd.Wait(); close(exit) }(s.exit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if reply, err := s.Do("PING"); err == nil && reply == "+PONG" {
			return
		}
		select {
		case <-s.exit:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.cmd = nil
			t.Fatalf("redistest: redis-server on port %d exited at start:\n%s", s.Port, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: redis-server on port %d did not answer within 10s", s.Port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: nothing is saved) and waits for it to exit.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// Term stops the server with SIGTERM, as an operator's restart does (with
// the append-only file on, it is flushed first), and waits for it to exit.
func (s *Server) Term(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(20 * time.Second):
		t.Fatalf("redistest: redis-server on port %d still running 20 s after SIGTERM", s.Port)
	}
	s.cmd = nil
}

// Do sends one inline command and returns the first line of the reply.
func (s *Server) Do(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// StartCluster starts masters cluster-enabled servers (at least 3) and joins
// them with redis-cli --cluster create, then waits until every node reports
// the cluster ok.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	cli := need(t, "redis-cli")
	c := &Cluster{}
	for i := 0; i < masters; i++ {
		c.Servers = append(c.Servers, start(t, []string{"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-port", strconv.Itoa(freePort(t)),
			"--cluster-node-timeout", "5000"}))
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.Servers {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range c.Servers {
		for {
			out, err := exec.Command(cli, "-p", strconv.Itoa(s.Port), "cluster", "info").Output()
			if err == nil && strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %s not ok within 20s: %s", s.Addr(), out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}
