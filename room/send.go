package room

import (
	"strconv"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
)

// smallRoom is the size up to which players get each other's joins and
// progress, and room.state lists every member.
const smallRoom = 50

// broadcast says one shared frame to every present player and, if
// toWatchers, to every watcher.
func (r *Room) broadcast(f *protocol.Frame, toWatchers bool) {
	peers := make([]Peer, 0, len(r.st.order)+len(r.watchers))
	for _, p := range r.st.order {
		if !p.left && p.peer != nil {
			peers = append(peers, p.peer)
		}
	}
	if toWatchers {
		peers = append(peers, r.watchers...)
	}
	r.say(f, peers...)
}

func (r *Room) toWatchers(f *protocol.Frame) {
	r.say(f, append([]Peer(nil), r.watchers...)...)
}

func publicQuestion(q *questionbank.Question, opts []questionbank.Option) protocol.PublicQuestion {
	pq := protocol.PublicQuestion{ID: q.ID, Type: string(q.Type), Text: q.Text}
	if len(opts) > 0 {
		pq.Options = make([]protocol.Option, len(opts))
		for i, o := range opts {
			pq.Options[i] = protocol.Option{Key: o.Key, Text: o.Text}
		}
	}
	return pq
}

// askedQuestion is a question on its way out: its frames, once per option
// order (frames[k] may be frames[0]), and the messages they encode.
type askedQuestion struct {
	ask    int64     // its number among the questions the room asked
	asked  time.Time // when the room asked it
	msgs   [permutations]protocol.Question
	frames [permutations]*protocol.Frame
}

// redate encodes the frames again with deadline, before they are sent:
// the question went out late, and its time runs from then.
func (q *askedQuestion) redate(deadline time.Time) {
	for k, f := range q.frames {
		if k > 0 && f == q.frames[0] {
			continue
		}
		q.msgs[k].Deadline = deadline.UnixMilli()
		f.Parts[0] = protocol.EncodeQuestion(q.msgs[k])
	}
}

// questionFrames encodes the current question once per option order.
func (r *Room) questionFrames() *askedQuestion {
	s := r.st
	q := &r.cfg.Questions[s.index]
	aq := &askedQuestion{asked: s.qStart}
	frames := &aq.frames
	for k := range permutations {
		if k > 0 && (q.Type == questionbank.TrueFalse || q.Type == questionbank.Text || len(q.Options) < 3) {
			frames[k] = frames[0]
			continue
		}
		msg := protocol.Question{
			Room: r.cfg.ID, Index: s.index, Total: len(r.cfg.Questions),
			Question:  publicQuestion(q, questionFor(q, k, r.cfg.ID, s.index)),
			TimeLimit: r.cfg.TimeLimit.Milliseconds(), Deadline: s.deadline.UnixMilli(),
		}
		f := protocol.NewShared(protocol.EncodeQuestion(msg))
		f.Mark = &protocol.Mark{Room: r.cfg.ID, Index: s.index, Limit: r.cfg.TimeLimit + r.cfg.Grace}
		frames[k], aq.msgs[k] = f, msg
	}
	return aq
}

// broadcastQuestion says the current question and returns it.
func (r *Room) broadcastQuestion() *askedQuestion {
	aq := r.questionFrames()
	frames := &aq.frames
	var byPerm [permutations][]Peer
	for _, p := range r.st.order {
		if !p.left && p.peer != nil {
			byPerm[p.perm] = append(byPerm[p.perm], p.peer)
		}
	}
	for k := range permutations {
		r.say(frames[k], byPerm[k]...)
	}
	r.toWatchers(frames[0])
	r.lastProgress = -1
	return aq
}

// stats counts the answers to question i per option key, or right and
// wrong for a text question.
func (r *Room) stats(i int) map[string]int {
	q := &r.cfg.Questions[i]
	st := map[string]int{}
	if q.Type == questionbank.Text {
		st["correct"], st["wrong"] = 0, 0
	} else {
		for _, o := range q.Options {
			st[o.Key] = 0
		}
	}
	for _, p := range r.st.order {
		a := p.answers[i]
		if a == nil {
			continue
		}
		if q.Type == questionbank.Text {
			if a.correct {
				st["correct"]++
			} else {
				st["wrong"]++
			}
			continue
		}
		for _, k := range a.choice {
			st[k]++
		}
	}
	return st
}

// broadcastReveal sends the reveal — a shared part encoded once, with each
// player's own "you" spliced in — and then the scoreboard.
func (r *Room) broadcastReveal() {
	s := r.st
	i := s.index
	q := &r.cfg.Questions[i]
	shared := protocol.Reveal{Room: r.cfg.ID, Index: i, Correct: q.Answer, Explanation: q.Explanation, Stats: r.stats(i), Skipped: s.skipped[i]}
	whole := protocol.EncodeReveal(shared)
	r.toWatchers(protocol.NewShared(whole))

	prefix, suffix := spliceParts(whole)
	sends := r.recipients()
	frames := make([]protocol.Frame, len(sends))
	peers := make([]Peer, len(sends))
	parts := make([][]byte, 3*len(sends))
	buf := make([]byte, 0, 96*len(sends))
	for j, p := range sends {
		peers[j] = p.peer
		start := len(buf)
		a := p.answers[i]
		var pts int64
		correct := false
		if a != nil && !s.skipped[i] {
			pts, correct = a.points, a.correct
		}
		buf = appendRevealYou(buf, correct, pts, p.score, p.rank, p.streak)
		parts[3*j], parts[3*j+1], parts[3*j+2] = prefix, buf[start:len(buf):len(buf)], suffix
		frames[j].Parts = parts[3*j : 3*j+3 : 3*j+3]
	}
	r.outbox = append(r.outbox, delivery{peers: peers, frames: frames})
	r.broadcast(protocol.NewShared(protocol.EncodeScoreboard(r.scoreboard())), true)
}

// recipients are the present players that have a peer.
func (r *Room) recipients() []*player {
	out := make([]*player, 0, len(r.st.order))
	for _, p := range r.st.order {
		if !p.left && p.peer != nil {
			out = append(out, p)
		}
	}
	return out
}

// spliceParts cuts an encoded {"type":…,"data":{…}} message so a "you"
// object can be inserted as the last field of data.
func spliceParts(whole []byte) (prefix, suffix []byte) {
	body := whole[: len(whole)-2 : len(whole)-2] // drop "}}"
	prefix = append(body, `,"you":`...)
	return prefix, []byte("}}")
}

func appendRevealYou(b []byte, correct bool, points, score int64, rank, streak int) []byte {
	b = append(b, `{"correct":`...)
	b = strconv.AppendBool(b, correct)
	b = append(b, `,"points":`...)
	b = strconv.AppendInt(b, points, 10)
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, score, 10)
	b = append(b, `,"rank":`...)
	b = strconv.AppendInt(b, int64(rank), 10)
	b = append(b, `,"streak":`...)
	b = strconv.AppendInt(b, int64(streak), 10)
	return append(b, '}')
}

// standings lists the first n players of the ranking (all when n <= 0).
func (r *Room) standings(n int) []protocol.Standing {
	ps := r.st.ranked()
	if n > 0 && len(ps) > n {
		ps = ps[:n]
	}
	out := make([]protocol.Standing, len(ps))
	for i, p := range ps {
		rank := p.rank
		if rank == 0 {
			rank = i + 1
		}
		out[i] = protocol.Standing{Rank: rank, ID: p.id, Name: p.name, Team: p.team, Score: p.score, Delta: p.delta, PrevRank: p.prevRank, TimeMS: p.timeMS, Streak: p.streak}
	}
	return out
}

// teams totals the teams: the mean of members' scores, or their sum.
func (r *Room) teams() []protocol.TeamStanding {
	if r.cfg.TeamMode == "" {
		return nil
	}
	sum := map[string]int64{}
	n := map[string]int{}
	for _, p := range r.st.order {
		if !p.ranks() || p.team == "" {
			continue
		}
		sum[p.team] += p.score
		n[p.team]++
	}
	out := make([]protocol.TeamStanding, 0, len(r.cfg.Teams))
	for _, t := range r.cfg.Teams {
		score := sum[t]
		if r.cfg.TeamMode == "mean" && n[t] > 0 {
			score = (sum[t] + int64(n[t])/2) / int64(n[t])
		}
		out = append(out, protocol.TeamStanding{Team: t, Score: score, Members: n[t]})
	}
	// Insertion sort: there are a handful of teams.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Score > out[j-1].Score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	for i := range out {
		out[i].Rank = i + 1
		if i > 0 && out[i].Score == out[i-1].Score {
			out[i].Rank = out[i-1].Rank
		}
	}
	return out
}

func (r *Room) scoreboard() protocol.Scoreboard {
	return protocol.Scoreboard{Room: r.cfg.ID, Index: r.st.index, Players: r.st.present(), Top: r.standings(r.cfg.TopN), Teams: r.teams()}
}

// broadcastFinished hands the result to the Finisher to be stored; once
// it is (see Run), sayFinished tells everyone.
func (r *Room) broadcastFinished() {
	s := r.st
	s.rankAll()
	res := &Result{Room: r.cfg.ID, Kind: r.cfg.Kind, Config: &r.cfg, Standings: r.standings(0), Teams: r.teams(), At: r.now()}
	if r.opts.Finisher == nil {
		r.sayFinished(res, nil)
		return
	}
	r.settling = res
	settled := r.settled
	r.opts.Finisher.Finish(res, func(awarded map[string]int64) { settled <- awarded })
}

// sayFinished tells everyone the result and each player the points it was
// awarded.
func (r *Room) sayFinished(res *Result, awarded map[string]int64) {
	s := r.st
	r.settling = nil
	top := res.Standings
	if len(top) > smallRoom {
		top = top[:smallRoom]
	}
	whole := protocol.EncodeFinished(protocol.Finished{Room: r.cfg.ID, Standings: top, Teams: res.Teams, Players: s.present()})
	r.toWatchers(protocol.NewShared(whole))
	prefix, suffix := spliceParts(whole)
	sends := r.recipients()
	d := delivery{peers: make([]Peer, len(sends)), frames: make([]protocol.Frame, len(sends))}
	for j, p := range sends {
		you := protocol.FinishedYou{Rank: p.rank, Score: p.score, PointsAwarded: awarded[p.id]}
		d.peers[j] = p.peer
		d.frames[j].Parts = [][]byte{prefix, appendFinishedYou(nil, you), suffix}
	}
	r.outbox = append(r.outbox, d)
}

func appendFinishedYou(b []byte, y protocol.FinishedYou) []byte {
	b = append(b, `{"rank":`...)
	b = strconv.AppendInt(b, int64(y.Rank), 10)
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, y.Score, 10)
	b = append(b, `,"points_awarded":`...)
	b = strconv.AppendInt(b, y.PointsAwarded, 10)
	return append(b, '}')
}

// announceJoin tells watchers, and the players of a small room, who joined.
// A big room's players learn the count from progress and scoreboards: telling
// each of n players about each of n joins would cost n² sends.
func (r *Room) announceJoin(p *player) {
	n := r.st.present()
	f := protocol.NewShared(protocol.EncodeJoined(protocol.Joined{Room: r.cfg.ID, Player: protocol.PlayerInfo{ID: p.id, Name: p.name, Team: p.team}, Count: n}))
	if n <= smallRoom {
		r.broadcast(f, true)
	} else {
		r.toWatchers(f)
	}
}

// noteProgress schedules a progress message, at most one per ProgressEvery.
func (r *Room) noteProgress() {
	if r.progressC == nil {
		r.progressTimer = r.opts.Clock.NewTimer(r.opts.ProgressEvery)
		r.progressC = r.progressTimer.C()
	}
}

func (r *Room) sendProgress() {
	s := r.st
	if s.phase != PhaseQuestion || s.answered == r.lastProgress {
		return
	}
	r.lastProgress = s.answered
	f := protocol.NewShared(protocol.EncodeProgress(protocol.Progress{Room: r.cfg.ID, Index: s.index, Answered: s.answered, Of: s.present()}))
	if s.present() <= smallRoom {
		r.broadcast(f, true)
	} else {
		r.toWatchers(f)
	}
}

// sendState sends a full snapshot to one viewer: p is nil for watchers.
func (r *Room) sendState(to Peer, p *player, re string) {
	s := r.st
	st := protocol.State{
		Room: r.cfg.ID, Kind: r.cfg.Kind, Title: r.cfg.Title, Phase: s.phase, Index: s.index,
		Total: len(r.cfg.Questions), TimeLimit: r.cfg.TimeLimit.Milliseconds(),
		Players: s.present(), Answered: s.answered, PIN: r.cfg.PIN, TeamMode: r.cfg.TeamMode, Teams: r.cfg.Teams,
	}
	if s.index < 0 {
		st.Index = 0
	}
	if s.phase == PhaseQuestion || (s.phase == PhasePaused && s.pausedFrom == PhaseQuestion) {
		perm := 0 // watchers see the stored order
		if p != nil {
			perm = p.perm
		}
		q := &r.cfg.Questions[s.index]
		pq := publicQuestion(q, questionFor(q, perm, r.cfg.ID, s.index))
		st.Question = &pq
	}
	switch s.phase {
	case PhaseQuestion:
		st.Deadline = s.deadline.UnixMilli()
	case PhasePaused:
		st.RemainingMS = s.remaining.Milliseconds()
	case PhaseCountdown:
		st.Deadline = s.phaseAt.Add(r.cfg.Countdown).UnixMilli()
	}
	limit := smallRoom
	if p == nil && s.phase == PhaseLobby {
		limit = 500
	}
	if s.present() <= limit {
		for _, m := range s.order {
			if !m.left {
				st.Members = append(st.Members, protocol.Member{ID: m.id, Name: m.name, Team: m.team, Score: m.score})
			}
		}
	}
	if s.index >= 0 {
		sb := r.scoreboard()
		st.Scoreboard = &sb
	}
	if p != nil {
		you := &protocol.StateYou{Name: p.name, Team: p.team, Score: p.score, Rank: p.rank, Streak: p.streak, Answers: []protocol.AnswerRecord{}}
		_, you.Answered = p.answers[s.index]
		for i := 0; i < len(r.cfg.Questions); i++ {
			a, ok := p.answers[i]
			if !ok {
				continue
			}
			rec := protocol.AnswerRecord{Index: i, Choice: a.choice, Text: a.text}
			revealed := i < s.index || (i == s.index && s.phase != PhaseQuestion && !(s.phase == PhasePaused && s.pausedFrom == PhaseQuestion))
			if revealed {
				c := a.correct
				rec.Correct = &c
				rec.Points = a.points
			}
			you.Answers = append(you.Answers, rec)
		}
		st.You = you
	}
	r.say(protocol.NewFrame(protocol.EncodeState(re, st)), to)
}
