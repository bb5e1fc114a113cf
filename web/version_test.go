package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leitai/leitai/internal/version"
)

// TestBuildReported: /healthz and /metrics say which build is running.
func TestBuildReported(t *testing.T) {
	h := newHarness(t, nil)
	v := version.Get()
	resp, err := http.Get(h.url("/healthz"))
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if health["status"] != "ok" || health["version"] != v.Version || health["commit"] != v.Commit || v.Commit == "" {
		t.Fatalf("healthz = %v, build %+v", health, v)
	}
	resp, err = http.Get(h.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `commit="` + v.Commit + `"`
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "leitai_build_info{") && strings.Contains(line, want) && strings.HasSuffix(line, " 1") {
			return
		}
	}
	t.Fatalf("no leitai_build_info with %s in /metrics", want)
}
