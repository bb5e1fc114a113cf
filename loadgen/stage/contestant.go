package stage

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leitai/leitai/internal/wsbuf"
	"github.com/leitai/leitai/loadgen"
)

// writeWait bounds one write of a contestant.
const writeWait = 10 * time.Second

// contestant is one simulated phone. Its reader notes when each question and
// reveal arrives; a timer answers each question at a random moment within
// the answer window.
type contestant struct {
	p    *phase          // Static after construction.
	k    int             // Static after construction.
	ws   *websocket.Conn // Static after construction.
	name string          // Static after construction.

	settleOnce sync.Once
	settled    chan struct{} // closed once joined or failed

	// mu serializes writes to ws and guards the following fields.
	mu      sync.Mutex
	ready   bool
	leaving bool
	sentAt  map[int]int64 // question index -> when its answer was written
	timers  []*time.Timer
}

// questionInfo is what a worker learns from the first copy of question i it
// reads: every contestant answers from the same option keys, so the answer
// messages are built once, one per key (or a few texts), and each
// contestant picks one. The generator shares the cores with the server;
// whatever it spends per answer is taken from the server's measurement.
type questionInfo struct {
	once    sync.Once
	answers []string
}

// answerTexts is how many different texts a text question is answered with.
const answerTexts = 8

// settle marks the contestant ready (joined) or failed, once.
func (c *contestant) settle(ok bool) {
	c.settleOnce.Do(func() {
		if ok {
			c.mu.Lock()
			c.ready = true
			c.mu.Unlock()
			c.p.mu.Lock()
			c.p.ready++
			c.p.mu.Unlock()
		}
		close(c.settled)
		c.p.settled.Done()
	})
}

// write sends one text message. The caller holds mu.
func (c *contestant) write(msg string) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		if !c.leaving {
			c.p.fail("write:"+loadgen.ErrClass(err), err.Error())
		}
		return false
	}
	return true
}

// read handles the server's messages until the connection ends. Runs in
// its own goroutine.
func (c *contestant) read() {
	defer c.p.readers.Done()
	for {
		buf, err := wsbuf.Read(c.ws) // handle keeps nothing of the bytes
		now := time.Now().UnixNano()
		if err != nil {
			c.ended(err)
			return
		}
		c.handle(buf.Bytes(), now)
		wsbuf.Put(buf)
	}
}

// ended accounts for a closed connection.
func (c *contestant) ended(err error) {
	c.mu.Lock()
	leaving, ready := c.leaving, c.ready
	c.leaving = true
	for _, t := range c.timers {
		t.Stop()
	}
	c.mu.Unlock()
	c.ws.Close()
	if leaving {
		return
	}
	if !ready {
		c.p.fail("join:"+loadgen.ErrClass(err), err.Error())
		c.settle(false)
		return
	}
	c.p.fail("read:"+loadgen.ErrClass(err), err.Error())
	c.p.lost.Add(1)
	if c.p.expect.Load() != math.MaxInt64 {
		c.p.expect.Add(-1)
		c.p.recheck()
	}
}

// msgType reads the type of a server message cheaply: the server always
// writes "type" first.
func msgType(b []byte) string {
	const pre = `{"type":"`
	if !bytes.HasPrefix(b, []byte(pre)) {
		var e struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &e)
		return e.Type
	}
	rest := b[len(pre):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

// intAfter reads the integer after the first occurrence of key, or -1.
func intAfter(b []byte, key string) int {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return -1
	}
	n, j := 0, i+len(key)
	if j >= len(b) || b[j] < '0' || b[j] > '9' {
		return -1
	}
	for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		n = n*10 + int(b[j]-'0')
	}
	return n
}

// reOf reads the "re" of a reply, or "".
func reOf(b []byte) string {
	const key = `"re":"`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}

func (c *contestant) handle(b []byte, now int64) {
	p := c.p
	switch msgType(b) {
	case "question":
		i := intAfter(b, `"index":`)
		if i < 0 || i >= len(p.question) || !p.question[i][c.k].CompareAndSwap(0, now) {
			return
		}
		p.bump(cQuestion, i)
		if p.answers {
			c.scheduleAnswer(i, b)
		}
	case "reveal":
		i := intAfter(b, `"index":`)
		if i < 0 || i >= len(p.reveal) || !p.reveal[i][c.k].CompareAndSwap(0, now) {
			return
		}
		p.bump(cReveal, i)
	case "answer.ack":
		c.resolved(reOf(b), now, true)
	case "room.finished":
		p.finished.Add(1)
	case "welcome":
		c.mu.Lock()
		c.write(`{"type":"event.join","id":"j","data":` + jsonString(map[string]string{"pin": p.cmd.PIN, "name": c.name}) + `}`)
		c.mu.Unlock()
	case "room.state":
		if reOf(b) == "j" {
			c.settle(true)
		}
	case "error":
		var e struct {
			Re   string `json:"re"`
			Data struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &e)
		kind := "push"
		switch {
		case e.Re == "h":
			kind = "hello"
		case e.Re == "j":
			kind = "join"
		case len(e.Re) > 1 && e.Re[0] == 'a':
			kind = "answer"
		}
		p.fail(kind+":"+e.Data.Code, e.Data.Message)
		switch kind {
		case "hello", "join":
			c.settle(false)
		case "answer":
			c.resolved(e.Re, now, false)
		}
	}
	// countdown, scoreboard, pong: nothing to do.
}

// scheduleAnswer answers question i (message b) at a random moment in the
// answer window.
func (c *contestant) scheduleAnswer(i int, b []byte) {
	qi := &c.p.qinfo[i]
	qi.once.Do(func() {
		qi.answers = answerMessages(i, b)
	})
	msg := qi.answers[rand.IntN(len(qi.answers))]
	delay := time.Duration(c.p.cmd.AnswerAfterMS) * time.Millisecond
	if w := c.p.cmd.AnswerWithinMS; w > 0 {
		delay += time.Duration(rand.Int64N(w * int64(time.Millisecond)))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leaving {
		return
	}
	c.timers = append(c.timers, time.AfterFunc(delay, func() { c.answer(i, msg) }))
}

// answerMessages builds the answers to question i (message b): one per
// option key, or answerTexts texts for a text question.
func answerMessages(i int, b []byte) []string {
	var m struct {
		Data loadgen.Question `json:"data"`
	}
	_ = json.Unmarshal(b, &m)
	var datas []string
	if m.Data.Question.Type == "text" || len(m.Data.Question.Options) == 0 {
		for k := range answerTexts {
			datas = append(datas, `,"text":"答`+strconv.Itoa(k)+`"`)
		}
	} else {
		for _, o := range m.Data.Question.Options {
			datas = append(datas, `,"choice":[`+jsonString(o.Key)+`]`)
		}
	}
	msgs := make([]string, len(datas))
	for k, data := range datas {
		msgs[k] = `{"type":"answer","id":"a` + strconv.Itoa(i) + `","data":{"room":` + jsonString(m.Data.Room) +
			`,"index":` + strconv.Itoa(i) + data + `}}`
	}
	return msgs
}

// answer writes the answer to question i; runs on a timer's goroutine.
func (c *contestant) answer(i int, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leaving {
		return
	}
	if c.sentAt == nil {
		c.sentAt = map[int]int64{}
	}
	at := time.Now().UnixNano()
	if !c.write(msg) {
		return
	}
	c.sentAt[i] = at
	c.p.sent.Add(1)
	c.p.ack[i][c.k].Store(-1)
	c.p.answered[i][c.k].Store(at)
}

// resolved notes the ack (or refusal) of the answer with request id re.
func (c *contestant) resolved(re string, now int64, ok bool) {
	if len(re) < 2 || re[0] != 'a' {
		return
	}
	i, err := strconv.Atoi(re[1:])
	if err != nil || i < 0 || i >= len(c.p.ack) {
		return
	}
	c.mu.Lock()
	at, sent := c.sentAt[i]
	delete(c.sentAt, i)
	c.mu.Unlock()
	if !sent {
		return
	}
	if ok {
		c.p.ack[i][c.k].Store(max(now-at, 1))
		c.p.acked.Add(1)
	}
	c.p.bump(cAck, i)
}

// leave closes the connection politely; the reader ends when the server
// answers the close (or after a few seconds).
func (c *contestant) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leaving {
		return
	}
	c.leaving = true
	for _, t := range c.timers {
		t.Stop()
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench over")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
}
