package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// pstate is where a player is in its loop.
type pstate int

const (
	stConnecting pstate = iota
	stIdle              // welcomed, not queued
	stFinding           // match.find sent, no reply yet
	stQueued            // match.queued
	stPlaying           // match.found, until room.finished
	stLeaving           // close frame sent
)

var stateNames = [...]string{"connecting", "idle", "finding", "queued", "playing", "leaving"}

func (s pstate) String() string { return stateNames[s] }

// writeWait bounds one write; a server that stops reading for this long
// has fallen over, and the player gives up.
const writeWait = 10 * time.Second

// player is one simulated contestant on one connection. Its reader
// goroutine handles everything the server sends; think timers answer.
type player struct {
	g   *gen // Static after construction.
	idx int  // Static after construction.
	ws  *websocket.Conn

	// mu guards the following fields, and serializes writes to ws.
	mu       sync.Mutex
	rng      *rand.Rand
	id       string
	state    pstate
	room     string
	ticket   string
	seq      int
	pending  map[string]time.Time // answer request id -> when it was written
	stopping bool
	think    *time.Timer
}

// envelope is the part of every server message the player reads first.
type envelope struct {
	Type string          `json:"type"`
	Re   string          `json:"re"`
	Data json.RawMessage `json:"data"`
}

// inQuestion is the part of a question message the player needs.
type inQuestion struct {
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

type request struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data"`
}

// send writes one request. The caller holds mu.
func (p *player) send(typ, id string, data any) bool {
	b, err := json.Marshal(request{Type: typ, ID: id, Data: data})
	if err != nil {
		p.g.stats.fail("encode", err.Error())
		return false
	}
	_ = p.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := p.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		if p.state != stLeaving {
			p.g.stats.fail("write:"+errClass(err), err.Error())
		}
		return false
	}
	return true
}

func (p *player) nextID(prefix byte) string {
	p.seq++
	return string(prefix) + strconv.Itoa(p.seq)
}

// read handles the server's messages until the connection ends. Runs in its
// own goroutine.
func (p *player) read() {
	defer p.g.done.Done()
	defer p.g.stats.open.Add(-1)
	for {
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			p.ended(err)
			return
		}
		var m envelope
		if err := json.Unmarshal(b, &m); err != nil {
			p.g.stats.fail("bad_json", err.Error())
			continue
		}
		p.handle(m)
	}
}

// ended accounts for a closed connection.
func (p *player) ended(err error) {
	p.mu.Lock()
	st := p.state
	p.state = stLeaving
	if p.think != nil {
		p.think.Stop()
	}
	p.mu.Unlock()
	p.ws.Close()
	if st == stConnecting {
		p.g.stats.fail("hello:"+errClass(err), err.Error())
		p.g.welcomed.Done()
	}
	if st != stLeaving {
		p.g.stats.lost.Add(1)
		if st != stConnecting {
			p.g.stats.fail(errClass(err), err.Error())
		}
	}
}

func (p *player) handle(m envelope) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m.Type {
	case "welcome":
		var w struct {
			Player struct {
				ID string `json:"id"`
			} `json:"player"`
		}
		_ = json.Unmarshal(m.Data, &w)
		p.id = w.Player.ID
		if p.state == stConnecting {
			p.state = stIdle
			p.g.stats.welcomed.Add(1)
			p.g.welcomed.Done()
		}
		p.find()
	case "match.queued":
		var q struct {
			Ticket string `json:"ticket"`
		}
		_ = json.Unmarshal(m.Data, &q)
		if p.state == stFinding {
			p.state, p.ticket = stQueued, q.Ticket
		}
		if p.stopping && p.state == stQueued {
			p.send("match.cancel", p.nextID('c'), map[string]string{"ticket": p.ticket})
		}
	case "match.found":
		var f struct {
			Room    string `json:"room"`
			Players []struct {
				ID string `json:"id"`
			} `json:"players"`
		}
		_ = json.Unmarshal(m.Data, &f)
		if p.state != stQueued && p.state != stFinding {
			p.g.stats.violation("matched_twice")
			p.g.stats.fail("matched_while_"+p.state.String(), "match.found for "+f.Room+" while in "+p.room)
		}
		if len(f.Players) != p.g.size {
			p.g.stats.violation("wrong_room_size")
		}
		if !p.g.noteFound(f.Room) {
			p.g.stats.violation("room_overfull")
		}
		p.state, p.room = stPlaying, f.Room
	case "question":
		var q inQuestion
		if err := json.Unmarshal(m.Data, &q); err != nil {
			p.g.stats.fail("bad_question", err.Error())
			return
		}
		p.scheduleAnswer(q)
	case "answer.ack":
		var a struct {
			Duplicate bool `json:"duplicate"`
		}
		_ = json.Unmarshal(m.Data, &a)
		if at, ok := p.pending[m.Re]; ok {
			delete(p.pending, m.Re)
			p.g.hist.Record(time.Since(at))
			p.g.stats.acked.Add(1)
		}
		if a.Duplicate {
			p.g.stats.duplicates.Add(1)
		}
	case "error":
		p.onError(m)
	case "room.finished":
		var f struct {
			Room string `json:"room"`
		}
		_ = json.Unmarshal(m.Data, &f)
		p.g.noteFinished(f.Room)
		if p.state == stPlaying && f.Room == p.room {
			p.state, p.room = stIdle, ""
			p.find()
		}
	case "match.timeout":
		p.g.stats.timeouts.Add(1)
		if p.state == stQueued || p.state == stFinding {
			p.state = stIdle
			p.find()
		}
	case "match.cancelled":
		if p.state == stQueued || p.state == stFinding {
			p.state = stIdle
			p.find()
		}
	}
	// countdown, room.state, progress, reveal, scoreboard, pong: nothing to do.
}

// onError handles an error reply. The caller holds mu.
func (p *player) onError(m envelope) {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(m.Data, &e)
	kind := "push"
	if m.Re != "" {
		switch m.Re[0] {
		case 'a':
			kind = "answer"
		case 'f':
			kind = "match.find"
		case 'c':
			kind = "match.cancel"
		case 'h':
			kind = "hello"
		}
	}
	p.g.stats.fail(kind+":"+e.Code, e.Message)
	switch kind {
	case "answer":
		if _, ok := p.pending[m.Re]; ok {
			delete(p.pending, m.Re)
			p.g.stats.answerErrs.Add(1)
		}
	case "hello":
		if p.state == stConnecting {
			p.g.welcomed.Done()
			p.leave()
		}
	case "match.find":
		// Typically wrong_phase: the server has not let go of the last
		// match yet. Ask again shortly.
		if p.state == stFinding {
			p.state = stIdle
			time.AfterFunc(250*time.Millisecond, func() {
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.state == stIdle {
					p.find()
				}
			})
		}
	}
}

// find queues the player again, or lets it go once the window is over.
// The caller holds mu.
func (p *player) find() {
	if p.state != stIdle {
		return
	}
	if p.stopping {
		p.leave()
		return
	}
	p.state = stFinding
	p.g.stats.finds.Add(1)
	p.send("match.find", p.nextID('f'), map[string]string{"mode": p.g.cfg.Mode})
}

// scheduleAnswer answers q after a think time. The caller holds mu.
func (p *player) scheduleAnswer(q inQuestion) {
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
	p.pending[id] = now
	if !p.send("answer", id, a) {
		delete(p.pending, id)
		return
	}
	p.g.stats.answersSent.Add(1)
	if p.g.inWindow(now) {
		p.g.stats.answersWindow.Add(1)
	}
}

// stop ends the player's loop at the end of the window: a queued player
// cancels, an idle one leaves, one in a match finishes it first.
func (p *player) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopping = true
	switch p.state {
	case stIdle:
		p.leave()
	case stQueued:
		p.send("match.cancel", p.nextID('c'), map[string]string{"ticket": p.ticket})
	}
}

// leave closes the connection politely. The caller holds mu.
func (p *player) leave() {
	p.state = stLeaving
	if p.think != nil {
		p.think.Stop()
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench over")
	_ = p.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	// The server answers the close; if it does not, the read ends anyway.
	_ = p.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
}

// kill closes the connection at once; the reader then ends.
func (p *player) kill() {
	p.mu.Lock()
	p.state = stLeaving
	if p.think != nil {
		p.think.Stop()
	}
	p.mu.Unlock()
	p.ws.NetConn().Close()
}
