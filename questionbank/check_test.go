package questionbank

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/width"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ｈｅｌｌｏ　Ｗｏｒｌｄ", "helloworld"},
		{"hello world", "helloworld"},
		{"  Hello\tWorld\n", "helloworld"},
		{"ＡＢＣ１２３", "abc123"},
		{"北京　市", "北京市"},
		{"《红楼梦》", "<红楼梦>"},
		{"“引号”", `"引号"`},
		{"a\u200bb\ufeffc", "abc"},
		{"Cafe\u0301", "café"},
		{"（括号）", "(括号)"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWidthFolds checks the shortcut in Fold against the transformer
// itself for every rune of the Basic Multilingual Plane and a few beyond:
// it must see a change exactly where width folding makes one.
func TestWidthFolds(t *testing.T) {
	check := func(r rune) {
		s := "a" + string(r) + "b"
		if got, want := widthFolds(s), width.Fold.String(s) != s; got != want {
			t.Errorf("widthFolds(%q) = %v, want %v", s, got, want)
		}
	}
	for r := rune(0); r < 0x10000; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		check(r)
	}
	for _, r := range []rune{0x1F600, 0x20000, 0x2F800, 0xE0001, 0x10FFFF} {
		check(r)
	}
}

func TestCheck(t *testing.T) {
	multi := Question{Type: Multi, Options: []Option{{"A", "a"}, {"B", "b"}, {"C", "c"}, {"D", "d"}}, Answer: []string{"A", "C"}}
	single := Question{Type: Single, Options: multi.Options, Answer: []string{"B"}}
	tf := Question{Type: TrueFalse, Options: []Option{{"T", "对"}, {"F", "错"}}, Answer: []string{"F"}}
	text := Question{Type: Text, Answer: []string{"Hello World", "北京市"}}
	tests := []struct {
		name   string
		q      *Question
		choice []string
		text   string
		want   bool
	}{
		{"single right", &single, []string{"B"}, "", true},
		{"single lower-case", &single, []string{"b"}, "", true},
		{"single wrong", &single, []string{"A"}, "", false},
		{"single two keys", &single, []string{"A", "B"}, "", false},
		{"single repeated", &single, []string{"B", "B"}, "", true},
		{"single none", &single, nil, "", false},
		{"single text ignored", &single, nil, "B", false},
		{"multi right", &multi, []string{"A", "C"}, "", true},
		{"multi any order", &multi, []string{"C", "A"}, "", true},
		{"multi repeats", &multi, []string{"C", "A", "C"}, "", true},
		{"multi partial", &multi, []string{"A"}, "", false},
		{"multi extra", &multi, []string{"A", "B", "C"}, "", false},
		{"multi none", &multi, []string{}, "", false},
		{"tf right", &tf, []string{"F"}, "", true},
		{"tf wrong", &tf, []string{"T"}, "", false},
		{"tf both", &tf, []string{"T", "F"}, "", false},
		{"text exact", &text, nil, "Hello World", true},
		{"text folded", &text, nil, "Ｈｅｌｌｏ　Ｗｏｒｌｄ", true},
		{"text lower no space", &text, nil, "helloworld", true},
		{"text second answer", &text, nil, " 北京 市 ", true},
		{"text wrong", &text, nil, "hello", false},
		{"text empty", &text, nil, "", false},
		{"text blank", &text, nil, "\u3000", false},
		{"text choice ignored", &text, []string{"Hello World"}, "", false},
	}
	for _, tt := range tests {
		if got := tt.q.Check(tt.choice, tt.text); got != tt.want {
			t.Errorf("%s: Check(%q, %q) = %v, want %v", tt.name, tt.choice, tt.text, got, tt.want)
		}
	}
}

func TestCheckFullWidthKeys(t *testing.T) {
	// Keys typed in a spreadsheet as full-width letters are folded on
	// import; the stored keys are then plain A–F.
	qs, errs, err := Parse(FormatCSV, strings.NewReader("type,text,a,b,c,answer\nmulti,q,x,y,z,ＡＣ\n"), nil)
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	if !qs[0].Check([]string{"A", "C"}, "") {
		t.Fatalf("answer %q does not match A,C", qs[0].Answer)
	}
}

func TestValidChoice(t *testing.T) {
	q := Question{Type: Single, Options: []Option{{"A", "a"}, {"B", "b"}, {"C", "c"}}, Answer: []string{"A"}}
	text := Question{Type: Text, Answer: []string{"x"}}
	tests := []struct {
		q      *Question
		choice []string
		want   bool
	}{
		{&q, []string{"A"}, true},
		{&q, []string{"c"}, true},
		{&q, []string{"A", "B"}, true},
		{&q, nil, true},
		{&q, []string{"D"}, false},
		{&q, []string{"A", "Z"}, false},
		{&q, []string{""}, false},
		{&q, []string{"A", "A", "A", "A"}, false},
		{&text, nil, true},
		{&text, []string{"A"}, false},
	}
	for _, tt := range tests {
		if got := tt.q.ValidChoice(tt.choice); got != tt.want {
			t.Errorf("%s ValidChoice(%q) = %v, want %v", tt.q.Type, tt.choice, got, tt.want)
		}
	}
}
