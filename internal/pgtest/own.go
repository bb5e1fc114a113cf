package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Server is a PostgreSQL server of one test's own, which the test may stop
// and start again to see what the product does while its database is away
// (the shared server of URL must stay up for the other tests).
type Server struct {
	Port int
	dir  string
	bin  string
	cred *syscall.Credential
}

// StartServer initialises and starts a server of the test's own. It is
// stopped and its directory removed when the test ends. Missing binaries
// skip the test, or fail it when PostgreSQL is required.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		if Required() {
			t.Fatalf("PostgreSQL is required (CI=true or LEITAI_REQUIRE_POSTGRES set): %v", err)
		}
		t.Skipf("PostgreSQL not available (%v); scripts/test installs it", err)
	}
	dir, err := os.MkdirTemp("", "leitai-pgtest-own-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir, bin: bin}
	t.Cleanup(func() {
		s.stop()
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("pgtest: running as root and no user nobody: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	s.Start(t)
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// URL is the postgres:// URL of the server's postgres database.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
}

// Start starts the stopped server again on its port and waits until it
// accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=50", s.Port, s.dir)
	if out, err := s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		t.Fatalf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server at once (clients are cut off) and waits until it
// is gone.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.stop(); err != nil {
		t.Fatalf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

// StopFast stops the server as an operator's fast shutdown does
// (pg_ctl stop -m fast: open sessions are ended, the server shuts down
// cleanly) and waits until it is gone.
func (s *Server) StopFast(t testing.TB) {
	t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("pgtest: pg_ctl stop -m fast: %v\n%s", err, out)
	}
}

func (s *Server) stop() ([]byte, error) {
	if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err != nil {
		return nil, nil // not running
	}
	return s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}
