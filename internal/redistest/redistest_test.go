package redistest

import (
	"testing"
)

// recorder stands in for a test to see whether need fails or skips.
type recorder struct {
	testing.TB
	failed, skipped bool
}

func (r *recorder) Helper()               { r.TB.Helper() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }

func TestMissingRedisFailsWhenRequired(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct {
		ci, require string
		fail        bool
	}{
		{"", "", false},
		{"true", "", true},
		{"", "1", true},
		{"false", "", false},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv("LEITAI_REQUIRE_REDIS", c.require)
		r := &recorder{TB: t}
		need(r, "redis-server")
		if r.failed != c.fail || r.skipped == c.fail {
			t.Errorf("CI=%q LEITAI_REQUIRE_REDIS=%q: failed %v skipped %v", c.ci, c.require, r.failed, r.skipped)
		}
	}
}

func TestServerStartsAndStops(t *testing.T) {
	s := StartServer(t)
	if r, err := s.Do("PING"); err != nil || r != "+PONG" {
		t.Fatalf("ping: %q %v", r, err)
	}
	s.Stop(t)
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("the server answers after Stop")
	}
	s.Start(t)
	if r, err := s.Do("PING"); err != nil || r != "+PONG" {
		t.Fatalf("ping after restart: %q %v", r, err)
	}
}
