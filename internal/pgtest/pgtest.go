// Package pgtest gives tests a real PostgreSQL: one throwaway server per
// test binary, started on first use (initdb in a temporary directory,
// pg_ctl start on a free loopback port) and stopped when the tests end,
// with a fresh database for each test.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and a test asks for a database with URL(t). When the PostgreSQL server
// binaries are missing the test is skipped, or fails if the environment
// says PostgreSQL is required (CI=true or LEITAI_REQUIRE_POSTGRES=1, as
// scripts/test sets). initdb and postgres refuse to run as root, so as
// root the server runs as the user nobody, in a directory it owns.
//
// The server does not fsync: tests check behaviour, and a killed test
// process (not the machine) is the worst they do to it.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Required reports whether a missing PostgreSQL must fail the tests rather
// than skip them.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("LEITAI_REQUIRE_POSTGRES") != ""
}

// server is the test binary's PostgreSQL, started by the first URL call.
var server struct {
	once  sync.Once
	err   error // why it could not start
	skip  bool  // err means the binaries are missing, not a failure
	dir   string
	bin   string
	port  int
	admin *sql.DB
	cred  *syscall.Credential
	dbs   atomic.Int64
}

// Main runs the tests and stops the server if one was started. Use it as
// the body of TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// URL creates a fresh, empty database on the test binary's server and
// returns its postgres:// URL. The database is dropped when the test ends;
// close every connection to it in an earlier Cleanup (registered after
// this call).
func URL(t testing.TB) string {
	t.Helper()
	server.once.Do(start)
	if server.err != nil {
		if server.skip && !Required() {
			t.Skipf("PostgreSQL not available (%v); scripts/test installs it", server.err)
		}
		t.Fatalf("PostgreSQL is required (CI=true or LEITAI_REQUIRE_POSTGRES set): %v", server.err)
	}
	name := fmt.Sprintf("t%d", server.dbs.Add(1))
	if _, err := server.admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := server.admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return serverURL(name)
}

// serverURL is the URL of database name on the running server.
func serverURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", server.port, name)
}

// BinDir finds the PostgreSQL server binaries: $LEITAI_PG_BINDIR, the
// directory of an initdb on PATH, `pg_config --bindir`, or the newest
// /usr/lib/postgresql/*/bin (Debian's place for them).
func BinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("LEITAI_PG_BINDIR"); dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("LEITAI_PG_BINDIR=%s has no initdb, pg_ctl and postgres", dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", errors.New("no initdb found (apt-get install postgresql)")
}

// version reads the major version out of /usr/lib/postgresql/N/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// start sets up and starts the server, recording any failure in server.err.
func start() {
	bin, err := BinDir()
	if err != nil {
		server.err, server.skip = err, true
		return
	}
	server.bin = bin
	if err := startIn(); err != nil {
		server.err = err
		stop()
	}
}

func startIn() error {
	dir, err := os.MkdirTemp("", "leitai-pgtest-")
	if err != nil {
		return err
	}
	server.dir = dir
	if os.Geteuid() == 0 {
		// initdb and postgres refuse root: run them as nobody, who
		// must own the directory.
		u, err := user.Lookup("nobody")
		if err != nil {
			return fmt.Errorf("running as root and no user nobody: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		server.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A port is free when we look; another process may take it before
	// the server binds it, so try a few.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"+
			" -c shared_buffers=32MB -c max_connections=200", port, dir)
		out, err := run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start")
		if err == nil {
			server.port = port
			break
		}
		if attempt == 4 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
	admin, err := sql.Open("pgx", serverURL("postgres"))
	if err != nil {
		return err
	}
	server.admin = admin
	return admin.PingContext(context.Background())
}

// stop stops the server and removes its directory.
func stop() {
	if server.admin != nil {
		server.admin.Close()
	}
	if server.port != 0 {
		_, _ = run("pg_ctl", "-D", filepath.Join(server.dir, "data"), "-m", "immediate", "-w", "stop")
		server.port = 0
	}
	if server.dir != "" {
		os.RemoveAll(server.dir)
	}
}

// run runs one of the server binaries, as nobody when we are root.
func run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(server.bin, name), args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if server.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: server.cred}
	}
	return cmd.CombinedOutput()
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
