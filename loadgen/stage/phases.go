package stage

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/leitai/leitai/loadgen"
)

// countdown is the event room's countdown before question 0.
const countdown = 3 * time.Second

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runLeitai plays the event on the Leitai server.
func (c *coord) runLeitai(ctx context.Context) (*side, error) {
	cfg := c.cfg
	s := &side{name: "leitai"}
	smp := newSampler(cfg.ServerPIDs...)
	if cfg.RedisURL != "" {
		r, err := loadgen.NewRedisCPU(cfg.RedisURL)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		if smp == nil {
			smp = &sampler{peak: -1}
		}
		smp.redis = r
	}
	s.rssIdle, _ = smp.sample()
	ev, err := createEvent(ctx, cfg.URL, cfg.AdminToken, cfg.Questions, cfg.TimeLimit)
	if err != nil {
		return nil, err
	}
	c.logf("event %s, PIN %s, %d questions", ev.ID, ev.PIN, cfg.Questions)
	host, err := dialClient(ctx, cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("stage: host: %w", err)
	}
	defer host.close()
	if _, err := host.call("hello", map[string]string{"token": ev.HostToken}, 30*time.Second); err != nil {
		return nil, err
	}
	sentinel, err := dialClient(ctx, cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("stage: sentinel: %w", err)
	}
	defer sentinel.close()
	if _, err := sentinel.call("hello", map[string]string{"name": "sentinel"}, 30*time.Second); err != nil {
		return nil, err
	}
	if _, err := sentinel.call("event.join", map[string]string{"pin": ev.PIN, "name": "sentinel"}, 30*time.Second); err != nil {
		return nil, err
	}

	c.logf("connecting %d contestants through %d workers…", cfg.Contestants, len(c.procs))
	if err := c.connectSide(ctx, s, smp, command{Op: opJoin, URL: cfg.URL, URLs: cfg.URLs, PIN: ev.PIN}, "joined"); err != nil {
		return nil, err
	}
	smp.watch()
	defer smp.unwatch()

	// control sends a host action and waits until every contestant has
	// kind i; it returns the mark taken just before the command.
	control := func(kind string, i int, action string) (mark, error) {
		if err := sleep(ctx, cfg.Settle); err != nil {
			return mark{}, err
		}
		m0 := smp.mark()
		sent, ch, err := host.send("host.control", map[string]string{"room": ev.Room, "action": action})
		if err != nil {
			return m0, err
		}
		ok, err := c.await(ctx, cfg.Wait, c.allDone(kind, i))
		if err != nil {
			return m0, err
		}
		m1 := smp.mark()
		sh := shot{kind: kind, index: i, sent: sent, cpu: cpuDelta(m0.server, m1.server), win: between(m0, m1), ok: ok}
		if !ok {
			sh.note = fmt.Sprintf("not everyone had it after %v", cfg.Wait)
		}
		if _, err := host.wait(action, ch, cfg.Wait); err != nil {
			sh.ok, sh.note = false, err.Error()
		}
		sh.frame = sentinel.frame(kind, i, cfg.Wait)
		if sh.frame == nil {
			sh.ok, sh.note = false, "the sentinel did not get it"
		}
		s.shots = append(s.shots, sh)
		c.logf("%s %d: %s", kind, i, okNote(sh))
		return m0, nil
	}
	// Question 0 comes when the start countdown runs out: it is played but
	// not timed.
	if _, err := host.call("host.control", map[string]string{"room": ev.Room, "action": "start"}, cfg.Wait); err != nil {
		return nil, err
	}
	if _, err := c.await(ctx, countdown+cfg.Wait, c.allDone(kindQuestion, 0)); err != nil {
		return nil, err
	}
	asked := smp.mark()
	for i := range cfg.Questions {
		if i > 0 {
			if asked, err = control(kindQuestion, i, "next"); err != nil {
				return nil, err
			}
		}
		ok, err := c.await(ctx, cfg.AnswerWithin+cfg.Wait, c.allDone(kindAck, i))
		if err != nil {
			return nil, err
		}
		// From the question (for question 0: from its arrival) to the
		// last ack: how busy the server and the machine were.
		s.answering = append(s.answering, between(asked, smp.mark()))
		if !ok {
			c.logf("answers to question %d not all resolved after %v", i, cfg.AnswerWithin+cfg.Wait)
		}
		if _, err := control(kindReveal, i, "reveal"); err != nil {
			return nil, err
		}
	}
	// The last next ends the event.
	if err := sleep(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	if _, err := host.call("host.control", map[string]string{"room": ev.Room, "action": "next"}, cfg.Wait); err != nil {
		c.logf("ending the event: %v", err)
	}
	// The result is stored before room.finished goes out, and the host's
	// reply does not wait for that: wait for the sentinel to be told.
	select {
	case <-sentinel.finished:
	case <-time.After(cfg.Wait):
		c.logf("the sentinel got no room.finished in %v", cfg.Wait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := sleep(ctx, 2*cfg.Settle); err != nil {
		return nil, err
	}
	s.rssPk = smp.unwatch()
	s.extra = 1 // the sentinel got each broadcast too
	if s.reports, err = c.collect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// runBare sends the frames Leitai sent, in the same order, from a bare
// server to as many connections. If answer, the contestants answer each
// question as on Leitai, and the bare server acks the answers.
func (c *coord) runBare(ctx context.Context, leitai []shot, answer bool) (*side, error) {
	cfg := c.cfg
	s := &side{name: "bare"}
	if answer {
		s.name = "bare+answers"
	}
	url, pid, stop, err := cfg.StartBare(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stop() }()
	smp := newSampler(pid)
	if err := sleep(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	s.rssIdle, _ = smp.sample()
	c.logf("%s server at %s; connecting %d contestants…", s.name, url, cfg.Contestants)
	if err := c.connectSide(ctx, s, smp, command{Op: opBare, URL: url, Answers: answer}, "connected"); err != nil {
		return nil, err
	}
	smp.watch()
	defer smp.unwatch()
	for _, l := range leitai {
		if l.frame == nil {
			continue
		}
		if err := sleep(ctx, cfg.Settle); err != nil {
			return nil, err
		}
		// Warm the HTTP connection so the trigger costs what a WebSocket
		// command does.
		if err := bareWarm(ctx, url); err != nil {
			return nil, err
		}
		m0 := smp.mark()
		sent := time.Now()
		if err := postBroadcast(ctx, url, l.frame); err != nil {
			return nil, err
		}
		ok, err := c.await(ctx, cfg.Wait, c.allDone(l.kind, l.index))
		if err != nil {
			return nil, err
		}
		m1 := smp.mark()
		sh := shot{kind: l.kind, index: l.index, sent: sent, cpu: cpuDelta(m0.server, m1.server), win: between(m0, m1), ok: ok, frame: l.frame}
		if !ok {
			sh.note = fmt.Sprintf("not everyone had it after %v", cfg.Wait)
		}
		s.shots = append(s.shots, sh)
		c.logf("%s %s %d: %s", s.name, l.kind, l.index, okNote(sh))
		if answer && l.kind == kindQuestion {
			// As on the Leitai side, the next broadcast waits for the
			// answers to this question.
			if ok, err := c.await(ctx, cfg.AnswerWithin+cfg.AnswerAfter+cfg.Wait, c.allDone(kindAck, l.index)); err != nil {
				return nil, err
			} else if !ok {
				c.logf("%s: answers to question %d not all acked after %v", s.name, l.index, cfg.AnswerWithin+cfg.AnswerAfter+cfg.Wait)
			}
			// From the broadcast to the last ack, as on the Leitai side:
			// what the bare server spends on an answer.
			// Indexed by question, as there: question 0 is not replayed.
			for len(s.answering) < l.index {
				s.answering = append(s.answering, window{ServerCores: -1, RedisCores: -1, MachineBusy: -1})
			}
			s.answering = append(s.answering, between(m0, smp.mark()))
		}
	}
	s.rssPk = smp.unwatch()
	if s.reports, err = c.collect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// connectSide has the workers connect the side's contestants with op, says
// how many got there, lets the server settle, and samples its RSS with
// everyone on.
func (c *coord) connectSide(ctx context.Context, s *side, smp *sampler, op command, done string) error {
	began := time.Now()
	var err error
	if s.ready, err = c.connect(ctx, op); err != nil {
		return err
	}
	c.logf("%d of %d %s in %.1f s", s.ready, c.cfg.Contestants, done, time.Since(began).Seconds())
	if err := sleep(ctx, 2*c.cfg.Settle); err != nil {
		return err
	}
	s.rssJoined, _ = smp.sample()
	return nil
}

func bareWarm(ctx context.Context, wsURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpBase(wsURL)+"/conns", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

func cpuDelta(a, b float64) float64 {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

func okNote(s shot) string {
	if s.ok {
		return "delivered"
	}
	return "NOT MEASURED: " + s.note
}
