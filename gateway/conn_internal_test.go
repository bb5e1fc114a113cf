package gateway

import (
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
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

// TestAnswerTime checks the edge's measure of an answer: the time since the
// question was written, less the whole round trip, the credit capped.
func TestAnswerTime(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		written time.Duration // before now; < 0: never written
		index   int           // the answer's question
		rtt     time.Duration
		ignore  bool
		want    time.Duration
		timed   bool
	}{
		{"the whole round trip off", 1800 * time.Millisecond, 3, 300 * time.Millisecond, false, 1500 * time.Millisecond, true},
		{"the credit capped", 2 * time.Second, 3, 5 * time.Second, false, 2*time.Second - 350*time.Millisecond, true},
		{"never below zero", 100 * time.Millisecond, 3, 300 * time.Millisecond, false, 0, true},
		{"round trips ignored", 1800 * time.Millisecond, 3, 300 * time.Millisecond, true, 1800 * time.Millisecond, true},
		{"another question was written", 1800 * time.Millisecond, 4, 300 * time.Millisecond, false, 0, false},
		{"nothing written", -1, 3, 300 * time.Millisecond, false, 0, false},
	} {
		clk := clock.NewFake(t0)
		srv := &Gateway{cfg: Config{IgnoreRTT: tc.ignore, RTTCreditMax: 350 * time.Millisecond}, clock: clk}
		sess := &session{srv: srv, id: "p"}
		if tc.written >= 0 {
			sess.markWritten("r", 3, t0.Add(-tc.written), 0)
		}
		c := &conn{srv: srv}
		c.srtt.Store(int64(tc.rtt))
		got, timed := srv.answerTime(c, sess, "r", tc.index)
		if got != tc.want || timed != tc.timed {
			t.Errorf("%s: answerTime = %v, %v; want %v, %v", tc.name, got, timed, tc.want, tc.timed)
		}
		if n := testing.AllocsPerRun(100, func() { srv.answerTime(c, sess, "r", tc.index) }); n != 0 {
			t.Errorf("%s: answerTime allocates %v times", tc.name, n)
		}
	}
}

// TestSmoothedRTT: the first eight samples are averaged equally, so a
// burst of three already counts as much as a minute of pings; later ones
// weigh an eighth.
func TestSmoothedRTT(t *testing.T) {
	var rtt int64
	n := 0
	fold := func(samples ...int64) int64 {
		for _, s := range samples {
			n++
			rtt = smoothRTT(rtt, s, n)
		}
		return rtt
	}
	if got := fold(100, 200, 300); got != 200 {
		t.Fatalf("after three samples: %d, want their mean 200", got)
	}
	if got := fold(200, 200, 200, 200, 200); got != 200 {
		t.Fatalf("after eight samples: %d, want 200", got)
	}
	if got := fold(1000); got != 300 {
		t.Fatalf("the ninth sample: %d, want 200 + (1000-200)/8 = 300", got)
	}
}
