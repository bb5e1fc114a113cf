package main_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/pgtest"
	"github.com/leitai/leitai/internal/redistest"
)

// clusterScript runs scripts/cluster with args in the state directory dir.
func clusterScript(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join("..", "..", "scripts", "cluster"), args...)
	cmd.Env = append(os.Environ(), append([]string{"LEITAI_CLUSTER_DIR=" + dir, "LEITAI_BIN=" + binary}, env...)...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("scripts/cluster %v: %v\n%s", args, err, out)
	return "", -1
}

// readEnvFile reads the KEY=value lines scripts/cluster writes.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClusterScriptStartsAndStops runs scripts/cluster on a real Redis and
// PostgreSQL: start brings up every part with its URLs, status sees them
// ready, stop leaves no process and no directory behind. A build without
// cluster mode must be told apart clearly (exit 3, nothing left running);
// the test then starts the tooling with LEITAI_CLUSTER_REDIS=off.
func TestClusterScriptStartsAndStops(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if redistest.Required() {
			t.Fatalf("redis-server is required here: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	if _, err := pgtest.BinDir(); err != nil {
		if pgtest.Required() {
			t.Fatalf("PostgreSQL is required here: %v", err)
		}
		t.Skip(err)
	}
	// initdb runs as nobody, who must reach the state directory: not under
	// t.TempDir, which only its owner may enter.
	parent, err := os.MkdirTemp("", "leitai-cluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	dir := filepath.Join(parent, "c")
	t.Cleanup(func() {
		if _, err := os.Stat(dir); err == nil {
			out, _ := clusterScript(t, dir, nil, "stop")
			t.Logf("cleanup: %s", out)
		}
	})

	var env []string
	out, code := clusterScript(t, dir, nil, "start")
	if code == 3 {
		if !strings.Contains(out, "no cluster mode yet") {
			t.Fatalf("exit 3 without saying why:\n%s", out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("a refused start left %s behind (%v)", dir, err)
		}
		t.Log("this build refuses --redis; starting the cluster with LEITAI_CLUSTER_REDIS=off")
		env = []string{"LEITAI_CLUSTER_REDIS=off"}
		out, code = clusterScript(t, dir, env, "start")
	}
	if code != 0 {
		t.Fatalf("start: exit %d\n%s", code, out)
	}
	e := readEnvFile(t, filepath.Join(dir, "env"))
	for _, want := range []string{"player page     " + e["PROXY_URL"] + "/", "organizer page  " + e["PROXY_URL"] + "/admin?token=" + e["ADMIN_TOKEN"], e["REDIS_URL"], e["DB_URL"]} {
		if !strings.Contains(out, want) {
			t.Errorf("start did not print %q:\n%s", want, out)
		}
	}
	if out, again := clusterScript(t, dir, env, "start"); again == 0 || !strings.Contains(out, "already started") {
		t.Errorf("a second start: exit %d\n%s", again, out)
	}

	if out, code := clusterScript(t, dir, env, "status"); code != 0 || strings.Count(out, "/readyz 200") != 4 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	nodes := strings.Fields(e["NODE_URLS"])
	metrics := strings.Fields(e["METRICS_URLS"])
	if len(nodes) != 3 || len(metrics) != 3 || strings.Count(e["NODE_WS_URLS"], ",") != 2 {
		t.Fatalf("env file: %v", e)
	}
	for i := range nodes {
		if code, body := httpGet(t, nodes[i]+"/readyz"); code != 200 {
			t.Errorf("%s/readyz: %d %s", nodes[i], code, body)
		}
		if _, body := httpGet(t, metrics[i]); !strings.Contains(body, `node="node`+strconv.Itoa(i+1)+`"`) {
			t.Errorf("%s does not name node%d", metrics[i], i+1)
		}
	}
	if code, body := httpGet(t, e["PROXY_URL"]+"/readyz"); code != 200 {
		t.Errorf("through the proxy: %d %s", code, body)
	}
	// Players through the proxy, as a browser opens the page there: each
	// is welcomed by a node.
	proxyHost := strings.TrimPrefix(e["PROXY_URL"], "http://")
	for i := range 3 {
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+proxyHost+"/ws", http.Header{"Origin": {e["PROXY_URL"]}})
		if err != nil {
			t.Fatalf("player %d through the proxy: %v (%v)", i, err, resp)
		}
		if err := ws.WriteJSON(map[string]any{"type": "hello", "id": "h", "data": map[string]string{"name": "p" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
		for welcomed := false; !welcomed; {
			var m struct {
				Type string `json:"type"`
			}
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("player %d: no welcome through the proxy: %v", i, err)
			}
			welcomed = m.Type == "welcome"
		}
		ws.Close()
	}
	if out, _ := exec.Command("redis-cli", "-u", e["REDIS_URL"], "config", "get", "appendonly").Output(); !strings.Contains(string(out), "yes") {
		t.Errorf("redis is not append-only: %q", out)
	}

	// Every process the cluster runs: the pid files and PostgreSQL's.
	var pids []int
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	files = append(files, filepath.Join(dir, "pg", "data", "postmaster.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 6 {
		t.Fatalf("want 6 processes (redis, 3 nodes, proxy, postgres), have %v", pids)
	}

	if out, code := clusterScript(t, dir, env, "stop"); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stop left %s behind (%v)", dir, err)
	}
	deadline := time.Now().Add(waitTimeout)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still runs after stop", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if out, code := clusterScript(t, dir, env, "status"); code == 0 || !strings.Contains(out, "not running") {
		t.Errorf("status after stop: exit %d\n%s", code, out)
	}
}
