// Package version says which build of Leitai is running: the release
// version and the commit it was built from.
//
// A release build sets both with the linker:
//
//	go build -ldflags "-X github.com/leitai/leitai/internal/version.Version=v0.1.0 \
//	  -X github.com/leitai/leitai/internal/version.Commit=$(git rev-parse HEAD)" ./cmd/leitai
//
// Without them the commit comes from the VCS stamp Go records in the binary
// (go build in a git checkout), and the version from the module's version
// when it was installed with go install, else "dev".
package version

import (
	"runtime/debug"
	"sync"
)

// Set by -ldflags -X; empty means "read the build info".
var (
	Version string
	Commit  string
)

// Info is what Get reports.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	GoVersion string `json:"go"`
}

var (
	once sync.Once
	info Info
)

// Get reports the running build. It reads the build info once.
func Get() Info {
	once.Do(func() { info = read(Version, Commit, debug.ReadBuildInfo) })
	return info
}

// read is Get with its inputs passed in, for tests.
func read(ver, commit string, build func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: ver, Commit: commit, GoVersion: "unknown"}
	if bi, ok := build(); ok {
		in.GoVersion = bi.GoVersion
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		if commit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					in.Commit = s.Value
				case "vcs.modified":
					in.Modified = s.Value == "true"
				}
			}
		}
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	return in
}

// String is one line for `leitai version` and logs.
func (in Info) String() string {
	s := "leitai " + in.Version + " commit " + in.Commit
	if in.Modified {
		s += " (modified)"
	}
	return s + " " + in.GoVersion
}
