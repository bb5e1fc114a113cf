package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/proxy"
)

// backend is a test node: GET /who answers its name and the Host it was
// asked for; /ws echoes each message prefixed with its name.
func backend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	m := http.NewServeMux()
	m.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" "+r.Host+" "+r.Header.Get("X-Forwarded-Host"))
	})
	m.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, append([]byte(name+":"), msg...)); err != nil {
				return
			}
		}
	})
	s := httptest.NewServer(m)
	t.Cleanup(s.Close)
	return s
}

func start(t *testing.T, o proxy.Options, backends ...*httptest.Server) *httptest.Server {
	t.Helper()
	var list []string
	for _, b := range backends {
		list = append(list, b.URL)
	}
	urls, err := proxy.ParseBackends(strings.Join(list, ","))
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(proxy.New(urls, o))
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPRoundRobinKeepsTheHost(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	p := start(t, proxy.Options{}, a, b)
	host := strings.TrimPrefix(p.URL, "http://")
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		code, body := get(t, p.URL+"/who")
		f := strings.Fields(body)
		if code != 200 || len(f) != 3 {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
		if f[1] != host || f[2] != host {
			t.Fatalf("the node saw Host %q, X-Forwarded-Host %q; want the proxy's %q both", f[1], f[2], host)
		}
		seen[f[0]]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Fatalf("six requests went %v; want three to each backend", seen)
	}
}

func TestWebSocketRoundTripSpreadsOverBackends(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	p := start(t, proxy.Options{}, a, b)
	wsURL := "ws" + strings.TrimPrefix(p.URL, "http") + "/ws"
	seen := map[string]int{}
	var conns []*websocket.Conn
	for i := 0; i < 4; i++ {
		c, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatalf("dial %d: %v (%v)", i, err, resp)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		// Several messages each: the connection stays on its backend.
		var first string
		for j := 0; j < 3; j++ {
			if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("conn %d read: %v", i, err)
			}
			name, rest, _ := strings.Cut(string(msg), ":")
			if rest != "hello" {
				t.Fatalf("conn %d echoed %q", i, msg)
			}
			if j == 0 {
				first = name
			} else if name != first {
				t.Fatalf("conn %d moved from %s to %s mid-connection", i, first, name)
			}
		}
		seen[first]++
		c.Close()
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Fatalf("four connections went %v; want two to each backend", seen)
	}
}

func TestAFailedBackendIsPassedOverForTheCooldown(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	a, b := backend(t, "a"), backend(t, "b")
	p := start(t, proxy.Options{Clock: clk, Cooldown: 5 * time.Second}, a, b)
	b.Close()
	bad := 0
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		code, body := get(t, p.URL+"/who")
		if code == http.StatusBadGateway {
			bad++
			continue
		}
		seen[strings.Fields(body)[0]]++
	}
	if bad != 1 || seen["a"] != 5 {
		t.Fatalf("with b down: %d bad gateways and %v; want one failure, then all to a", bad, seen)
	}
	// Once the cooldown is over b is tried again (and fails again).
	clk.Advance(5 * time.Second)
	bad = 0
	for i := 0; i < 2; i++ {
		if code, _ := get(t, p.URL+"/who"); code == http.StatusBadGateway {
			bad++
		}
	}
	if bad != 1 {
		t.Fatalf("after the cooldown b was tried %d times in two requests; want once", bad)
	}
}

func TestParseBackendsRefusesBadLists(t *testing.T) {
	for _, in := range []string{"", " , ", "127.0.0.1:8080", "ftp://x:1", "http://a:1/path", "http://a:1?q=1", "http://"} {
		if _, err := proxy.ParseBackends(in); err == nil {
			t.Errorf("ParseBackends(%q) accepted it", in)
		}
	}
	us, err := proxy.ParseBackends("http://127.0.0.1:1, http://127.0.0.1:2/")
	if err != nil || len(us) != 2 || us[1].String() != "http://127.0.0.1:2" {
		t.Fatalf("ParseBackends: %v %v", us, err)
	}
}
