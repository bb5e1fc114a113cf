package stage

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leitai/leitai/loadgen"
)

// Report is what a run measured. Latencies are in milliseconds; a negative
// figure was not measured.
type Report struct {
	Date        string  `json:"date"`
	CPUs        int     `json:"cpus"`
	MemTotalGiB float64 `json:"mem_total_gib"`
	URL         string  `json:"url"`
	// Nodes is how many nodes the contestants were spread over.
	Nodes          int     `json:"nodes"`
	Contestants    int     `json:"contestants"`
	Workers        int     `json:"workers"`
	Questions      int     `json:"questions"`
	AnswerWithinMS int64   `json:"answer_within_ms"`
	AnswerAfterMS  int64   `json:"answer_after_ms,omitempty"`
	DurationS      float64 `json:"duration_s"`
	Leitai         Side    `json:"leitai"`
	Bare           *Side   `json:"bare,omitempty"`
	// Ack is the time from writing an answer to reading its answer.ack,
	// over every answer of every question.
	Ack loadgen.Latency `json:"ack"`
	// AckWhileAsking are the acks of answers written before the question
	// had reached the last contestant, while the server was still sending
	// it; AckAfter the acks of the others.
	AckWhileAsking loadgen.Latency `json:"ack_while_asking"`
	AckAfter       loadgen.Latency `json:"ack_after"`
	// BareAnswering is the second bare run of Config.BareAnswers, whose
	// contestants answered as on Leitai; BareAck is the time to its acks.
	BareAnswering *Side            `json:"bare_answering,omitempty"`
	BareAck       *loadgen.Latency `json:"bare_ack,omitempty"`
	Answers       AnswerCounts     `json:"answers"`
	// Answering is, per question, the span from asking it to its last ack:
	// how long it took and how busy the server and the whole machine were.
	Answering []window `json:"answering"`
	// CPUPerAnswerUS is, per question, the server's CPU over its answering
	// span less what the question's own fan-out took, over the answers
	// written: what an answer costs the server, in µs. -1 where unknown
	// (question 0, whose fan-out is not timed). Steadier from run to run
	// than the fan-out times, so the figure to watch when the answer path
	// changes.
	CPUPerAnswerUS []float64 `json:"cpu_per_answer_us"`
	// RedisCPUPerAnswerUS is, per question, the cluster's Redis's CPU over
	// its answering span over the answers written, in µs; only with
	// Config.RedisURL, -1 where unknown.
	RedisCPUPerAnswerUS []float64 `json:"redis_cpu_per_answer_us,omitempty"`
	// BareCPUPerAnswerUS is CPUPerAnswerUS for the answering bare run:
	// reading an answer and writing a fixed ack, nothing stored, the floor
	// under Leitai's figure. Only with Config.BareAnswers.
	BareCPUPerAnswerUS []float64 `json:"bare_cpu_per_answer_us,omitempty"`
	Checks             Checks    `json:"checks"`
	Ratios             *Ratios   `json:"ratios,omitempty"`
	// RatiosAnswering are Leitai's figures over the answering bare run's.
	RatiosAnswering *Ratios  `json:"ratios_answering,omitempty"`
	Targets         []Target `json:"targets"`
}

// Side is one server's figures.
type Side struct {
	Server string `json:"server"`
	Ready  int    `json:"ready"`
	// RSS: before anyone connected, with everyone connected and idle, and
	// the peak while broadcasting; per connection, the growth over idle.
	RSSIdleMiB     float64          `json:"rss_idle_mib"`
	RSSJoinedMiB   float64          `json:"rss_joined_mib"`
	RSSPeakMiB     float64          `json:"rss_peak_mib"`
	KiBPerConn     float64          `json:"kib_per_conn"`
	KiBPerConnPeak float64          `json:"kib_per_conn_peak"`
	Question       Fanout           `json:"question"`
	Reveal         Fanout           `json:"reveal"`
	Broadcasts     []Broadcast      `json:"broadcasts"`
	Lost           int64            `json:"lost"`
	Errors         map[string]int64 `json:"errors"`
	ErrorSamples   []string         `json:"error_samples,omitempty"`
	ConnectS       float64          `json:"connect_s"`
	GeneratorCPUS  float64          `json:"generator_cpu_s"`
}

// Fanout pools the broadcasts of one kind.
type Fanout struct {
	Broadcasts int `json:"broadcasts"`
	// FromCommand: from the command's write to each contestant's read,
	// pooled over the broadcasts; FromFirst: from the first contestant's
	// read.
	FromCommand loadgen.Latency `json:"from_command"`
	FromFirst   loadgen.Latency `json:"from_first"`
	// LastMS is the median over the broadcasts of the time to the last
	// contestant; WorstLastMS the largest.
	LastMS      float64 `json:"last_ms"`
	WorstLastMS float64 `json:"worst_last_ms"`
	// CPUusPerDelivery is the server's CPU over these broadcasts divided by
	// the deliveries.
	CPUusPerDelivery float64 `json:"cpu_us_per_delivery"`
}

// Broadcast is one question or reveal.
type Broadcast struct {
	Kind        string          `json:"kind"`
	Index       int             `json:"index"`
	Bytes       int             `json:"bytes"`
	Deliveries  int             `json:"deliveries"`
	Missing     int             `json:"missing"`
	FromCommand loadgen.Latency `json:"from_command"`
	FromFirst   loadgen.Latency `json:"from_first"`
	CPUms       float64         `json:"cpu_ms"`
	// MachineBusy is the fraction of all the machine's CPU in use from the
	// command to full delivery: server, generator and anything else.
	MachineBusy float64 `json:"machine_busy"`
	Measured    bool    `json:"measured"`
	Note        string  `json:"note,omitempty"`
}

// AnswerCounts tallies the answers.
type AnswerCounts struct {
	Expected int64 `json:"expected"` // contestants joined × questions
	Sent     int64 `json:"sent"`
	Acked    int64 `json:"acked"`
	Unacked  int64 `json:"unacked"`
}

// Checks count what should have happened and did not.
type Checks struct {
	QuestionsMissing int   `json:"questions_missing"`
	RevealsMissing   int   `json:"reveals_missing"`
	AnswersNotSent   int64 `json:"answers_not_sent"`
	AnswersUnacked   int64 `json:"answers_unacked"`
	FinishedMissing  int   `json:"finished_missing"`
	Lost             int64 `json:"lost"`
	JoinFailed       int   `json:"join_failed"`
	BareMissing      int   `json:"bare_missing"`
}

// OK reports whether every check passed.
func (c Checks) OK() bool { return c == Checks{} }

// Ratios are Leitai's figures over the bare server's.
type Ratios struct {
	QuestionLast float64 `json:"question_last"`
	QuestionP50  float64 `json:"question_p50"`
	QuestionP99  float64 `json:"question_p99"`
	RevealLast   float64 `json:"reveal_last"`
	RevealP50    float64 `json:"reveal_p50"`
	RevealP99    float64 `json:"reveal_p99"`
	CPUQuestion  float64 `json:"cpu_question"`
	CPUReveal    float64 `json:"cpu_reveal"`
	MemPerConn   float64 `json:"mem_per_conn"`
}

// Target is one of DESIGN.md's performance targets, checked.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize builds one side's figures from its shots and reports.
func summarize(s *side, ready int) Side {
	out := Side{Server: s.name, Ready: ready, RSSIdleMiB: mib(s.rssIdle), RSSJoinedMiB: mib(s.rssJoined), RSSPeakMiB: mib(s.rssPk),
		KiBPerConn: -1, KiBPerConnPeak: -1, Errors: map[string]int64{}}
	conns := float64(ready + s.extra)
	if s.rssIdle > 0 && s.rssJoined > 0 && conns > 0 {
		out.KiBPerConn = (s.rssJoined - s.rssIdle) / 1024 / conns
		out.KiBPerConnPeak = (max(s.rssPk, s.rssJoined) - s.rssIdle) / 1024 / conns
	}
	for _, r := range s.reports {
		out.Lost += r.Lost
		out.GeneratorCPUS += r.CPU
		out.ConnectS = max(out.ConnectS, r.Connect)
		for k, v := range r.Errors {
			out.Errors[k] += v
		}
		out.ErrorSamples = append(out.ErrorSamples, r.Samples...)
	}
	for _, kind := range []string{kindQuestion, kindReveal} {
		var pooled, pooledFirst loadgen.Histogram
		var lasts []float64
		var cpu float64
		deliveries, cpuOK := 0, true
		n := 0
		for _, sh := range s.shots {
			if sh.kind != kind {
				continue
			}
			b := Broadcast{Kind: kind, Index: sh.index, Bytes: len(sh.frame), CPUms: sh.cpu * 1000, MachineBusy: sh.win.MachineBusy, Measured: sh.ok, Note: sh.note}
			var h, hf loadgen.Histogram
			times := receipts(s.reports, kind, sh.index)
			var first int64
			if len(times) > 0 {
				first = slices.Min(times)
			}
			for _, t := range times {
				h.Record(time.Duration(t - sh.sent.UnixNano()))
				hf.Record(time.Duration(t - first))
			}
			b.Deliveries, b.Missing = len(times), ready-len(times)
			b.FromCommand, b.FromFirst = h.Summary(), hf.Summary()
			out.Broadcasts = append(out.Broadcasts, b)
			if !sh.ok {
				continue
			}
			n++
			for _, t := range times {
				pooled.Record(time.Duration(t - sh.sent.UnixNano()))
				pooledFirst.Record(time.Duration(t - first))
			}
			lasts = append(lasts, b.FromCommand.Max)
			deliveries += len(times) + s.extra
			if sh.cpu < 0 {
				cpuOK = false
			}
			cpu += sh.cpu
		}
		f := Fanout{Broadcasts: n, FromCommand: pooled.Summary(), FromFirst: pooledFirst.Summary(), LastMS: median(lasts), CPUusPerDelivery: -1}
		if len(lasts) > 0 {
			f.WorstLastMS = slices.Max(lasts)
		}
		if cpuOK && deliveries > 0 {
			f.CPUusPerDelivery = cpu * 1e6 / float64(deliveries)
		}
		if kind == kindQuestion {
			out.Question = f
		} else {
			out.Reveal = f
		}
	}
	return out
}

// receipts gathers every contestant's receipt time of kind i.
func receipts(reports []*workerReport, kind string, i int) []int64 {
	var out []int64
	for _, r := range reports {
		grid := r.Question
		if kind == kindReveal {
			grid = r.Reveal
		}
		if i >= len(grid) {
			continue
		}
		for _, t := range grid[i] {
			if t > 0 {
				out = append(out, t)
			}
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mib(b float64) float64 {
	if b < 0 {
		return -1
	}
	return b / (1 << 20)
}

func ratio(a, b float64) float64 {
	if a < 0 || b <= 0 {
		return -1
	}
	return a / b
}

// buildReport puts the two sides together and checks the targets.
func buildReport(cfg Config, lei, bare, answering *side, took time.Duration) *Report {
	r := &Report{
		Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), MemTotalGiB: memTotalGiB(), URL: strings.Join(cfg.URLs, ","), Nodes: len(cfg.URLs),
		Contestants: cfg.Contestants, Workers: cfg.Workers, Questions: cfg.Questions,
		AnswerWithinMS: cfg.AnswerWithin.Milliseconds(), AnswerAfterMS: cfg.AnswerAfter.Milliseconds(),
		DurationS: took.Seconds(),
	}
	ready := 0
	lastAsked := make([]int64, cfg.Questions) // when question i reached its last contestant
	for i := range lastAsked {
		if ts := receipts(lei.reports, kindQuestion, i); len(ts) > 0 {
			lastAsked[i] = slices.Max(ts)
		}
	}
	for _, w := range lei.reports {
		ready += w.Ready
		r.Answers.Sent += w.Sent
		r.Answers.Acked += w.Acked
		r.Checks.FinishedMissing += w.Ready - w.Finished
	}
	r.Leitai = summarize(lei, ready)
	r.Ack, r.AckWhileAsking, r.AckAfter = acks(lei.reports, lastAsked)
	r.Answering = lei.answering
	r.CPUPerAnswerUS = cpuPerAnswer(lei.answering, r.Leitai.Broadcasts, lei.reports)
	if cfg.RedisURL != "" {
		r.RedisCPUPerAnswerUS = redisPerAnswer(lei.answering, lei.reports)
	}
	r.Answers.Expected = int64(ready * cfg.Questions)
	r.Answers.Unacked = r.Answers.Sent - r.Answers.Acked
	r.Checks.JoinFailed = cfg.Contestants - ready
	r.Checks.Lost = r.Leitai.Lost
	r.Checks.AnswersNotSent = r.Answers.Expected - r.Answers.Sent
	r.Checks.AnswersUnacked = r.Answers.Unacked
	for i := range cfg.Questions {
		r.Checks.QuestionsMissing += ready - len(receipts(lei.reports, kindQuestion, i))
		r.Checks.RevealsMissing += ready - len(receipts(lei.reports, kindReveal, i))
	}
	if bare != nil {
		r.Bare, r.Ratios = r.against(cfg, bare)
	}
	if answering != nil {
		r.BareAnswering, r.RatiosAnswering = r.against(cfg, answering)
		r.BareCPUPerAnswerUS = cpuPerAnswer(answering.answering, r.BareAnswering.Broadcasts, answering.reports)
		all, _, _ := acks(answering.reports, nil)
		r.BareAck = &all
	}
	r.Targets = targets(r)
	return r
}

// answersTo counts the answers written to question i.
func answersTo(reports []*workerReport, i int) int {
	answers := 0
	for _, rep := range reports {
		if i < len(rep.AnswerAt) {
			for _, at := range rep.AnswerAt[i] {
				if at > 0 {
					answers++
				}
			}
		}
	}
	return answers
}

// redisPerAnswer works out Report.RedisCPUPerAnswerUS.
func redisPerAnswer(spans []window, reports []*workerReport) []float64 {
	out := make([]float64, len(spans))
	for i, w := range spans {
		out[i] = -1
		if n := answersTo(reports, i); w.RedisCores >= 0 && n > 0 {
			out[i] = w.RedisCores * w.Seconds / float64(n) * 1e6
		}
	}
	return out
}

// cpuPerAnswer works out Report.CPUPerAnswerUS.
func cpuPerAnswer(spans []window, casts []Broadcast, reports []*workerReport) []float64 {
	out := make([]float64, len(spans))
	for i, w := range spans {
		out[i] = -1
		answers := answersTo(reports, i)
		if w.ServerCores < 0 || answers == 0 {
			continue
		}
		for _, b := range casts {
			if b.Kind == kindQuestion && b.Index == i && b.Measured && b.CPUms >= 0 {
				out[i] = (w.ServerCores*w.Seconds - b.CPUms/1000) / float64(answers) * 1e6
			}
		}
	}
	return out
}

// against sums up a bare run, counts what it missed, and sets Leitai's
// figures against it.
func (r *Report) against(cfg Config, bare *side) (*Side, *Ratios) {
	bready := 0
	for _, w := range bare.reports {
		bready += w.Ready
	}
	b := summarize(bare, bready)
	r.Checks.BareMissing += cfg.Contestants - bready
	for _, x := range b.Broadcasts {
		r.Checks.BareMissing += x.Missing
	}
	l := r.Leitai
	return &b, &Ratios{
		QuestionLast: ratio(l.Question.LastMS, b.Question.LastMS),
		QuestionP50:  ratio(l.Question.FromCommand.P50, b.Question.FromCommand.P50),
		QuestionP99:  ratio(l.Question.FromCommand.P99, b.Question.FromCommand.P99),
		RevealLast:   ratio(l.Reveal.LastMS, b.Reveal.LastMS),
		RevealP50:    ratio(l.Reveal.FromCommand.P50, b.Reveal.FromCommand.P50),
		RevealP99:    ratio(l.Reveal.FromCommand.P99, b.Reveal.FromCommand.P99),
		CPUQuestion:  ratio(l.Question.CPUusPerDelivery, b.Question.CPUusPerDelivery),
		CPUReveal:    ratio(l.Reveal.CPUusPerDelivery, b.Reveal.CPUusPerDelivery),
		MemPerConn:   ratio(l.KiBPerConn, b.KiBPerConn),
	}
}

// acks sums up the ack latencies of every answer, and apart those written
// before and after the question reached its last contestant (lastAsked[i],
// Unix ns; with no lastAsked every ack counts as after).
func acks(reports []*workerReport, lastAsked []int64) (all, early, late loadgen.Latency) {
	var a, e, l loadgen.Histogram
	for _, w := range reports {
		for i, row := range w.Ack {
			for k, ns := range row {
				if ns <= 0 {
					continue
				}
				a.Record(time.Duration(ns))
				if i < len(w.AnswerAt) && i < len(lastAsked) && w.AnswerAt[i][k] < lastAsked[i] {
					e.Record(time.Duration(ns))
				} else {
					l.Record(time.Duration(ns))
				}
			}
		}
	}
	return a.Summary(), e.Summary(), l.Summary()
}

func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// targets checks DESIGN.md's performance targets.
func targets(r *Report) []Target {
	var out []Target
	if r.Ratios != nil {
		out = append(out,
			Target{"question to the last contestant", "≤ 1.30× bare", f2(r.Ratios.QuestionLast) + "×", r.Ratios.QuestionLast > 0 && r.Ratios.QuestionLast <= 1.3},
			Target{"reveal to the last contestant", "≤ 1.50× bare", f2(r.Ratios.RevealLast) + "×", r.Ratios.RevealLast > 0 && r.Ratios.RevealLast <= 1.5})
	}
	out = append(out,
		Target{"answer ack p99", "< 150 ms", f1(r.Ack.P99) + " ms", r.Ack.Count > 0 && r.Ack.P99 < 150},
		Target{"every answer acked", "all", strconv.FormatInt(r.Answers.Acked, 10) + " of " + strconv.FormatInt(r.Answers.Expected, 10),
			r.Answers.Expected > 0 && r.Answers.Acked == r.Answers.Expected},
		Target{"server memory per contestant", "≤ 24 KiB", f1(r.Leitai.KiBPerConn) + " KiB (peak " + f1(r.Leitai.KiBPerConnPeak) + ")",
			r.Leitai.KiBPerConn > 0 && r.Leitai.KiBPerConn <= 24})
	return out
}

// memTotalGiB reads MemTotal from /proc/meminfo, or -1.
func memTotalGiB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					return kb / (1 << 20)
				}
			}
		}
	}
	return -1
}
