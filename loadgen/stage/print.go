package stage

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/leitai/leitai/loadgen"
)

// Print writes the report as text.
func (r *Report) Print(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	delay := ""
	if r.AnswerAfterMS > 0 {
		delay = fmt.Sprintf(" after a %d ms delay", r.AnswerAfterMS)
	}
	p("leitai bench event  %d contestants (%d workers), %d questions, answers within %d ms%s, against %s",
		r.Contestants, r.Workers, r.Questions, r.AnswerWithinMS, delay, r.URL)
	p("machine            %d CPUs, %.1f GiB; %s; run took %.0f s", r.CPUs, r.MemTotalGiB, r.Date, r.DurationS)
	p("")
	sides := []*Side{&r.Leitai}
	if r.Bare != nil {
		sides = append(sides, r.Bare)
	}
	// Columns: Leitai, the bare run and the ratio; with an answering bare
	// run, it and the ratio over it too.
	answering := r.BareAnswering != nil
	head := fmt.Sprintf("%-34s %12s %12s %8s", "", "leitai", "bare", "ratio")
	if answering {
		sides = append(sides, r.BareAnswering)
		head += fmt.Sprintf(" %14s %8s", "bare+answers", "ratio")
	}
	p("%s", head)
	cell := func(s *Side, get func(*Side) float64, unit string) string {
		if s != nil {
			if v := get(s); v >= 0 {
				return fmt.Sprintf("%.1f%s", v, unit)
			}
		}
		return "—"
	}
	times := func(rt *Ratios, pick func(*Ratios) float64) string {
		if rt == nil || pick == nil || pick(rt) <= 0 {
			return ""
		}
		return fmt.Sprintf("%.2f×", pick(rt))
	}
	row := func(label string, get func(*Side) float64, unit string, rat func(*Ratios) float64) {
		line := fmt.Sprintf("%-34s %12s %12s %8s", label, cell(&r.Leitai, get, unit), cell(r.Bare, get, unit), times(r.Ratios, rat))
		if answering {
			line += fmt.Sprintf(" %14s %8s", cell(r.BareAnswering, get, unit), times(r.RatiosAnswering, rat))
		}
		p("%s", strings.TrimRight(line, " "))
	}
	fanout := func(name string, pick func(*Side) *Fanout, last, p50, p99, cpu func(*Ratios) float64) {
		p("%s fan-out (%d broadcasts), from the host's command:", name, pick(&r.Leitai).Broadcasts)
		row("  p50", func(s *Side) float64 { return pick(s).FromCommand.P50 }, " ms", p50)
		row("  p99", func(s *Side) float64 { return pick(s).FromCommand.P99 }, " ms", p99)
		row("  last contestant (median)", func(s *Side) float64 { return pick(s).LastMS }, " ms", last)
		row("  last contestant (worst)", func(s *Side) float64 { return pick(s).WorstLastMS }, " ms", nil)
		row("  p50 from the first receiver", func(s *Side) float64 { return pick(s).FromFirst.P50 }, " ms", nil)
		row("  last from the first receiver", func(s *Side) float64 { return pick(s).FromFirst.Max }, " ms", nil)
		row("  server CPU per delivery", func(s *Side) float64 { return pick(s).CPUusPerDelivery }, " µs", cpu)
	}
	fanout("question", func(s *Side) *Fanout { return &s.Question },
		func(x *Ratios) float64 { return x.QuestionLast }, func(x *Ratios) float64 { return x.QuestionP50 },
		func(x *Ratios) float64 { return x.QuestionP99 }, func(x *Ratios) float64 { return x.CPUQuestion })
	fanout("reveal", func(s *Side) *Fanout { return &s.Reveal },
		func(x *Ratios) float64 { return x.RevealLast }, func(x *Ratios) float64 { return x.RevealP50 },
		func(x *Ratios) float64 { return x.RevealP99 }, func(x *Ratios) float64 { return x.CPUReveal })
	p("server memory:")
	row("  RSS idle", func(s *Side) float64 { return s.RSSIdleMiB }, " MiB", nil)
	row("  RSS everyone connected", func(s *Side) float64 { return s.RSSJoinedMiB }, " MiB", nil)
	row("  RSS peak", func(s *Side) float64 { return s.RSSPeakMiB }, " MiB", nil)
	row("  per connection", func(s *Side) float64 { return s.KiBPerConn }, " KiB", func(x *Ratios) float64 { return x.MemPerConn })
	row("  per connection at peak", func(s *Side) float64 { return s.KiBPerConnPeak }, " KiB", nil)
	row("generator CPU (workers)", func(s *Side) float64 { return s.GeneratorCPUS }, " s", nil)
	p("")
	a := r.Ack
	p("answer ack         p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  (%d acks; %d expected, %d sent, %d unacked)",
		a.P50, a.P90, a.P99, a.Max, a.Count, r.Answers.Expected, r.Answers.Sent, r.Answers.Unacked)
	for _, x := range []struct {
		label string
		l     loadgen.Latency
	}{{"  answered while the question was still going out:", r.AckWhileAsking}, {"  answered after it had reached everyone:", r.AckAfter}} {
		p("%-52s p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%d acks)", x.label, x.l.P50, x.l.P99, x.l.Max, x.l.Count)
	}
	if b := r.BareAck; b != nil {
		p("%-52s p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%d acks)", "  the bare server's acks (bare+answers run):", b.P50, b.P99, b.Max, b.Count)
	}
	for i, w := range r.Answering {
		per := ""
		if i < len(r.CPUPerAnswerUS) && r.CPUPerAnswerUS[i] >= 0 {
			per = fmt.Sprintf("; %.0f µs of server CPU per answer", r.CPUPerAnswerUS[i])
		}
		if w.RedisCores >= 0 {
			per += fmt.Sprintf("; redis %.2f cores", w.RedisCores)
			if i < len(r.RedisCPUPerAnswerUS) && r.RedisCPUPerAnswerUS[i] >= 0 {
				per += fmt.Sprintf(", %.0f µs per answer", r.RedisCPUPerAnswerUS[i])
			}
		}
		p("  question %d: last ack %.2f s after asking; server %s cores, machine %s busy%s", i, w.Seconds,
			orDash(w.ServerCores, "%.2f"), orDash(100*w.MachineBusy, "%.0f%%"), per)
	}
	for i, us := range r.BareCPUPerAnswerUS {
		if us >= 0 {
			p("  bare+answers question %d: %.0f µs of bare server CPU per answer (read and acked, nothing stored)", i, us)
		}
	}
	p("")
	p("broadcasts:")
	for _, s := range sides {
		for _, b := range s.Broadcasts {
			note := ""
			if !b.Measured {
				note = "  NOT MEASURED: " + b.Note
			}
			p("  %-12s %-8s %d  %5d B  %6d delivered, %d missing  p50 %7.1f  p99 %7.1f  last %7.1f ms  server cpu %s  machine %s busy%s",
				s.Server, b.Kind, b.Index, b.Bytes, b.Deliveries, b.Missing, b.FromCommand.P50, b.FromCommand.P99, b.FromCommand.Max,
				orDash(b.CPUms, "%4.0f ms"), orDash(100*b.MachineBusy, "%3.0f%%"), note)
		}
	}
	p("")
	for _, s := range sides {
		if len(s.Errors) == 0 && s.Lost == 0 {
			continue
		}
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s ×%d", k, s.Errors[k])
		}
		p("%s errors: %s; %d connections lost", s.Server, strings.Join(parts, ", "), s.Lost)
		for _, e := range s.ErrorSamples {
			p("  e.g. %s", e)
		}
	}
	if r.Checks.OK() {
		p("checks             every contestant got every question and reveal; every answer acked")
	} else {
		p("checks             FAILED %+v", r.Checks)
	}
	p("targets (DESIGN.md):")
	for _, t := range r.Targets {
		mark := "met"
		if !t.Met {
			mark = "MISSED"
		}
		p("  %-32s want %-14s got %-28s %s", t.Name, t.Want, t.Got, mark)
	}
}

// orDash formats v, or a dash when it was not measured (negative).
func orDash(v float64, format string) string {
	if v < 0 {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
