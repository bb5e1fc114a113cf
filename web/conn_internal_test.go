package web

import (
	"testing"
	"time"
)

func TestPingNeeded(t *testing.T) {
	const every = 15 * time.Second
	s := int64(time.Second)
	now := 1000 * s
	for _, tc := range []struct {
		name        string
		heard, pong int64
		want        bool
	}{
		{"never heard from, never ponged", 0, 0, true},
		{"silent for a period", now - 15*s, now - 5*s, true},
		{"talking, fresh RTT", now - 2*s, now - 30*s, false},
		{"talking, RTT a minute old", now - 2*s, now - 60*s, true},
		{"talking, never ponged", now - 2*s, 0, true},
		{"heard just under a period ago", now - 15*s + 1, now - 59*s, false},
	} {
		if got := pingNeeded(now, tc.heard, tc.pong, every); got != tc.want {
			t.Errorf("%s: pingNeeded = %v, want %v", tc.name, got, tc.want)
		}
	}
}
