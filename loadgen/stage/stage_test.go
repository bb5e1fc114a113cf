package stage_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/loadgen/stage"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

const organizerToken = "stage-test-organizer"

// startServer runs a real server on a loopback port with a real SQLite
// store and an organizer token, and returns its /ws URL.
func startServer(t *testing.T) string {
	t.Helper()
	url, _ := startWebServer(t)
	return url
}

// startWebServer is startServer that also returns the server.
func startWebServer(t *testing.T) (string, *web.Server) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(organizerToken))
	if err := st.PutToken(ctx, store.Token{Hash: hex.EncodeToString(h[:]), Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bank := questionbank.NewBank()
	sample, err := questionbank.Sample()
	if err != nil {
		t.Fatal(err)
	}
	bank.Add("sample", sample)
	committer := store.NewCommitter(st, store.CommitterOptions{})
	jctx, stopJ := context.WithCancel(ctx)
	jdone := make(chan struct{})
	go func() { _ = committer.Run(jctx); close(jdone) }()
	srv := web.New(web.Config{}, web.Deps{Store: st, Committer: committer, Bank: bank, Log: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopS := context.WithCancel(ctx)
	sdone := make(chan struct{})
	go func() { _ = srv.Run(sctx, ln); close(sdone) }()
	t.Cleanup(func() {
		stopS()
		<-sdone
		stopJ()
		<-jdone
		st.Close()
	})
	return "ws://" + ln.Addr().String() + "/ws", srv
}

// tinyRun runs the whole benchmark on n contestants in two in-process
// workers, three questions, against a fresh server, and returns the report
// and its text.
func tinyRun(t *testing.T, n int, bareAnswers bool) (*stage.Report, string) {
	t.Helper()
	url := startServer(t)
	var log strings.Builder
	rep, err := stage.Run(context.Background(), stage.Config{
		URL: url, AdminToken: organizerToken, Contestants: n, Workers: 2, Questions: 3,
		AnswerWithin: 200 * time.Millisecond, TimeLimit: 30 * time.Second,
		Settle: 50 * time.Millisecond, Wait: 20 * time.Second, ConnectTimeout: 30 * time.Second,
		BareAnswers: bareAnswers,
		Spawn:       stage.InProcessWorkers(), StartBare: stage.InProcessBare(), Log: &log,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log(out.String())
	return rep, out.String()
}

// TestTinyEvent runs the whole benchmark on 50 contestants in two in-process
// workers and checks that it saw everything it should — never how fast.
func TestTinyEvent(t *testing.T) {
	rep, _ := tinyRun(t, 50, false)
	if !rep.Checks.OK() {
		t.Errorf("checks: %+v", rep.Checks)
	}
	if rep.Leitai.Ready != 50 || rep.Bare == nil || rep.Bare.Ready != 50 {
		t.Fatalf("ready: leitai %d, bare %+v", rep.Leitai.Ready, rep.Bare)
	}
	if len(rep.CPUPerAnswerUS) != 3 {
		t.Errorf("CPU per answer for %d questions, want 3", len(rep.CPUPerAnswerUS))
	}
	if a := rep.Answers; a.Expected != 150 || a.Sent != 150 || a.Acked != 150 || rep.Ack.Count != 150 {
		t.Errorf("answers %+v, ack samples %d: want 150 of each", a, rep.Ack.Count)
	}
	// Questions 1 and 2 follow the host's next; reveals 0, 1 and 2 the
	// host's reveal. The bare run sends the same frames.
	for _, s := range []*stage.Side{&rep.Leitai, rep.Bare} {
		if s.Question.Broadcasts != 2 || s.Reveal.Broadcasts != 3 || len(s.Broadcasts) != 5 {
			t.Errorf("%s: %d question and %d reveal broadcasts measured, %d in all; want 2, 3, 5",
				s.Server, s.Question.Broadcasts, s.Reveal.Broadcasts, len(s.Broadcasts))
		}
		for _, b := range s.Broadcasts {
			if !b.Measured || b.Deliveries != 50 || b.Missing != 0 || b.Bytes == 0 {
				t.Errorf("%s %s %d: %+v", s.Server, b.Kind, b.Index, b)
			}
		}
		if len(s.Errors) != 0 || s.Lost != 0 {
			t.Errorf("%s: errors %v, lost %d", s.Server, s.Errors, s.Lost)
		}
	}
	if rep.Ratios == nil || rep.Ratios.QuestionLast <= 0 || rep.Ratios.RevealLast <= 0 {
		t.Errorf("ratios %+v", rep.Ratios)
	}
}

// TestTinyEventBareAnswers: BareAnswers adds a second bare run whose
// contestants answer each question it broadcasts (1 and 2; question 0 is
// Leitai's untimed one) and whose server acks every answer. The targets
// stay judged against the silent bare run.
func TestTinyEventBareAnswers(t *testing.T) {
	rep, text := tinyRun(t, 30, true)
	if !rep.Checks.OK() {
		t.Errorf("checks: %+v", rep.Checks)
	}
	if rep.Bare == nil || rep.BareAnswering == nil || rep.BareAnswering.Ready != 30 || rep.RatiosAnswering == nil {
		t.Fatalf("bare runs: silent %+v, answering %+v, ratios %+v", rep.Bare, rep.BareAnswering, rep.RatiosAnswering)
	}
	if rep.BareAck == nil || rep.BareAck.Count != 60 {
		t.Fatalf("bare acks %+v: want 60", rep.BareAck)
	}
	if rep.Ack.Count != 90 {
		t.Errorf("leitai acks %d, want 90", rep.Ack.Count)
	}
	if b := rep.BareAnswering; b.Question.Broadcasts != 2 || b.Reveal.Broadcasts != 3 {
		t.Errorf("answering bare run: %d question and %d reveal broadcasts, want 2 and 3", b.Question.Broadcasts, b.Reveal.Broadcasts)
	}
	judged := 0
	for _, tg := range rep.Targets {
		if strings.Contains(tg.Name, "to the last contestant") {
			judged++
		}
	}
	if judged != 2 {
		t.Errorf("%d fan-out targets judged, want 2 (against the silent bare run)", judged)
	}
	// One figure per question, question 0 (never replayed) unknown; the
	// in-process bare server's CPU cannot be told apart, so all unknown.
	if n := len(rep.BareCPUPerAnswerUS); n != 3 {
		t.Errorf("bare CPU per answer for %d questions, want 3", n)
	}
	for i, us := range rep.BareCPUPerAnswerUS {
		if us != -1 {
			t.Errorf("bare CPU per answer to question %d: %v, want -1 (in-process)", i, us)
		}
	}
	if !strings.Contains(text, "bare+answers") {
		t.Errorf("the text does not show the answering bare run:\n%s", text)
	}
}
