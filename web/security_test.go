package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Every response, routed page, static asset, API answer or error, carries
// the same security headers; /static/ serves files and lists no directory.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t, nil)
	want := map[string]string{
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/", 200}, {"/host?token=x", 200}, {"/screen", 200}, {"/admin?token=x", 200},
		{"/static/player.js", 200}, {"/static/style.css", 200}, {"/static/admin.html", 200},
		{"/static/", 404}, {"/static", 404}, {"/static/nothing.js", 404}, {"/static/../server.go", 404},
		{"/healthz", 200}, {"/api/v1/pins/000000", 404}, {"/api/v1/events", 401}, {"/nowhere", 404},
	} {
		resp, err := http.Get(h.url(tc.path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		if tc.status == 404 && strings.Contains(string(body), "player.js") {
			t.Errorf("%s lists the directory: %s", tc.path, body)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		directives := map[string]string{}
		for _, d := range strings.Split(csp, ";") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
			directives[name] = val
		}
		if directives["frame-ancestors"] != "'none'" {
			t.Errorf("%s: CSP %q lets other sites frame the page", tc.path, csp)
		}
		if directives["connect-src"] != "'self'" {
			t.Errorf("%s: CSP %q lets the page connect beyond its own origin", tc.path, csp)
		}
		if directives["default-src"] != "'self'" {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
}
