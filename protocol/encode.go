package protocol

import (
	"fmt"
	"math"
	"strconv"
)

// The messages a room sends in every match — question, progress, reveal,
// scoreboard, countdown, room.finished, room.state and room.joined —
// written by hand
// rather than by reflection: each EncodeX returns exactly the bytes
// Encode(type, "", x) returns for the same value (EncodeState takes the re
// of the request it answers), and each AppendX appends them to b.
// encoding/json costs a room's goroutine CPU, and stack, for every frame
// of every match; these cost one buffer. FuzzPushed holds them to
// encoding/json byte for byte, and TestPushedFieldsCovered fails when one
// of these types gains a field, until the encoder writes it too.

// EncodeQuestion encodes a question message.
func EncodeQuestion(q Question) []byte {
	n := 112 + len(q.Room) + publicQuestionLen(&q.Question)
	return appendQuestion(make([]byte, 0, n), q)
}

// appendQuestion appends EncodeQuestion's bytes to b.
func appendQuestion(b []byte, q Question) []byte {
	b = append(b, `{"type":"question","data":{"room":`...)
	b = appendJSONString(b, q.Room)
	b = appendIntField(b, `,"index":`, int64(q.Index))
	b = appendIntField(b, `,"total":`, int64(q.Total))
	b = append(b, `,"question":`...)
	b = appendPublicQuestion(b, &q.Question)
	b = appendIntField(b, `,"time_limit_ms":`, q.TimeLimit)
	b = appendIntField(b, `,"deadline":`, q.Deadline)
	return append(b, "}}"...)
}

func appendPublicQuestion(b []byte, q *PublicQuestion) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, q.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, q.Type)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, q.Text)
	if len(q.Options) > 0 {
		b = append(b, `,"options":[`...)
		for i, o := range q.Options {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendJSONString(b, o.Key)
			b = append(b, `,"text":`...)
			b = appendJSONString(b, o.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func publicQuestionLen(q *PublicQuestion) int {
	n := 48 + len(q.ID) + len(q.Type) + len(q.Text)
	for _, o := range q.Options {
		n += 24 + len(o.Key) + len(o.Text)
	}
	return n
}

// EncodeProgress encodes a progress message.
func EncodeProgress(p Progress) []byte {
	return appendProgress(make([]byte, 0, 112+len(p.Room)), p)
}

// appendProgress appends EncodeProgress's bytes to b.
func appendProgress(b []byte, p Progress) []byte {
	b = append(b, `{"type":"progress","data":{"room":`...)
	b = appendJSONString(b, p.Room)
	b = appendIntField(b, `,"index":`, int64(p.Index))
	b = appendIntField(b, `,"answered":`, int64(p.Answered))
	b = appendIntField(b, `,"of":`, int64(p.Of))
	return append(b, "}}"...)
}

// EncodeCountdown encodes a countdown message.
func EncodeCountdown(c Countdown) []byte {
	return appendCountdown(make([]byte, 0, 96+len(c.Room)), c)
}

// appendCountdown appends EncodeCountdown's bytes to b.
func appendCountdown(b []byte, c Countdown) []byte {
	b = append(b, `{"type":"countdown","data":{"room":`...)
	b = appendJSONString(b, c.Room)
	b = appendIntField(b, `,"index":`, int64(c.Index))
	b = appendIntField(b, `,"starts_at":`, c.StartsAt)
	return append(b, "}}"...)
}

// EncodeReveal encodes the shared part of a reveal message.
func EncodeReveal(r Reveal) []byte {
	n := 96 + len(r.Room) + len(r.Explanation)
	for _, c := range r.Correct {
		n += 3 + len(c)
	}
	n += 24 * len(r.Stats) // option keys are short; a longer one grows b
	return appendReveal(make([]byte, 0, n), r)
}

// appendReveal appends EncodeReveal's bytes to b.
func appendReveal(b []byte, r Reveal) []byte {
	b = append(b, `{"type":"reveal","data":{"room":`...)
	b = appendJSONString(b, r.Room)
	b = appendIntField(b, `,"index":`, int64(r.Index))
	b = append(b, `,"correct":`...)
	b = appendStrings(b, r.Correct)
	if r.Explanation != "" {
		b = append(b, `,"explanation":`...)
		b = appendJSONString(b, r.Explanation)
	}
	b = append(b, `,"stats":`...)
	b = appendCounts(b, r.Stats)
	if r.Skipped {
		b = append(b, `,"skipped":true`...)
	}
	return append(b, "}}"...)
}

// EncodeScoreboard encodes a scoreboard message.
func EncodeScoreboard(s Scoreboard) []byte {
	n := 96 + len(s.Room) + standingsLen(s.Top) + teamsLen(s.Teams)
	return appendScoreboard(make([]byte, 0, n), s)
}

// appendScoreboard appends EncodeScoreboard's bytes to b.
func appendScoreboard(b []byte, s Scoreboard) []byte {
	b = append(b, `{"type":"scoreboard","data":`...)
	b = appendScoreboardData(b, &s)
	return append(b, '}')
}

func appendScoreboardData(b []byte, s *Scoreboard) []byte {
	b = append(b, `{"room":`...)
	b = appendJSONString(b, s.Room)
	b = appendIntField(b, `,"index":`, int64(s.Index))
	b = appendIntField(b, `,"players":`, int64(s.Players))
	b = append(b, `,"top":`...)
	b = appendStandings(b, s.Top)
	if len(s.Teams) > 0 {
		b = append(b, `,"teams":`...)
		b = appendTeams(b, s.Teams)
	}
	return append(b, '}')
}

// EncodeFinished encodes the shared part of a room.finished message.
func EncodeFinished(f Finished) []byte {
	n := 96 + len(f.Room) + standingsLen(f.Standings) + teamsLen(f.Teams)
	return appendFinished(make([]byte, 0, n), f)
}

// appendFinished appends EncodeFinished's bytes to b.
func appendFinished(b []byte, f Finished) []byte {
	b = append(b, `{"type":"room.finished","data":{"room":`...)
	b = appendJSONString(b, f.Room)
	b = append(b, `,"standings":`...)
	b = appendStandings(b, f.Standings)
	if len(f.Teams) > 0 {
		b = append(b, `,"teams":`...)
		b = appendTeams(b, f.Teams)
	}
	b = appendIntField(b, `,"players":`, int64(f.Players))
	return append(b, "}}"...)
}

func appendIntField(b []byte, key string, v int64) []byte {
	b = append(b, key...)
	return strconv.AppendInt(b, v, 10)
}

// appendStrings writes a nil slice as null, as encoding/json does.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendCounts writes a map in the order of its keys, as encoding/json
// does; a nil map is null.
func appendCounts(b []byte, m map[string]int) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	type count struct {
		key string
		n   int
	}
	var held [8]count // a question's options, without allocating
	cs := held[:0]
	for k, n := range m {
		cs = append(cs, count{k, n})
	}
	// Insertion sort: a question has a handful of options.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].key < cs[j-1].key; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	b = append(b, '{')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c.key)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c.n), 10)
	}
	return append(b, '}')
}

func standingsLen(ss []Standing) int {
	n := 0
	for _, s := range ss {
		n += 120 + len(s.ID) + len(s.Name) + len(s.Team)
	}
	return n
}

func teamsLen(ts []TeamStanding) int {
	n := 0
	for _, t := range ts {
		n += 64 + len(t.Team)
	}
	return n
}

// appendStandings writes a nil slice as null, as encoding/json does.
func appendStandings(b []byte, ss []Standing) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range ss {
		s := &ss[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIntField(b, `{"rank":`, int64(s.Rank))
		b = append(b, `,"id":`...)
		b = appendJSONString(b, s.ID)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Name)
		if s.Team != "" {
			b = append(b, `,"team":`...)
			b = appendJSONString(b, s.Team)
		}
		b = appendIntField(b, `,"score":`, s.Score)
		b = appendIntField(b, `,"delta":`, s.Delta)
		if s.PrevRank != 0 {
			b = appendIntField(b, `,"prev_rank":`, int64(s.PrevRank))
		}
		b = appendIntField(b, `,"time_ms":`, s.TimeMS)
		if s.Streak != 0 {
			b = appendIntField(b, `,"streak":`, int64(s.Streak))
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendTeams writes team lines; callers leave out an empty list
// (omitempty), so there is no null here.
func appendTeams(b []byte, ts []TeamStanding) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIntField(b, `{"rank":`, int64(t.Rank))
		b = append(b, `,"team":`...)
		b = appendJSONString(b, t.Team)
		b = appendIntField(b, `,"score":`, t.Score)
		b = appendIntField(b, `,"members":`, int64(t.Members))
		b = append(b, '}')
	}
	return append(b, ']')
}

// EncodeState encodes a room.state message, the reply to re (empty when
// pushed).
func EncodeState(re string, st State) []byte {
	n := 320 + len(re) + len(st.Room) + len(st.Kind) + len(st.Title) + len(st.PIN) + len(st.TeamMode)
	if st.Question != nil {
		n += publicQuestionLen(st.Question)
	}
	for _, t := range st.Teams {
		n += 3 + len(t)
	}
	for _, m := range st.Members {
		n += 48 + len(m.ID) + len(m.Name) + len(m.Team)
	}
	if st.Scoreboard != nil {
		n += 96 + standingsLen(st.Scoreboard.Top) + teamsLen(st.Scoreboard.Teams)
	}
	if st.You != nil {
		n += 128 + len(st.You.Name) + len(st.You.Team) + 64*len(st.You.Answers)
	}
	return appendState(make([]byte, 0, n), re, st)
}

// appendState appends EncodeState's bytes to b.
func appendState(b []byte, re string, st State) []byte {
	b = append(b, `{"type":"room.state"`...)
	if re != "" {
		b = append(b, `,"re":`...)
		b = appendJSONString(b, re)
	}
	b = append(b, `,"data":{"room":`...)
	b = appendJSONString(b, st.Room)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, st.Kind)
	if st.Title != "" {
		b = append(b, `,"title":`...)
		b = appendJSONString(b, st.Title)
	}
	b = append(b, `,"phase":`...)
	b = appendJSONString(b, st.Phase)
	b = appendIntField(b, `,"index":`, int64(st.Index))
	b = appendIntField(b, `,"total":`, int64(st.Total))
	if st.Deadline != 0 {
		b = appendIntField(b, `,"deadline":`, st.Deadline)
	}
	b = appendIntField(b, `,"time_limit_ms":`, st.TimeLimit)
	if st.RemainingMS != 0 {
		b = appendIntField(b, `,"remaining_ms":`, st.RemainingMS)
	}
	b = append(b, `,"question":`...)
	if st.Question == nil {
		b = append(b, "null"...)
	} else {
		b = appendPublicQuestion(b, st.Question)
	}
	b = appendIntField(b, `,"players":`, int64(st.Players))
	b = appendIntField(b, `,"answered":`, int64(st.Answered))
	if st.PIN != "" {
		b = append(b, `,"pin":`...)
		b = appendJSONString(b, st.PIN)
	}
	if st.TeamMode != "" {
		b = append(b, `,"team_mode":`...)
		b = appendJSONString(b, st.TeamMode)
	}
	if len(st.Teams) > 0 {
		b = append(b, `,"teams":`...)
		b = appendStrings(b, st.Teams)
	}
	if len(st.Members) > 0 {
		b = append(b, `,"members":[`...)
		for i, m := range st.Members {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJSONString(b, m.ID)
			b = append(b, `,"name":`...)
			b = appendJSONString(b, m.Name)
			if m.Team != "" {
				b = append(b, `,"team":`...)
				b = appendJSONString(b, m.Team)
			}
			b = appendIntField(b, `,"score":`, m.Score)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if st.Scoreboard != nil {
		b = append(b, `,"scoreboard":`...)
		b = appendScoreboardData(b, st.Scoreboard)
	}
	if st.You != nil {
		b = append(b, `,"you":`...)
		b = appendStateYou(b, st.You)
	}
	return append(b, "}}"...)
}

func appendStateYou(b []byte, y *StateYou) []byte {
	b = append(b, '{')
	if y.Name != "" {
		b = append(b, `"name":`...)
		b = appendJSONString(b, y.Name)
		b = append(b, ',')
	}
	if y.Team != "" {
		b = append(b, `"team":`...)
		b = appendJSONString(b, y.Team)
		b = append(b, ',')
	}
	b = appendIntField(b, `"score":`, y.Score)
	b = appendIntField(b, `,"rank":`, int64(y.Rank))
	b = append(b, `,"answered":`...)
	b = strconv.AppendBool(b, y.Answered)
	b = appendIntField(b, `,"streak":`, int64(y.Streak))
	b = append(b, `,"answers":`...)
	if y.Answers == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range y.Answers {
			a := &y.Answers[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendIntField(b, `{"index":`, int64(a.Index))
			if len(a.Choice) > 0 {
				b = append(b, `,"choice":`...)
				b = appendStrings(b, a.Choice)
			}
			if a.Text != "" {
				b = append(b, `,"text":`...)
				b = appendJSONString(b, a.Text)
			}
			if a.Correct != nil {
				b = append(b, `,"correct":`...)
				b = strconv.AppendBool(b, *a.Correct)
			}
			b = appendIntField(b, `,"points":`, a.Points)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// EncodeJoined encodes a room.joined message.
func EncodeJoined(j Joined) []byte {
	n := 112 + len(j.Room) + len(j.Player.ID) + len(j.Player.Name) + len(j.Player.Team)
	return appendJoined(make([]byte, 0, n), j)
}

// appendJoined appends EncodeJoined's bytes to b. A rating that is not a
// finite number panics, as Encode does.
func appendJoined(b []byte, j Joined) []byte {
	b = append(b, `{"type":"room.joined","data":{"room":`...)
	b = appendJSONString(b, j.Room)
	b = append(b, `,"player":{"id":`...)
	b = appendJSONString(b, j.Player.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, j.Player.Name)
	if j.Player.Team != "" {
		b = append(b, `,"team":`...)
		b = appendJSONString(b, j.Player.Team)
	}
	if j.Player.Rating != 0 {
		b = append(b, `,"rating":`...)
		b = appendJSONFloat(b, j.Player.Rating)
	}
	b = appendIntField(b, `},"count":`, int64(j.Count))
	return append(b, "}}"...)
}

// appendJSONFloat writes f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form only below 1e-6
// or from 1e21 on, with a one-digit negative exponent not padded to two.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic(fmt.Sprintf("protocol: encode: unsupported number %v", f))
	}
	form := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		form = 'e'
	}
	b = strconv.AppendFloat(b, f, form, -1, 64)
	if form == 'e' {
		// strconv writes e-07; encoding/json writes e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
