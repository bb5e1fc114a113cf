package protocol

import (
	"slices"
	"strconv"
)

// The messages a room pushes on every question — question, progress,
// reveal, scoreboard, countdown and room.finished — written by hand rather
// than by reflection: each EncodeX returns exactly the bytes
// Encode(type, "", x) returns for the same value, and each AppendX appends
// them to b. encoding/json costs a room's goroutine CPU and stack for
// every frame of every match; these cost one buffer. FuzzPushed holds
// them to encoding/json byte for byte.
//
// A field added to one of these types must be added here too, or the
// fuzz test fails.

// EncodeQuestion encodes a question message.
func EncodeQuestion(q Question) []byte {
	n := 160 + len(q.Room) + len(q.Question.ID) + len(q.Question.Type) + len(q.Question.Text)
	for _, o := range q.Question.Options {
		n += 24 + len(o.Key) + len(o.Text)
	}
	return AppendQuestion(make([]byte, 0, n), q)
}

// AppendQuestion appends EncodeQuestion's bytes to b.
func AppendQuestion(b []byte, q Question) []byte {
	b = append(b, `{"type":"question","data":{"room":`...)
	b = appendJSONString(b, q.Room)
	b = appendIntField(b, `,"index":`, int64(q.Index))
	b = appendIntField(b, `,"total":`, int64(q.Total))
	b = append(b, `,"question":{"id":`...)
	b = appendJSONString(b, q.Question.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, q.Question.Type)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, q.Question.Text)
	if len(q.Question.Options) > 0 {
		b = append(b, `,"options":[`...)
		for i, o := range q.Question.Options {
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
	b = append(b, '}')
	b = appendIntField(b, `,"time_limit_ms":`, q.TimeLimit)
	b = appendIntField(b, `,"deadline":`, q.Deadline)
	return append(b, "}}"...)
}

// EncodeProgress encodes a progress message.
func EncodeProgress(p Progress) []byte {
	return AppendProgress(make([]byte, 0, 112+len(p.Room)), p)
}

// AppendProgress appends EncodeProgress's bytes to b.
func AppendProgress(b []byte, p Progress) []byte {
	b = append(b, `{"type":"progress","data":{"room":`...)
	b = appendJSONString(b, p.Room)
	b = appendIntField(b, `,"index":`, int64(p.Index))
	b = appendIntField(b, `,"answered":`, int64(p.Answered))
	b = appendIntField(b, `,"of":`, int64(p.Of))
	return append(b, "}}"...)
}

// EncodeCountdown encodes a countdown message.
func EncodeCountdown(c Countdown) []byte {
	return AppendCountdown(make([]byte, 0, 96+len(c.Room)), c)
}

// AppendCountdown appends EncodeCountdown's bytes to b.
func AppendCountdown(b []byte, c Countdown) []byte {
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
	for k := range r.Stats {
		n += 16 + len(k)
	}
	return AppendReveal(make([]byte, 0, n), r)
}

// AppendReveal appends EncodeReveal's bytes to b.
func AppendReveal(b []byte, r Reveal) []byte {
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
	return AppendScoreboard(make([]byte, 0, n), s)
}

// AppendScoreboard appends EncodeScoreboard's bytes to b.
func AppendScoreboard(b []byte, s Scoreboard) []byte {
	b = append(b, `{"type":"scoreboard","data":{"room":`...)
	b = appendJSONString(b, s.Room)
	b = appendIntField(b, `,"index":`, int64(s.Index))
	b = appendIntField(b, `,"players":`, int64(s.Players))
	b = append(b, `,"top":`...)
	b = appendStandings(b, s.Top)
	if len(s.Teams) > 0 {
		b = append(b, `,"teams":`...)
		b = appendTeams(b, s.Teams)
	}
	return append(b, "}}"...)
}

// EncodeFinished encodes the shared part of a room.finished message.
func EncodeFinished(f Finished) []byte {
	n := 96 + len(f.Room) + standingsLen(f.Standings) + teamsLen(f.Teams)
	return AppendFinished(make([]byte, 0, n), f)
}

// AppendFinished appends EncodeFinished's bytes to b.
func AppendFinished(b []byte, f Finished) []byte {
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
	var held [16]string // a question's options, without allocating
	keys := held[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(m[k]), 10)
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
