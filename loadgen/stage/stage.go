// Package stage benchmarks one stage event with many contestants, and the
// same broadcasts done by a bare gorilla/websocket server, in one run.
//
// A coordinator (Run) creates an event over HTTP, connects as its host and
// as one silent "sentinel" contestant, and hands the contestants to worker
// processes (ServeWorker), each holding a few thousand connections spread
// over its own source addresses 127.0.0.x. Workers join by PIN, note when
// each question and reveal reaches each contestant, answer every question
// at a random moment within the answer window, and time each answer's ack.
// The host drives the questions: next, then reveal once every answer is
// acked (the sentinel never answers, so no question closes on its own).
// Fan-out is measured from the moment the host's command was written to
// each contestant's receipt — every process reads the same machine clock.
//
// Then the workers connect the same number of contestants to a BareServer
// and the coordinator has it broadcast the very frames Leitai sent (kept by
// the sentinel), measured the same way, so the report gives ratios taken
// in one run on one machine. It also reads each server's RSS and CPU from
// /proc.
package stage

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/leitai/leitai/loadgen"
)

// MaxContestantsPerWorker bounds one worker's connections (each process may
// open a limited number of files).
const MaxContestantsPerWorker = 5000

// Config describes a run. Zero values mean the defaults given beside each
// field.
type Config struct {
	// URL is the Leitai server's WebSocket endpoint; loopback only.
	// Default ws://127.0.0.1:8080/ws.
	URL string
	// AdminToken is the organizer token the event is created with.
	AdminToken string
	// URLs, when set, are the nodes of a cluster: each worker spreads its
	// contestants over them in turn. The event is created, and the host
	// and the sentinel connect, on the first; URL is then URLs[0].
	URLs []string
	// ServerPID is the Leitai server's process id, for its RSS and CPU
	// from /proc; 0 leaves them unmeasured.
	ServerPID int
	// ServerPIDs are the process ids of a cluster's nodes, read in place
	// of ServerPID: their RSS and CPU are the sums over them.
	ServerPIDs []int
	// RedisURL, if set, is the cluster's Redis: its CPU (INFO cpu) is
	// reported beside the nodes'.
	RedisURL string
	// Contestants is how many contestants join; default 2000.
	Contestants int
	// Workers is how many worker processes hold them; default enough for
	// MaxContestantsPerWorker each.
	Workers int
	// Questions is the event's length, at least 2; default 5. Question 0
	// follows the start countdown and is not timed; questions 1… follow
	// the host's next, and every reveal the host's reveal.
	Questions int
	// AnswerWithin: every contestant answers at a uniformly random moment
	// within this long of receiving a question; default 2 s.
	AnswerWithin time.Duration
	// AnswerAfter delays every answer by this much more, so that answers
	// start only after a question has gone out: a way to measure the
	// fan-out alone. Default 0: contestants answer from the moment they
	// read the question, as people do.
	AnswerAfter time.Duration
	// TimeLimit is each question's limit on the server, long enough that
	// the host reveals before it runs out; default 60 s.
	TimeLimit time.Duration
	// Settle is the quiet pause before each broadcast; default 1 s.
	Settle time.Duration
	// Wait bounds how long a broadcast may take to reach everyone, and the
	// answers to be acked; default 60 s.
	Wait time.Duration
	// DialConcurrency is each worker's connection attempts in flight;
	// default 32.
	DialConcurrency int
	// ConnectTimeout bounds the workers' connect phase; default 10 min.
	ConnectTimeout time.Duration
	// FirstAddr is the last octet of the workers' first source address;
	// default 2 (the coordinator's host and sentinel use 127.0.0.1).
	FirstAddr int
	// SkipBare leaves out the bare broadcast.
	SkipBare bool
	// BareAnswers adds a second bare run in which the contestants answer
	// as on Leitai and the bare server acks each answer, so its broadcasts
	// go out under the same answer traffic as Leitai's. DESIGN.md's targets
	// stay judged against the first, silent bare run; the second shows how
	// much of the gap the traffic itself makes.
	BareAnswers bool
	// Spawn starts the workers; required (ExecWorkers or InProcessWorkers).
	Spawn Spawner
	// StartBare starts the bare server; required unless SkipBare.
	StartBare BareStarter
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// MaxRun caps a whole run.
const MaxRun = 2 * time.Hour

func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if len(c.URLs) > 0 {
		c.URL = c.URLs[0]
	}
	if c.URL == "" {
		c.URL = "ws://127.0.0.1:8080/ws"
	}
	if len(c.URLs) == 0 {
		c.URLs = []string{c.URL}
	}
	for _, u := range c.URLs[1:] {
		if err := loadgen.CheckLoopback(u); err != nil {
			return c, err
		}
	}
	if c.ServerPID > 0 && len(c.ServerPIDs) == 0 {
		c.ServerPIDs = []int{c.ServerPID}
	}
	if c.Contestants <= 0 {
		c.Contestants = 2000
	}
	if c.Workers <= 0 {
		c.Workers = (c.Contestants + MaxContestantsPerWorker - 1) / MaxContestantsPerWorker
	}
	if c.Questions == 0 {
		c.Questions = 5
	}
	def(&c.AnswerWithin, 2*time.Second)
	def(&c.TimeLimit, 60*time.Second)
	def(&c.Settle, time.Second)
	def(&c.Wait, 60*time.Second)
	def(&c.ConnectTimeout, 10*time.Minute)
	if c.DialConcurrency <= 0 {
		c.DialConcurrency = 32
	}
	if c.FirstAddr <= 0 {
		c.FirstAddr = 2
	}
	bad := func(f string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+f, append([]any{loadgen.ErrBadConfig}, a...)...)
	}
	switch {
	case c.AdminToken == "":
		return bad("the organizer token is needed to create the event")
	case c.Questions < 2 || c.Questions > 50:
		return bad("questions must be 2 to 50")
	case (c.Contestants+c.Workers-1)/c.Workers > MaxContestantsPerWorker:
		return bad("%d contestants over %d workers is more than %d each", c.Contestants, c.Workers, MaxContestantsPerWorker)
	case c.Workers > c.Contestants:
		return bad("more workers than contestants")
	case c.TimeLimit < 3*time.Second || c.TimeLimit > 10*time.Minute:
		return bad("time limit must be 3 s to 10 min")
	case c.AnswerAfter < 0:
		return bad("the answer delay cannot be negative")
	case c.AnswerAfter+c.AnswerWithin >= c.TimeLimit:
		return bad("the answer window must end before the time limit")
	case c.Spawn == nil:
		return bad("no way to start workers")
	case !c.SkipBare && c.StartBare == nil:
		return bad("no way to start the bare server")
	case c.SkipBare && c.BareAnswers:
		return bad("the answering bare run needs the bare runs")
	}
	return c, loadgen.CheckLoopback(c.URL)
}

// shot is one broadcast the coordinator set off.
type shot struct {
	kind  string
	index int
	sent  time.Time // when the command was written
	cpu   float64   // the server's CPU seconds from just before the command to full delivery; -1 unknown
	win   window    // the same span: how busy the server and the machine were
	ok    bool      // the command was accepted and reached everyone in time
	note  string
	frame []byte // the frame as Leitai sent it to the sentinel
}

// side is what one server's half of the run measured.
type side struct {
	name                      string
	ready                     int
	rssIdle, rssJoined, rssPk float64
	shots                     []shot
	answering                 []window // per question, from asking to the last ack
	reports                   []*workerReport
	extra                     int // deliveries to the coordinator's own sentinel
}

// Run benchmarks the event and the bare broadcast and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRun)
	defer cancel()
	c := &coord{cfg: cfg}
	defer c.stop()
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	began := time.Now()
	lei, err := c.runLeitai(ctx)
	if err != nil {
		return nil, err
	}
	var bare, answering *side
	if !cfg.SkipBare {
		if bare, err = c.runBare(ctx, lei.shots, false); err != nil {
			return nil, err
		}
	}
	if cfg.BareAnswers {
		if answering, err = c.runBare(ctx, lei.shots, true); err != nil {
			return nil, err
		}
	}
	return buildReport(cfg, lei, bare, answering, time.Since(began)), nil
}
