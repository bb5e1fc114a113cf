package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// oddStrings are strings every escape of encoding/json's is needed for.
var oddStrings = []string{
	"", "A", "长江", "r-1", `q"\`, "<b>&amp;</b>", "\u2028\u2029", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "\xff\xfe", "é\xc3", "\xe2\x80", "😀", "\ufffd", "a\u2027b\u202ac",
	"\xed\xa0\x80x", "\xe0\x80\x80", "\xe0\xa0\x80", "\xef\xbf\xbf", "长\xe3\x81", "\xe2\x80\xa8\xe2\x80\xaa",
}

// FuzzAppendString holds the escaper to encoding/json for any string.
func FuzzAppendString(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("AppendString(%q)\n got %s\nwant x%s", s, got, want)
		}
	})
}

// pushedSource turns a fuzzer's bytes into field values: each byte picks
// the next string, number, flag or length from a small pool seeded with
// the fuzzer's own strings and numbers and with the awkward ones.
type pushedSource struct {
	b    []byte
	strs []string
	ints []int64
}

func (s *pushedSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *pushedSource) str() string { return s.strs[int(s.next())%len(s.strs)] }
func (s *pushedSource) i64() int64  { return s.ints[int(s.next())%len(s.ints)] }
func (s *pushedSource) num() int    { return int(s.i64()) }
func (s *pushedSource) flag() bool  { return s.next()&1 == 1 }
func (s *pushedSource) length() int { return int(s.next()%7) - 1 } // -1 is nil
func (s *pushedSource) strings() []string {
	n := s.length()
	if n < 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = s.str()
	}
	return out
}

func (s *pushedSource) standings() []Standing {
	n := s.length()
	if n < 0 {
		return nil
	}
	out := make([]Standing, n)
	for i := range out {
		out[i] = Standing{Rank: s.num(), ID: s.str(), Name: s.str(), Team: s.str(), Score: s.i64(), Delta: s.i64(), PrevRank: s.num(), TimeMS: s.i64(), Streak: s.num()}
	}
	return out
}

func (s *pushedSource) teams() []TeamStanding {
	n := s.length()
	if n < 0 {
		return nil
	}
	out := make([]TeamStanding, n)
	for i := range out {
		out[i] = TeamStanding{Rank: s.num(), Team: s.str(), Score: s.i64(), Members: s.num()}
	}
	return out
}

// FuzzPushed holds every hand-written encoder of a pushed message to what
// Encode writes for the same value, byte for byte: odd Unicode, nil and
// empty slices and maps, omitempty fields set and not.
func FuzzPushed(f *testing.F) {
	f.Add([]byte{}, "r-1", "长江", "B", int64(3), int64(1764365100000), 1512.5)
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, "", "", "", int64(0), int64(-1), 0.0)
	f.Add(bytes.Repeat([]byte{6, 255, 3, 128, 17, 1}, 20), `q"\<>&`+"\u2028\x00é", "\xff\xfe", "\ufffd", int64(math.MinInt64), int64(math.MaxInt64), 1e-7)
	f.Add(bytes.Repeat([]byte{5, 9, 2, 14, 4, 7, 1, 0, 11, 3, 13, 8}, 30), "a\tb", "<&>", "😀", int64(-7), int64(1)<<40, -1e21)
	f.Fuzz(func(t *testing.T, data []byte, s1, s2, s3 string, n1, n2 int64, rating float64) {
		if math.IsNaN(rating) || math.IsInf(rating, 0) {
			return // Encode refuses these
		}
		src := &pushedSource{
			b:    data,
			strs: append([]string{s1, s2, s3}, oddStrings...),
			ints: []int64{0, 1, -1, 2, 7, 1000, n1, n2, math.MaxInt64, math.MinInt64, math.MaxInt32, -1 << 40},
		}
		check := func(typ string, v any, got []byte) {
			t.Helper()
			if want := Encode(typ, "", v); !bytes.Equal(got, want) {
				t.Fatalf("%s %+v\n got %s\nwant %s", typ, v, got, want)
			}
		}

		q := Question{Room: src.str(), Index: src.num(), Total: src.num(), TimeLimit: src.i64(), Deadline: src.i64(),
			Question: PublicQuestion{ID: src.str(), Type: src.str(), Text: src.str()}}
		if n := src.length(); n >= 0 {
			q.Question.Options = make([]Option, n)
			for i := range q.Question.Options {
				q.Question.Options[i] = Option{Key: src.str(), Text: src.str()}
			}
		}
		check("question", q, EncodeQuestion(q))

		p := Progress{Room: src.str(), Index: src.num(), Answered: src.num(), Of: src.num()}
		check("progress", p, EncodeProgress(p))

		c := Countdown{Room: src.str(), Index: src.num(), StartsAt: src.i64()}
		check("countdown", c, EncodeCountdown(c))

		r := Reveal{Room: src.str(), Index: src.num(), Correct: src.strings(), Explanation: src.str(), Skipped: src.flag()}
		if n := src.length(); n >= 0 {
			r.Stats = map[string]int{}
			for range 3 * n { // up to 18 keys: past the 8 appendCounts holds without allocating
				r.Stats[src.str()] = src.num()
			}
		}
		check("reveal", r, EncodeReveal(r))

		sb := Scoreboard{Room: src.str(), Index: src.num(), Players: src.num(), Top: src.standings(), Teams: src.teams()}
		check("scoreboard", sb, EncodeScoreboard(sb))

		fin := Finished{Room: src.str(), Standings: src.standings(), Teams: src.teams(), Players: src.num()}
		check("room.finished", fin, EncodeFinished(fin))

		st := State{Room: src.str(), Kind: src.str(), Title: src.str(), Phase: src.str(), Index: src.num(), Total: src.num(),
			Deadline: src.i64(), TimeLimit: src.i64(), RemainingMS: src.i64(), Players: src.num(), Answered: src.num(),
			PIN: src.str(), TeamMode: src.str(), Teams: src.strings()}
		if src.flag() {
			st.Question = &q.Question
		}
		if n := src.length(); n >= 0 {
			st.Members = make([]Member, n)
			for i := range st.Members {
				st.Members[i] = Member{ID: src.str(), Name: src.str(), Team: src.str(), Score: src.i64()}
			}
		}
		if src.flag() {
			st.Scoreboard = &sb
		}
		if src.flag() {
			you := &StateYou{Name: src.str(), Team: src.str(), Score: src.i64(), Rank: src.num(), Answered: src.flag(), Streak: src.num()}
			if n := src.length(); n >= 0 {
				you.Answers = make([]AnswerRecord, n)
				for i := range you.Answers {
					a := AnswerRecord{Index: src.num(), Choice: src.strings(), Text: src.str(), Points: src.i64()}
					if src.flag() {
						c := src.flag()
						a.Correct = &c
					}
					you.Answers[i] = a
				}
			}
			st.You = you
		}
		re := src.str()
		if want := Encode("room.state", re, st); !bytes.Equal(EncodeState(re, st), want) {
			t.Fatalf("room.state re %q %+v\n got %s\nwant %s", re, st, EncodeState(re, st), want)
		}

		j := Joined{Room: src.str(), Player: PlayerInfo{ID: src.str(), Name: src.str(), Team: src.str(), Rating: rating}, Count: src.num()}
		check("room.joined", j, EncodeJoined(j))

		// Appending keeps what b held.
		if got := appendProgress([]byte("xy"), p); string(got[:2]) != "xy" || !bytes.Equal(got[2:], EncodeProgress(p)) {
			t.Fatalf("appendProgress onto a prefix: %s", got)
		}
	})
}

// TestPushedAllocations: each encoder allocates its buffer and nothing
// else for a duel's usual frames (a handful of options and stats, two
// standings).
func TestPushedAllocations(t *testing.T) {
	q := Question{Room: "r-1", Index: 3, Total: 10, TimeLimit: 10000, Deadline: 1764365100000,
		Question: PublicQuestion{ID: "q-17", Type: "single", Text: "长江流经几个省份？<b>",
			Options: []Option{{"A", "十一"}, {"B", "九"}, {"C", "七"}, {"D", "十三"}}}}
	r := Reveal{Room: "r-1", Index: 3, Correct: []string{"A"}, Explanation: "青海、西藏……上海", Stats: map[string]int{"A": 1, "B": 0, "C": 1, "D": 0}}
	sb := Scoreboard{Room: "r-1", Index: 3, Players: 2, Top: []Standing{
		{Rank: 1, ID: "p1", Name: "张三", Score: 1800, Delta: 950, PrevRank: 2, TimeMS: 2100, Streak: 2},
		{Rank: 2, ID: "p2", Name: "Li & Wang", Score: 1200, TimeMS: 4000}}}
	for name, enc := range map[string]func() []byte{
		"question":      func() []byte { return EncodeQuestion(q) },
		"progress":      func() []byte { return EncodeProgress(Progress{Room: "r-1", Index: 3, Answered: 1, Of: 2}) },
		"countdown":     func() []byte { return EncodeCountdown(Countdown{Room: "r-1", StartsAt: 1764365100000}) },
		"reveal":        func() []byte { return EncodeReveal(r) },
		"scoreboard":    func() []byte { return EncodeScoreboard(sb) },
		"room.finished": func() []byte { return EncodeFinished(Finished{Room: "r-1", Standings: sb.Top, Players: 2}) },
		"room.joined": func() []byte {
			return EncodeJoined(Joined{Room: "r-1", Player: PlayerInfo{ID: "p2", Name: "李四", Rating: 1523.25}, Count: 2})
		},
		"room.state": func() []byte {
			return EncodeState("j2", State{Room: "r-1", Kind: "duel", Phase: "question", Index: 3, Total: 10, Deadline: 1764365100000,
				TimeLimit: 10000, Question: &q.Question, Players: 2, Members: []Member{{ID: "p1", Name: "张三"}, {ID: "p2", Name: "Li"}},
				Scoreboard: &sb, You: &StateYou{Name: "张三", Answers: []AnswerRecord{{Index: 2, Choice: []string{"B"}, Points: 950}}}})
		},
	} {
		if n := testing.AllocsPerRun(100, func() { enc() }); n != 1 {
			t.Errorf("%s: %v allocations, want 1 (its buffer)", name, n)
		}
	}
}

// TestPushedFieldsCovered fails when a type the hand-written encoders write
// gains (or loses) a field: the encoder must learn it, and FuzzPushed set
// it, before this count is changed.
func TestPushedFieldsCovered(t *testing.T) {
	for v, n := range map[reflect.Type]int{
		reflect.TypeFor[Question](): 6, reflect.TypeFor[PublicQuestion](): 4, reflect.TypeFor[Option](): 2,
		reflect.TypeFor[Progress](): 4, reflect.TypeFor[Countdown](): 3, reflect.TypeFor[Reveal](): 6,
		reflect.TypeFor[Scoreboard](): 5, reflect.TypeFor[Standing](): 9, reflect.TypeFor[TeamStanding](): 4,
		reflect.TypeFor[Finished](): 4, reflect.TypeFor[State](): 18, reflect.TypeFor[Member](): 4,
		reflect.TypeFor[StateYou](): 7, reflect.TypeFor[AnswerRecord](): 5, reflect.TypeFor[Joined](): 3,
		reflect.TypeFor[PlayerInfo](): 4,
	} {
		if got := v.NumField(); got != n {
			t.Errorf("%v has %d fields, its encoder writes %d", v, got, n)
		}
	}
}

// BenchmarkPushed compares each hand-written encoder with Encode on a
// duel's usual frames.
func BenchmarkPushed(b *testing.B) {
	q := Question{Room: "3f2a9c1e-duel", Index: 3, Total: 5, TimeLimit: 15000, Deadline: 1764365100000,
		Question: PublicQuestion{ID: "q-0172", Type: "single", Text: "长江流经几个省级行政区？",
			Options: []Option{{"A", "十一个"}, {"B", "九个"}, {"C", "七个"}, {"D", "十三个"}}}}
	r := Reveal{Room: q.Room, Index: 3, Correct: []string{"A"}, Explanation: "青海、西藏、四川、云南、重庆、湖北、湖南、江西、安徽、江苏、上海。",
		Stats: map[string]int{"A": 1, "B": 0, "C": 1, "D": 0}}
	sb := Scoreboard{Room: q.Room, Index: 3, Players: 2, Top: []Standing{
		{Rank: 1, ID: "0b7c5a2e-p1", Name: "张三", Score: 3420, Delta: 950, PrevRank: 2, TimeMS: 8100, Streak: 3},
		{Rank: 2, ID: "91d3e4f0-p2", Name: "guest-4821", Score: 2900, Delta: 0, PrevRank: 1, TimeMS: 9900}}}
	p := Progress{Room: q.Room, Index: 3, Answered: 1, Of: 2}
	for _, c := range []struct {
		name       string
		hand, json func() []byte
	}{
		{"question", func() []byte { return EncodeQuestion(q) }, func() []byte { return Encode("question", "", q) }},
		{"reveal", func() []byte { return EncodeReveal(r) }, func() []byte { return Encode("reveal", "", r) }},
		{"scoreboard", func() []byte { return EncodeScoreboard(sb) }, func() []byte { return Encode("scoreboard", "", sb) }},
		{"progress", func() []byte { return EncodeProgress(p) }, func() []byte { return Encode("progress", "", p) }},
	} {
		b.Run(c.name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.json()
			}
		})
		b.Run(c.name+"/hand", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.hand()
			}
		})
	}
}
