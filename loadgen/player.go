package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
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
	g  *gen            // Static after construction.
	ws *websocket.Conn // Static after construction.

	// mu guards the following fields, and serializes writes to ws.
	mu       sync.Mutex
	rng      *rand.Rand
	id       string
	state    pstate
	room     string
	ticket   string
	seq      int
	pending  map[string]sent // answer request id -> the answer awaiting its ack
	findAt   time.Time       // when the last match.find was written
	foundAt  time.Time       // when the current match was found
	stopping bool
	think    *time.Timer
}

// envelope is the part of every server message the player reads first.
type envelope struct {
	Type string          `json:"type"`
	Re   string          `json:"re"`
	Data json.RawMessage `json:"data"`
}

// idOnly reads the id of a player object.
type idOnly struct {
	ID string `json:"id"`
}

// request is a message to the server.
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

// handle acts on one server message. Runs on the reader goroutine.
func (p *player) handle(m envelope) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m.Type {
	case "welcome":
		var w struct {
			Player idOnly `json:"player"`
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
			Room    string   `json:"room"`
			Players []idOnly `json:"players"`
		}
		_ = json.Unmarshal(m.Data, &f)
		if p.state != stQueued && p.state != stFinding {
			p.g.stats.violation("matched_twice")
			p.g.stats.fail("matched_while_"+p.state.String(), "match.found for "+f.Room+" while in "+p.room)
		}
		if len(f.Players) != p.g.size {
			p.g.stats.violation("wrong_room_size")
		}
		if !slices.Contains(f.Players, idOnly{p.id}) {
			p.g.stats.violation("found_without_me")
		}
		if !p.g.noteFound(f.Room) {
			p.g.stats.violation("room_overfull")
		}
		now := time.Now()
		p.state, p.room, p.foundAt = stPlaying, f.Room, now
		if !p.findAt.IsZero() {
			p.g.wait.Record(now.Sub(p.findAt))
		}
	case "question":
		var q Question
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
		if a, ok := p.pending[m.Re]; ok {
			delete(p.pending, m.Re)
			p.g.hist.Record(time.Since(a.at))
			p.g.stats.acked.Add(1)
		}
		if a.Duplicate {
			p.g.stats.duplicates.Add(1)
		}
		p.settled()
	case "error":
		p.onError(m)
	case "reveal":
		var r struct {
			Room  string `json:"room"`
			Index int    `json:"index"`
		}
		_ = json.Unmarshal(m.Data, &r)
		for _, a := range p.pending {
			if a.room == r.Room && a.index == r.Index {
				p.g.stats.revealBeforeAck.Add(1)
			}
		}
	case "room.finished":
		var f struct {
			Room string `json:"room"`
		}
		_ = json.Unmarshal(m.Data, &f)
		p.g.noteFinished(f.Room)
		for _, a := range p.pending {
			if a.room == f.Room {
				p.g.stats.finishedBeforeAck.Add(1)
			}
		}
		if p.state == stPlaying && f.Room == p.room {
			p.g.match.Record(time.Since(p.foundAt))
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
	// countdown, room.state, progress, scoreboard, pong: nothing to do.
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
		p.settled()
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
		// An answer's ack may come after the match's end (the server
		// acks once the answer is durable); wait for it before leaving.
		if len(p.pending) == 0 {
			p.leave()
		}
		return
	}
	if p.g.cfg.Idle {
		return
	}
	p.state = stFinding
	p.g.stats.finds.Add(1)
	p.findAt = time.Now()
	p.send("match.find", p.nextID('f'), map[string]string{"mode": p.g.cfg.Mode})
}

// settled is called when an answer is resolved: a player that is done and
// was only waiting for its acks leaves. The caller holds mu.
func (p *player) settled() {
	if p.stopping && p.state == stIdle && len(p.pending) == 0 {
		p.leave()
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
		p.find()
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
