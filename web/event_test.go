package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

// orgToken installs an organizer token and returns it.
func (h *harness) orgToken() string {
	h.t.Helper()
	const tok = "test-organizer-token"
	sum := token.Hash(tok)
	if _, err := h.st.Token(context.Background(), sum); err == nil {
		return tok
	}
	if err := h.st.PutToken(context.Background(), store.Token{Hash: sum, Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: t0}); err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// api calls the HTTP API and decodes a JSON reply into out (if not nil).
func (h *harness) api(method, path, token string, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if b, ok := body.([]byte); ok {
		rd = bytes.NewReader(b)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.url(path), rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if p, ok := out.(*[]byte); ok {
			*p = b
		} else if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type created struct {
	ID, Room, PIN string
	HostToken     string `json:"host_token"`
	ScreenToken   string `json:"screen_token"`
	JoinURL       string `json:"join_url"`
}

func (h *harness) createEvent(body map[string]any) created {
	h.t.Helper()
	var c created
	if code := h.api("POST", "/api/v1/events", h.orgToken(), body, &c); code != http.StatusCreated {
		h.t.Fatalf("create event: %d %+v", code, c)
	}
	return c
}

func speedPoints(elapsed, limit int64, streak int) int64 {
	p := int64(math.Round(1000 * (1 - float64(elapsed)/float64(limit)/2)))
	if streak > 1 {
		p += int64(min(100*(streak-1), 500))
	}
	return p
}

func TestStageEventEndToEnd(t *testing.T) {
	h := newHarness(t, nil)
	ev := h.createEvent(map[string]any{
		"title": "市直机关知识竞赛", "count": 5, "time_limit_ms": 20000, "lang": "zh",
		"team_mode": "mean", "teams": []string{"红队", "蓝队"}, "late_join": true,
	})
	if len(ev.PIN) != 6 || !strings.HasSuffix(ev.JoinURL, "/?pin="+ev.PIN) {
		t.Fatalf("created %+v", ev)
	}
	// Bad requests change nothing.
	var e struct{ Error struct{ Code string } }
	if code := h.api("POST", "/api/v1/events", h.orgToken(), map[string]any{"title": "", "count": 5}, &e); code != 400 || e.Error.Code != "bad_request" {
		t.Fatalf("empty title: %d %+v", code, e)
	}
	if code := h.api("POST", "/api/v1/events", "", map[string]any{"title": "x"}, nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code := h.api("POST", "/api/v1/events", ev.HostToken, map[string]any{"title": "x"}, nil); code != 403 {
		t.Fatalf("host token creating an event: %d", code)
	}

	host := h.dial()
	if w := host.welcomed(host.send("hello", map[string]any{"token": ev.HostToken})); w.Role != "host" || w.Event == nil || w.Event.Room != ev.Room {
		t.Fatalf("host welcome %+v", w)
	}
	host.reply(host.send("watch", map[string]any{"room": ev.Room}))
	screen := h.dial()
	if w := screen.welcomed(screen.send("hello", map[string]any{"token": ev.ScreenToken})); w.Role != "screen" {
		t.Fatalf("screen welcome %+v", w)
	}
	screen.reply(screen.send("watch", map[string]any{"room": ev.Room}))

	const n = 30
	players := make([]*client, n)
	team := func(i int) string {
		if i%2 == 0 {
			return "红队"
		}
		return "蓝队"
	}
	for i := range players {
		c := h.dial()
		c.hello(fmt.Sprintf("选手%02d", i))
		m := c.reply(c.send("event.join", map[string]any{"pin": ev.PIN, "team": team(i)}))
		if m.Type != "room.state" {
			t.Fatalf("join: %s", m.raw)
		}
		players[i] = c
	}
	// Duplicate names get a suffix; a team that is not the event's is refused.
	dupe := h.dial()
	dupe.hello("选手00")
	var st struct{ Members []struct{ ID, Name string } }
	dupe.reply(dupe.send("event.join", map[string]any{"pin": ev.PIN, "team": "绿队"}))
	dupe.expectError(dupe.send("event.join", map[string]any{"pin": ev.PIN, "team": "绿队"}), "bad_request")
	dupe.reply(dupe.send("event.join", map[string]any{"pin": ev.PIN, "team": "红队"})).decode(t, &st)
	found := false
	for _, m := range st.Members {
		found = found || m.Name == "选手00 (2)"
	}
	if !found {
		t.Fatalf("duplicate name not suffixed: %+v", st.Members)
	}
	dupe.reply(dupe.send("room.leave", map[string]any{"room": ev.Room}))
	// The screen saw every join.
	for i := 0; i < n; i++ {
		screen.expect("room.joined")
	}

	// Wrong roles get forbidden and change nothing.
	players[0].expectError(players[0].send("host.control", map[string]any{"room": ev.Room, "action": "start"}), "forbidden")
	screen.expectError(screen.send("answer", map[string]any{"room": ev.Room, "index": 0, "choice": []string{"A"}}), "forbidden")
	screen.expectError(screen.send("host.control", map[string]any{"room": ev.Room, "action": "end"}), "forbidden")
	host.expectError(host.send("host.control", map[string]any{"room": ev.Room, "action": "next"}), "wrong_phase")

	told := map[string]int64{} // player id -> points shown in reveals
	streak := map[string]int{}
	ctl := func(action string, extra ...any) {
		t.Helper()
		d := map[string]any{"room": ev.Room, "action": action}
		if len(extra) == 2 {
			d[extra[0].(string)] = extra[1]
		}
		if m := host.reply(host.send("host.control", d)); m.Type != "ok" {
			t.Fatalf("host %s: %s", action, m.raw)
		}
	}
	checkReveal := func(cs []*client, q question, elapsed map[string]int64, correct map[string]bool, skipped bool) {
		t.Helper()
		for _, c := range cs {
			var r reveal
			c.expect("reveal").decode(t, &r)
			want := int64(0)
			if !skipped {
				if correct[c.id] {
					streak[c.id]++
					want = speedPoints(elapsed[c.id], 20000, streak[c.id])
				} else {
					streak[c.id] = 0
				}
			}
			if r.You.Points != want {
				t.Fatalf("q%d %s: points %d, want %d (elapsed %d)", q.Index, c.id, r.You.Points, want, elapsed[c.id])
			}
			told[c.id] += r.You.Points
			if r.You.Score != told[c.id] {
				t.Fatalf("q%d %s: score %d, want the sum of points %d", q.Index, c.id, r.You.Score, told[c.id])
			}
		}
	}
	answerAll := func(cs []*client, q question, right func(i int) bool) (map[string]int64, map[string]bool) {
		t.Helper()
		el, ok := map[string]int64{}, map[string]bool{}
		for i, c := range cs {
			if i%10 == 0 {
				h.advance(700 * time.Millisecond)
			}
			d := h.wrongAnswer(q)
			if right(i) {
				d = h.correctAnswer(q)
			}
			var a ack
			c.reply(c.send("answer", d)).decode(t, &a)
			el[c.id], ok[c.id] = a.Elapsed, right(i)
		}
		return el, ok
	}

	// Question 0: everyone answers; two thirds right.
	ctl("start")
	h.advance(3 * time.Second)
	q := h.nextQuestion(players...)
	screen.expect("question")
	el, ok := answerAll(players, q, func(i int) bool { return i%3 != 0 })
	checkReveal(players, q, el, ok, false)
	screen.expect("reveal")
	var sb struct {
		Top []struct {
			Rank  int
			Score int64
		}
		Teams []struct {
			Team    string
			Score   int64
			Members int
		}
	}
	screen.expect("scoreboard").decode(t, &sb)
	if len(sb.Top) != 10 || len(sb.Teams) != 2 || sb.Teams[0].Members+sb.Teams[1].Members != n {
		t.Fatalf("scoreboard %+v", sb)
	}

	// Question 1: paused five seconds in, for a minute; answers resume the clock exactly.
	ctl("next")
	q = h.nextQuestion(players...)
	h.advance(5 * time.Second)
	ctl("pause")
	var p struct {
		RemainingMS int64 `json:"remaining_ms"`
	}
	screen.expect("paused").decode(t, &p)
	if p.RemainingMS != 15000 {
		t.Fatalf("paused with %d ms left, want 15000", p.RemainingMS)
	}
	h.advance(time.Minute)
	players[1].expectError(players[1].send("answer", h.correctAnswer(q)), "wrong_phase")
	ctl("resume")
	var rs struct{ Deadline int64 }
	screen.expect("resumed").decode(t, &rs)
	if rs.Deadline != h.clk.Now().Add(15*time.Second).UnixMilli() {
		t.Fatalf("resumed deadline %d, want now+15s", rs.Deadline)
	}
	h.advance(2 * time.Second)
	var a ack
	players[1].reply(players[1].send("answer", h.correctAnswer(q))).decode(t, &a)
	if a.Elapsed < 6990 || a.Elapsed > 7000 { // 5 s before the pause + 2 s after, less half an RTT
		t.Fatalf("elapsed across a pause = %d, want 7000", a.Elapsed)
	}
	// Kick player 2 mid-question: it is told, closed with 4003, and cannot rejoin.
	kicked := players[2]
	ctl("kick", "player", kicked.id)
	var kick struct{ Reason, Code string }
	kicked.expect("kicked").decode(t, &kick)
	if kick.Code != "removed_by_host" || kick.Reason == "" {
		t.Fatalf("kicked %+v, want the code removed_by_host and an English reason", kick)
	}
	if code := kicked.waitClosed(); code != 4003 {
		t.Fatalf("kicked close code %d", code)
	}
	back := h.dial()
	back.welcomed(back.send("hello", map[string]any{"resume": kicked.resume}))
	back.expectError(back.send("event.join", map[string]any{"pin": ev.PIN, "team": "红队"}), "forbidden")
	rest := append([]*client{players[0], players[1]}, players[3:]...)
	el2, ok2 := map[string]int64{players[1].id: a.Elapsed}, map[string]bool{players[1].id: true}
	el, ok = answerAll(append([]*client{players[0]}, players[3:]...), q, func(i int) bool { return i%2 == 0 })
	for k, v := range el {
		el2[k], ok2[k] = v, ok[k]
	}
	checkReveal(rest, q, el2, ok2, false)

	// Question 2 is skipped: nobody scores, streaks stand.
	ctl("next")
	q = h.nextQuestion(rest...)
	h.advance(time.Second)
	rest[0].reply(rest[0].send("answer", h.correctAnswer(q)))
	ctl("skip")
	for _, c := range rest {
		var r struct {
			Skipped bool
			You     struct{ Points int64 }
		}
		c.expect("reveal").decode(t, &r)
		if !r.Skipped || r.You.Points != 0 {
			t.Fatalf("skipped reveal %+v", r)
		}
	}

	// Question 3: a late joiner comes in mid-question and answers.
	ctl("next")
	q = h.nextQuestion(rest...)
	late := h.dialFrom("127.0.0.2") // the kick above barred the other players' address
	late.hello("迟到者")
	var lst struct {
		Phase    string
		Index    int
		Question *struct{ ID string }
	}
	m := late.reply(late.send("event.join", map[string]any{"pin": ev.PIN, "team": "蓝队"}))
	h.checkNoLeak(m)
	m.decode(t, &lst)
	if lst.Phase != "question" || lst.Index != 3 || lst.Question == nil || lst.Question.ID != q.Question.ID {
		t.Fatalf("late joiner state %s", m.raw)
	}
	everyone := append(append([]*client{}, rest...), late)
	el, ok = answerAll(everyone, q, func(i int) bool { return i%4 != 1 })
	checkReveal(everyone, q, el, ok, false)

	// Question 4: the host reveals early, then ends.
	ctl("next")
	q = h.nextQuestion(everyone...)
	h.advance(4 * time.Second)
	var a4 ack
	everyone[0].reply(everyone[0].send("answer", h.correctAnswer(q))).decode(t, &a4)
	ctl("reveal")
	checkReveal(everyone, q, map[string]int64{everyone[0].id: a4.Elapsed}, map[string]bool{everyone[0].id: true}, false)
	ctl("end")
	finalScore := map[string]int64{}
	for _, c := range everyone {
		var f finished
		c.expect("room.finished").decode(t, &f)
		if f.You.Score != told[c.id] {
			t.Fatalf("%s final score %d, told %d", c.id, f.You.Score, told[c.id])
		}
		finalScore[c.id] = f.You.Score
	}
	var fin struct {
		Standings []struct {
			ID    string
			Rank  int
			Score int64
		}
		Teams []struct {
			Team  string
			Score int64
		}
	}
	screen.expect("room.finished").decode(t, &fin)
	if len(fin.Teams) != 2 || fin.Standings[0].Score < fin.Standings[1].Score {
		t.Fatalf("screen podium %+v", fin)
	}

	// The results export agrees with what the players were told.
	var res struct {
		Standings []struct {
			ID, Name string
			Rank     int
			Score    int64
		}
		Answers []struct {
			Player  string
			Index   int
			Correct bool
			Points  int64
			Elapsed int64
		}
	}
	if code := h.api("GET", "/api/v1/events/"+ev.ID+"/results", ev.HostToken, nil, &res); code != 200 {
		t.Fatalf("results: %d", code)
	}
	sum := map[string]int64{}
	for _, a := range res.Answers {
		sum[a.Player] += a.Points
	}
	for _, s := range res.Standings {
		want, played := finalScore[s.ID]
		if played && (s.Score != want || sum[s.ID] != want) {
			t.Fatalf("export: %s score %d, answers sum %d, told %d", s.ID, s.Score, sum[s.ID], want)
		}
	}
	if code := h.api("GET", "/api/v1/events/"+ev.ID+"/results", ev.ScreenToken, nil, nil); code != 403 {
		t.Fatalf("screen token reading results: %d", code)
	}
	var csvBody []byte
	h.api("GET", "/api/v1/events/"+ev.ID+"/results?format=csv", h.orgToken(), nil, &csvBody)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(csvBody, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) != len(res.Answers)+1 {
		t.Fatalf("csv: %v, %d rows for %d answers", err, len(rows), len(res.Answers))
	}
	var xlsxBody []byte
	h.api("GET", "/api/v1/events/"+ev.ID+"/results?format=xlsx", h.orgToken(), nil, &xlsxBody)
	x, err := excelize.OpenReader(bytes.NewReader(xlsxBody))
	if err != nil {
		t.Fatal(err)
	}
	xrows, _ := x.GetRows("Answers")
	srows, _ := x.GetRows("Standings")
	if len(xrows) != len(res.Answers)+1 || len(srows) != len(res.Standings)+1 {
		t.Fatalf("xlsx: %d answer rows, %d standing rows", len(xrows), len(srows))
	}
	// The PIN is free again once the event ended.
	if code := h.api("GET", "/api/v1/pins/"+ev.PIN, "", nil, nil); code != 404 {
		t.Fatalf("ended event's PIN still live: %d", code)
	}
	// Each ranked player was paid through the points ledger, once, by rank.
	for _, s := range res.Standings {
		led, err := h.st.Ledger(context.Background(), s.ID, 10)
		if err != nil || len(led) != 1 || led[0].Source != store.SourceEvent || led[0].Paid != roomhost.EventPoints[min(s.Rank, len(roomhost.EventPoints))-1] {
			t.Fatalf("ledger of %s (rank %d): %+v %v", s.ID, s.Rank, led, err)
		}
	}
}
