package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Off a terminal the log is JSON lines, each naming the node; on one it is
// the console format, still naming the node.
func TestLogLinesNameTheNode(t *testing.T) {
	var b bytes.Buffer
	log := newLogger(&b, false, "info", "n-abc")
	log.Info().Msg("serving")
	log.Debug().Msg("hidden at info")
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", b.String(), err)
	}
	if line["node"] != "n-abc" || line["message"] != "serving" {
		t.Fatalf("line %v", line)
	}
	b.Reset()
	log = newLogger(&b, true, "info", "n-abc")
	log.Info().Msg("serving")
	if out := b.String(); json.Valid(b.Bytes()) || !strings.Contains(out, "node=") || !strings.Contains(out, "n-abc") {
		t.Fatalf("console line %q", out)
	}
}

func TestNodeIDFlag(t *testing.T) {
	f, err := parseServe([]string{"--node-id", "hall-a"})
	if err != nil || f.nodeID != "hall-a" {
		t.Fatalf("%+v %v", f, err)
	}
}
