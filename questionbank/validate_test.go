package questionbank

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func single() Question {
	return Question{
		ID: "q1", Type: Single, Text: "2+2?",
		Options: []Option{{"A", "3"}, {"B", "4"}, {"C", "5"}},
		Answer:  []string{"B"},
	}
}

func TestValidate(t *testing.T) {
	opts := func(n int) []Option {
		var o []Option
		for i := range n {
			o = append(o, Option{Key: string(rune('A' + i)), Text: "x"})
		}
		return o
	}
	tests := []struct {
		name   string
		edit   func(q *Question)
		fields []string // fields with errors, in order; nil means valid
	}{
		{"valid single", func(q *Question) {}, nil},
		{"unknown type", func(q *Question) { q.Type = "essay" }, []string{"type"}},
		{"empty type", func(q *Question) { q.Type = "" }, []string{"type"}},
		{"empty text", func(q *Question) { q.Text = "  " }, []string{"text"}},
		{"long text", func(q *Question) { q.Text = strings.Repeat("题", MaxTextLen+1) }, []string{"text"}},
		{"text at limit", func(q *Question) { q.Text = strings.Repeat("题", MaxTextLen) }, nil},
		{"bad utf8", func(q *Question) { q.Text = "a\xffb" }, []string{"text"}},
		{"empty id", func(q *Question) { q.ID = "" }, []string{"id"}},
		{"id with space", func(q *Question) { q.ID = "a b" }, []string{"id"}},
		{"one option", func(q *Question) { q.Options = opts(1); q.Answer = []string{"A"} }, []string{"options"}},
		{"six options", func(q *Question) { q.Options = opts(6) }, nil},
		{"seven options", func(q *Question) { q.Options = append(opts(6), Option{"G", "x"}) }, []string{"options", "options.G"}},
		{"duplicate key", func(q *Question) { q.Options[2].Key = "B" }, []string{"options.B"}},
		{"gap in keys", func(q *Question) { q.Options[1].Key = "D"; q.Answer = []string{"A"} }, []string{"options.B"}},
		{"empty option", func(q *Question) { q.Options[0].Text = "" }, []string{"options.A"}},
		{"long option", func(q *Question) { q.Options[0].Text = strings.Repeat("x", MaxOptionLen+1) }, []string{"options.A"}},
		{"two answers single", func(q *Question) { q.Answer = []string{"A", "B"} }, []string{"answer"}},
		{"no answer", func(q *Question) { q.Answer = nil }, []string{"answer"}},
		{"answer not an option", func(q *Question) { q.Answer = []string{"D"} }, []string{"answer"}},
		{"multi two answers", func(q *Question) { q.Type = Multi; q.Answer = []string{"A", "C"} }, nil},
		{"multi bad key", func(q *Question) { q.Type = Multi; q.Answer = []string{"A", "E"} }, []string{"answer"}},
		{"multi repeated key", func(q *Question) { q.Type = Multi; q.Answer = []string{"A", "A"} }, []string{"answer"}},
		{"difficulty 0", func(q *Question) { q.Difficulty = 0 }, nil},
		{"difficulty 3", func(q *Question) { q.Difficulty = 3 }, nil},
		{"difficulty 4", func(q *Question) { q.Difficulty = 4 }, []string{"difficulty"}},
		{"difficulty -1", func(q *Question) { q.Difficulty = -1 }, []string{"difficulty"}},
		{"weight 10", func(q *Question) { q.Weight = 10 }, nil},
		{"weight 11", func(q *Question) { q.Weight = 11 }, []string{"weight"}},
		{"weight negative", func(q *Question) { q.Weight = -1 }, []string{"weight"}},
		{"weight NaN", func(q *Question) { q.Weight = math.NaN() }, []string{"weight"}},
		{"lang fr", func(q *Question) { q.Lang = "fr" }, []string{"lang"}},
		{"long explanation", func(q *Question) { q.Explanation = strings.Repeat("x", MaxExplanationLen+1) }, []string{"explanation"}},
		{"text question", func(q *Question) { q.Type = Text; q.Options = nil; q.Answer = []string{"4", "four"} }, nil},
		{"text with options", func(q *Question) { q.Type = Text; q.Answer = []string{"4"} }, []string{"options"}},
		{"text no answer", func(q *Question) { q.Type = Text; q.Options = nil; q.Answer = nil }, []string{"answer"}},
		{"text blank answer", func(q *Question) { q.Type = Text; q.Options = nil; q.Answer = []string{"\u3000"} }, []string{"answer"}},
		{"truefalse", func(q *Question) {
			q.Type = TrueFalse
			q.Options = []Option{{"T", "对"}, {"F", "错"}}
			q.Answer = []string{"F"}
		}, nil},
		{"truefalse wrong keys", func(q *Question) { q.Type = TrueFalse; q.Options = opts(2); q.Answer = []string{"T"} }, []string{"options"}},
		{"truefalse raw answer", func(q *Question) {
			q.Type = TrueFalse
			q.Options = []Option{{"T", "对"}, {"F", "错"}}
			q.Answer = []string{"true"}
		}, []string{"answer"}},
		{"formula text is data", func(q *Question) { q.Text = "=1+1"; q.Options[0].Text = "=HYPERLINK(\"x\")" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := single()
			tt.edit(&q)
			var got []string
			for _, e := range q.Validate() {
				got = append(got, e.Field)
				if e.Message == "" {
					t.Errorf("empty message for %s", e.Field)
				}
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("error fields = %q, want %q (%v)", got, tt.fields, q.Validate())
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Question
		want Question
	}{
		{
			name: "truefalse zh defaults",
			in:   Question{Type: "判断", Text: " 地球是圆的 ", Answer: []string{"对"}},
			want: Question{ID: stableID(TrueFalse, "地球是圆的"), Type: TrueFalse, Text: "地球是圆的",
				Options: []Option{{"T", "正确"}, {"F", "错误"}}, Answer: []string{"T"}, Difficulty: 2, Lang: "zh"},
		},
		{
			name: "truefalse en defaults",
			in:   Question{ID: "x", Type: "TF", Text: "Sky is green", Answer: []string{"No"}, Lang: "en-US"},
			want: Question{ID: "x", Type: TrueFalse, Text: "Sky is green",
				Options: []Option{{"T", "True"}, {"F", "False"}}, Answer: []string{"F"}, Difficulty: 2, Lang: "en"},
		},
		{
			name: "truefalse options reordered",
			in:   Question{ID: "x", Type: TrueFalse, Text: "t", Options: []Option{{"f", "No"}, {"true", "Yes"}}, Answer: []string{"×"}},
			want: Question{ID: "x", Type: TrueFalse, Text: "t",
				Options: []Option{{"T", "Yes"}, {"F", "No"}}, Answer: []string{"F"}, Difficulty: 2, Lang: "zh"},
		},
		{
			name: "choice keys",
			in: Question{ID: "x", Type: "Multi", Text: "t", Difficulty: 3,
				Options: []Option{{"b", " two "}, {"a", "one"}}, Answer: []string{"b", " a", "B", ""}},
			want: Question{ID: "x", Type: Multi, Text: "t", Difficulty: 3,
				Options: []Option{{"A", "one"}, {"B", "two"}}, Answer: []string{"A", "B"}, Lang: "zh"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.in
			q.Normalize()
			if !reflect.DeepEqual(q, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", q, tt.want)
			}
			if errs := q.Validate(); errs != nil {
				t.Errorf("normalised question invalid: %v", errs)
			}
			again := q
			again.Normalize()
			if !reflect.DeepEqual(again, q) {
				t.Errorf("Normalize is not idempotent: %+v", again)
			}
		})
	}
}

func TestParseTF(t *testing.T) {
	for _, s := range []string{"T", "t", "true", "TRUE", "对", "正确", "√", "yes", "Yes", "ｔｒｕｅ"} {
		if got, ok := parseTF(s); !ok || got != "T" {
			t.Errorf("parseTF(%q) = %q, %v", s, got, ok)
		}
	}
	for _, s := range []string{"F", "false", "错", "错误", "×", "no", "NO"} {
		if got, ok := parseTF(s); !ok || got != "F" {
			t.Errorf("parseTF(%q) = %q, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "maybe", "A", "1"} {
		if _, ok := parseTF(s); ok {
			t.Errorf("parseTF(%q) accepted", s)
		}
	}
}

func TestStableID(t *testing.T) {
	a := stableID(Single, "2+2?")
	if a != stableID(Single, "2+2?") || a == stableID(Multi, "2+2?") || a == stableID(Single, "2+3?") {
		t.Fatal("stableID is not a function of type and text")
	}
	if !strings.HasPrefix(a, "q-") || len(a) != 14 {
		t.Fatalf("stableID = %q", a)
	}
}
