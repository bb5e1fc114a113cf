package version

import (
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	stamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{
			GoVersion: "go1.26",
			Main:      debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc123"},
				{Key: "vcs.modified", Value: "true"},
			},
		}, true
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	cases := []struct {
		name        string
		ver, commit string
		build       func() (*debug.BuildInfo, bool)
		want        Info
	}{
		{"vcs stamp", "", "", stamped, Info{Version: "dev", Commit: "abc123", Modified: true, GoVersion: "go1.26"}},
		{"ldflags win", "v0.1.0", "fff", stamped, Info{Version: "v0.1.0", Commit: "fff", GoVersion: "go1.26"}},
		{"nothing known", "", "", none, Info{Version: "dev", Commit: "unknown", GoVersion: "unknown"}},
		{"go install", "", "", func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "v0.2.0"}}, true
		}, Info{Version: "v0.2.0", Commit: "unknown", GoVersion: "go1.26"}},
	}
	for _, c := range cases {
		if got := read(c.ver, c.commit, c.build); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
