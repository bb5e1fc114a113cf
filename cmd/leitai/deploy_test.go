package main_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestNginxConfigBalancesWebSockets runs deploy/nginx.conf (the load
// balancer of compose.yaml) with its three upstreams pointed at three real
// nodes on loopback: plain requests are spread over the nodes, and a
// WebSocket from a browser-like client (Origin set to the address it
// opened) is upgraded through nginx and welcomed by a node, which it only
// is if nginx kept the client's Host.
func TestNginxConfigBalancesWebSockets(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("nginx is not installed (scripts/test installs nginx-light)")
			}
			t.Skip("nginx is not installed")
		}
		bin = "/usr/sbin/nginx"
	}
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(conf)
	for i := 1; i <= 3; i++ {
		name := "node" + string(rune('0'+i))
		addr := freeAddr(t)
		startNode(t, t.TempDir(), addr, "--node-id", name)
		up := regexp.MustCompile(`server ` + name + `:8080\b`)
		if !up.MatchString(text) {
			t.Fatalf("deploy/nginx.conf has no upstream %s:8080", name)
		}
		text = up.ReplaceAllString(text, "server "+addr)
	}
	lb := freeAddr(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // nginx's workers run as nobody
		t.Fatal(err)
	}
	for old, repl := range map[string]string{"listen 80;": "listen " + lb + ";", "pid /tmp/nginx.pid;": "pid " + filepath.Join(dir, "nginx.pid") + ";"} {
		if !strings.Contains(text, old) {
			t.Fatalf("deploy/nginx.conf has no %q", old)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", errLog, "-g", "daemon off; error_log "+errLog+";")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // nginx: fast shutdown, workers too
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(errLog)
			t.Logf("nginx: %s\n%s", out, log)
		}
	})
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := net.DialTimeout("tcp", lb, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Plain requests on one keep-alive connection: round robin, no
	// stickiness.
	client := &http.Client{Timeout: 5 * time.Second}
	nodeLabel := regexp.MustCompile(`leitai_build_info\{[^}]*node="(node[123])"`)
	seen := map[string]int{}
	for range 6 {
		resp, err := client.Get("http://" + lb + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := nodeLabel.FindStringSubmatch(string(body))
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("GET /metrics through nginx: %d %.200s", resp.StatusCode, body)
		}
		seen[m[1]]++
	}
	if len(seen) < 2 {
		t.Fatalf("six requests through nginx all went to %v: sticky", seen)
	}

	// A WebSocket the way a browser opens it: Origin is the page's
	// address, nginx's.
	h := http.Header{"Origin": {"http://" + lb}}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+lb+"/ws", h)
	if err != nil {
		t.Fatalf("WebSocket through nginx: %v (%v)", err, resp)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "hello", "id": "h1", "data": map[string]string{"name": "via-nginx"}}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		var m struct {
			Type string `json:"type"`
		}
		_, raw, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no welcome through nginx: %v", err)
		}
		if json.Unmarshal(raw, &m) == nil && m.Type == "welcome" {
			break
		}
	}
}
