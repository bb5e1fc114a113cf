package loadgen

import (
	"strconv"
	"time"
)

// sent is an answer written and not yet acked or refused.
type sent struct {
	at    time.Time
	room  string
	index int
}

// Question is the part of a question message's data a simulated player
// needs to answer it.
type Question struct {
	Room     string `json:"room"`
	Index    int    `json:"index"`
	Question struct {
		Type    string `json:"type"`
		Options []struct {
			Key string `json:"key"`
		} `json:"options"`
	} `json:"question"`
}

// outAnswer is an answer as sent.
type outAnswer struct {
	Room   string   `json:"room"`
	Index  int      `json:"index"`
	Choice []string `json:"choice,omitempty"`
	Text   *string  `json:"text,omitempty"`
}

// scheduleAnswer answers q after a think time. The caller holds mu.
func (p *player) scheduleAnswer(q Question) {
	think := p.g.cfg.ThinkMin
	if span := p.g.cfg.ThinkMax - p.g.cfg.ThinkMin; span > 0 {
		think += time.Duration(p.rng.Int64N(int64(span)))
	}
	a := outAnswer{Room: q.Room, Index: q.Index}
	if n := len(q.Question.Options); n > 0 && q.Question.Type != "text" {
		a.Choice = []string{q.Question.Options[p.rng.IntN(n)].Key}
	} else {
		t := "答" + strconv.Itoa(p.rng.IntN(1000))
		a.Text = &t
	}
	if p.think != nil {
		p.think.Stop()
	}
	p.think = time.AfterFunc(think, func() { p.answer(a) })
}

// answer sends a; runs on a think timer's goroutine.
func (p *player) answer(a outAnswer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stPlaying || p.room != a.Room {
		return
	}
	id := p.nextID('a')
	now := time.Now()
	p.pending[id] = sent{at: now, room: a.Room, index: a.Index}
	if !p.send("answer", id, a) {
		delete(p.pending, id)
		return
	}
	p.g.stats.answersSent.Add(1)
	if p.g.inWindow(now) {
		p.g.stats.answersWindow.Add(1)
	}
}
