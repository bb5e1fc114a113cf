package questionbank

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestFormatOf(t *testing.T) {
	tests := []struct{ name, want string }{
		{"bank.csv", FormatCSV}, {"Bank.JSON", FormatJSON}, {"dir/题库.xlsx", FormatXLSX},
	}
	for _, tt := range tests {
		if got, err := FormatOf(tt.name); err != nil || got != tt.want {
			t.Errorf("FormatOf(%q) = %q, %v", tt.name, got, err)
		}
	}
	for _, name := range []string{"bank.xls", "bank", "bank.txt"} {
		if _, err := FormatOf(name); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("FormatOf(%q) err = %v", name, err)
		}
	}
	if _, _, err := Parse("txt", strings.NewReader(""), nil); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Parse(txt) err = %v", err)
	}
}

const goodCSV = "\uFEFFType,TEXT,a,b,c,d,Answer,category,difficulty,explanation,weight,lang,id\n" +
	"single,2+2?,3,4,5,,B,math,1,Basic sum,2,en,\n" +
	"multi,Primes?,2,3,4,,\"A,B\",math,,,,en,m-1\n" +
	"multi,Even?,2,3,4,,AC,math,,,,en,\n" +
	"multi,Odd?,1,2,3,,A|C,math,,,,en,\n" +
	"\n" +
	"truefalse,地球是圆的,,,,,对,地理,简单,,,,\n" +
	"text,中国的首都,,,,,北京|北京市,地理,3,,,zh,\n" +
	"single,=1+1,=SUM(A1:A2),@cmd,+1,-1,A,,,,,,\n"

func TestParseCSV(t *testing.T) {
	var calls [][2]int
	qs, errs, err := Parse("CSV", strings.NewReader(goodCSV), func(done, total int) { calls = append(calls, [2]int{done, total}) })
	if err != nil || errs != nil {
		t.Fatalf("err = %v, row errors = %v", err, errs)
	}
	if len(qs) != 7 {
		t.Fatalf("got %d questions, want 7", len(qs))
	}
	if !reflect.DeepEqual(calls, [][2]int{{7, 7}}) {
		t.Errorf("progress calls = %v", calls)
	}
	want0 := Question{ID: stableID(Single, "2+2?"), Type: Single, Text: "2+2?",
		Options: []Option{{"A", "3"}, {"B", "4"}, {"C", "5"}}, Answer: []string{"B"},
		Category: "math", Difficulty: 1, Explanation: "Basic sum", Weight: 2, Lang: "en"}
	if !reflect.DeepEqual(qs[0], want0) {
		t.Errorf("row 2:\n got %+v\nwant %+v", qs[0], want0)
	}
	for i, want := range [][]string{{"A", "B"}, {"A", "C"}, {"A", "C"}} {
		if got := qs[1+i].Answer; !reflect.DeepEqual(got, want) {
			t.Errorf("multi %d answer = %q, want %q", i, got, want)
		}
	}
	if qs[1].ID != "m-1" {
		t.Errorf("given id lost: %q", qs[1].ID)
	}
	tf := qs[4]
	if tf.Answer[0] != "T" || tf.Difficulty != 1 || tf.Lang != "zh" || tf.Options[0] != (Option{"T", "正确"}) {
		t.Errorf("truefalse = %+v", tf)
	}
	if got := qs[5].Answer; !reflect.DeepEqual(got, []string{"北京", "北京市"}) {
		t.Errorf("text answers = %q", got)
	}
	f := qs[6]
	if f.Text != "=1+1" || f.Options[0].Text != "=SUM(A1:A2)" || f.Options[1].Text != "@cmd" || f.Options[3].Text != "-1" {
		t.Errorf("formula-looking cells changed: %+v", f)
	}

	again, _, _ := ParseCSV(strings.NewReader(goodCSV))
	for i := range qs {
		if again[i].ID != qs[i].ID {
			t.Errorf("re-import changed id %q to %q", qs[i].ID, again[i].ID)
		}
	}
}

func TestParseCSVRowErrors(t *testing.T) {
	const header = "type,text,a,b,c,d,e,f,answer,difficulty,weight,id\n"
	tests := []struct {
		name string
		csv  string
		want []RowError
	}{
		{"unknown column", "type,text,answer,hint,A\n", []RowError{
			{Row: 1, Field: "hint", Message: `unknown column "hint"; the columns are ` + tableColumnList}}},
		{"duplicate and missing column", "Type,type,text\n", []RowError{
			{Row: 1, Field: "type", Message: `column "type" appears twice`},
			{Row: 1, Field: "answer", Message: `the header has no "answer" column`}}},
		{"empty file", "\n\n", []RowError{
			{Row: 1, Field: "", Message: "the file is empty; the first row must name the columns (" + tableColumnList + ")"}}},
		{"bad rows", header +
			"single,ok,1,2,,,,,A,,,\n" +
			"single,no answer,1,2,,,,,,,,\n" +
			"essay,what,,,,,,,x,,,\n" +
			"single,bad key,1,2,,,,,C,,,\n" +
			"single,too few,1,,,,,,A,,,\n" +
			"multi,gap,1,,3,,,,A,,,\n" +
			"single,bad numbers,1,2,,,,,A,hard-ish,heavy,\n" +
			"truefalse,tf,,,x,,,,maybe,,,\n" +
			"text,t,x,,,,,,ans,,,\n" +
			"single,dup,1,2,,,,,A,,,x1\n" +
			"single,dup2,1,2,,,,,A,,,x1\n" +
			"single,ok,1,2,,,,,A,,,\n",
			[]RowError{
				{Row: 3, Field: "answer", Message: "is empty; give the key of the correct option"},
				{Row: 4, Field: "type", Message: `"essay" is not a known type; use single, multi, truefalse or text`},
				{Row: 5, Field: "answer", Message: `"C" is not the key of an option (A, B)`},
				{Row: 6, Field: "options", Message: "a single question needs 2 to 6 options, got 1"},
				{Row: 7, Field: "b", Message: "option B is missing but option C is given"},
				{Row: 8, Field: "difficulty", Message: `"hard-ish" is not a difficulty; use 1, 2 or 3 (easy, medium, hard) or leave it empty`},
				{Row: 8, Field: "weight", Message: `"heavy" is not a number`},
				{Row: 9, Field: "c", Message: "a truefalse question uses only columns a (true) and b (false)"},
				{Row: 9, Field: "answer", Message: `"maybe" is not the key of an option (T, F)`},
				{Row: 10, Field: "a", Message: "a text question takes no options; leave columns a to f empty"},
				{Row: 12, Field: "id", Message: `question id "x1" is already used on row 11`},
				{Row: 13, Field: "text", Message: "the same question (same type and text) is already on row 2"},
			}},
		{"cell without header", "type,text,a,b,answer\nsingle,q,1,2,A,extra\n", []RowError{
			{Row: 2, Field: "column 6", Message: "has a value but no name in the header row"}}},
		{"row numbers with blank lines and multi-line cells", "type,text,a,b,answer\n\n" +
			"single,\"line one\nline two\",1,2,A\n\n" +
			"single,bad,1,2,Z\n", []RowError{
			{Row: 5, Field: "answer", Message: `"Z" is not the key of an option (A, B)`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := ParseCSV(strings.NewReader(tt.csv))
			if err != nil {
				t.Fatal(err)
			}
			if lines(errs) != lines(tt.want) {
				t.Errorf("row errors:\n%s\nwant:\n%s", lines(errs), lines(tt.want))
			}
		})
	}
}

func lines(errs []RowError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %d %q %q\n", e.Row, e.Field, e.Message)
	}
	return b.String()
}

func TestParseCSVUnreadable(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
	}{
		{"not utf8", "type,text,answer\nsingle,\xc4\xe3\xba\xc3,A\n", ErrUnreadable},
		{"utf16", "\xff\xfet\x00y\x00", ErrUnreadable},
		{"binary", "PK\x03\x04\x00\x00", ErrUnreadable},
		{"bare quote", "type,text,answer\nsingle,say \"hi\",A\n", ErrUnreadable},
		{"too many rows", "type,text,answer\n" + strings.Repeat("text,q,a\n", MaxRows+1), ErrTooManyRows},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, errs, err := ParseCSV(strings.NewReader(tt.data))
			if !errors.Is(err, tt.want) || qs != nil || errs != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseCSVSeparators(t *testing.T) {
	for _, data := range []string{
		"type;text;a;b;answer\nsingle;Q, with comma;1;2;B\n",
		"type\ttext\ta\tb\tanswer\nsingle\tQ, with comma\t1\t2\tB\n",
	} {
		qs, errs, err := ParseCSV(strings.NewReader(data))
		if err != nil || errs != nil || len(qs) != 1 || qs[0].Text != "Q, with comma" {
			t.Errorf("%q: %v %v %+v", data, err, errs, qs)
		}
	}
}

func TestParseCSVMaxRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("type,text,answer\n")
	for i := range MaxRows {
		fmt.Fprintf(&b, "text,q%d,a\n", i)
	}
	var last [2]int
	calls := 0
	qs, errs, err := Parse(FormatCSV, strings.NewReader(b.String()), func(done, total int) { last = [2]int{done, total}; calls++ })
	if err != nil || errs != nil || len(qs) != MaxRows {
		t.Fatalf("err = %v, %d row errors, %d questions", err, len(errs), len(qs))
	}
	if last != [2]int{MaxRows, MaxRows} || calls != MaxRows/100 {
		t.Errorf("progress: %d calls, last %v", calls, last)
	}
}

func TestParseJSON(t *testing.T) {
	const data = `{"name": "demo", "questions": [
		{"id": "j1", "type": "single", "text": "2+2?", "options": ["3", "4"], "answer": "B", "difficulty": 1},
		{"id": 17, "type": "multi", "text": "Primes?", "options": [{"key": "A", "text": "2"}, {"key": "B", "text": "3"}, {"key": "C", "text": "4"}], "answer": ["A", "B"]},
		{"type": "truefalse", "text": "Sky is blue", "answer": true, "lang": "en"},
		{"type": "truefalse", "text": "天是绿的", "options": ["是", "否"], "answer": "错"},
		{"type": "text", "text": "新中国成立于哪一年", "answer": 1949, "weight": 1.5},
		{"type": "text", "text": "=1+1", "answer": ["=1+1"], "difficulty": "hard"}
	]}`
	qs, errs, err := ParseJSON(strings.NewReader("\uFEFF" + data))
	if err != nil || errs != nil {
		t.Fatalf("err = %v, row errors = %v", err, errs)
	}
	if len(qs) != 6 {
		t.Fatalf("got %d questions", len(qs))
	}
	if want := []Option{{"A", "3"}, {"B", "4"}}; !reflect.DeepEqual(qs[0].Options, want) || qs[0].Answer[0] != "B" {
		t.Errorf("string options: %+v", qs[0])
	}
	if qs[1].ID != "17" {
		t.Errorf("numeric id = %q", qs[1].ID)
	}
	if qs[2].Answer[0] != "T" || qs[2].Options[0].Text != "True" {
		t.Errorf("boolean answer: %+v", qs[2])
	}
	if qs[3].Answer[0] != "F" || qs[3].Options[1] != (Option{"F", "否"}) {
		t.Errorf("truefalse string options: %+v", qs[3])
	}
	if qs[4].Answer[0] != "1949" || qs[4].Weight != 1.5 {
		t.Errorf("numeric answer: %+v", qs[4])
	}
	if qs[5].Text != "=1+1" || qs[5].Difficulty != 3 {
		t.Errorf("formula-looking text: %+v", qs[5])
	}
}

func TestParseJSONRowErrors(t *testing.T) {
	const data = `[
		{"id": "a", "type": "single", "text": "ok", "options": ["x", "y"], "answer": ["A"]},
		"just a string",
		{"id": "b", "type": "single", "text": "typo", "options": ["x", "y"], "answers": ["A"]},
		{"id": "c", "type": "single", "text": "bad option", "options": [{"key": "A", "text": "x", "img": "y"}, "z"], "answer": "A"},
		{"id": "d", "type": "text", "text": 5.5, "answer": {"x": 1}, "difficulty": 2.5},
		{"id": "a", "type": "truefalse", "text": "dup", "answer": "T"}
	]`
	_, errs, err := ParseJSON(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []RowError{
		{Row: 2, Field: "", Message: "must be a JSON object with the fields of a question"},
		{Row: 3, Field: "answers", Message: "unknown field; the fields are id, type, text, options, answer, category, difficulty, explanation, weight, lang"},
		{Row: 3, Field: "answer", Message: "is empty; give the key of the correct option"},
		{Row: 4, Field: "options[0]", Message: "must be a string or an object with just key and text"},
		{Row: 4, Field: "options", Message: "a single question needs 2 to 6 options, got 1"},
		{Row: 4, Field: "options.A", Message: "option A is missing but option B is given"},
		{Row: 4, Field: "answer", Message: `"A" is not the key of an option (B)`},
		{Row: 5, Field: "difficulty", Message: "2.5 is not a difficulty; use 1, 2 or 3 (easy, medium, hard) or leave it out"},
		{Row: 5, Field: "answer", Message: "must be a string or an array of strings"},
		{Row: 5, Field: "answer", Message: "is empty; give at least one accepted answer"},
		{Row: 6, Field: "id", Message: `question id "a" is already used on row 1`},
	}
	if lines(errs) != lines(want) {
		t.Errorf("row errors:\n%s\nwant:\n%s", lines(errs), lines(want))
	}
}

func TestParseJSONUnreadable(t *testing.T) {
	tests := []struct{ name, data, msg string }{
		{"syntax", "[\n{\"id\": 1,}\n]", "line 2, column"},
		{"not array", `"hello"`, "expected a JSON array"},
		{"no questions", `{"name": "x"}`, `no "questions" array`},
		{"trailing", `[] []`, "invalid JSON"},
		{"empty", ``, "expected a JSON array"},
	}
	for _, tt := range tests {
		_, _, err := ParseJSON(strings.NewReader(tt.data))
		if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.msg)
		}
	}
}

func TestRowErrorString(t *testing.T) {
	if got := (RowError{Row: 3, Field: "answer", Message: "is empty"}).Error(); got != "row 3, answer: is empty" {
		t.Errorf("got %q", got)
	}
	if got := (RowError{Row: 2, Field: "", Message: "bad"}).Error(); got != "row 2: bad" {
		t.Errorf("got %q", got)
	}
}

// TestRowErrorReasons: problems carry a stable reason and their arguments,
// for pages that show them in another language.
func TestRowErrorReasons(t *testing.T) {
	const header = "type,text,a,b,c,d,e,f,answer,difficulty,weight,id\n"
	_, errs, err := ParseCSV(strings.NewReader(header +
		"single,no answer,1,2,,,,,,,,\n" +
		"single,bad key,1,2,,,,,C,,,\n" +
		"multi,gap,1,,3,,,,A,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(errs[0].Reason, errs[0].Params, " ", errs[1].Reason, errs[1].Params, " ", errs[2].Reason, errs[2].Params)
	if want := `answer_empty[] answer_not_option[C A, B] option_gap[B C]`; got != want {
		t.Fatalf("reasons %s, want %s", got, want)
	}
	for _, f := range []string{"is empty", "a %s question needs %d to %d options, got %d"} {
		if reasons[f] == "" {
			t.Errorf("no reason for %q", f)
		}
	}
}
