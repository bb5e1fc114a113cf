package questionbank

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/xuri/excelize/v2"
)

// makeXLSX builds a workbook whose first sheet holds rows, starting at A1;
// a nil row is left empty. Strings are stored as strings, so "=1+1" is text.
func makeXLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, row := range rows {
		for c, v := range row {
			cell, err := excelize.CoordinatesToCellName(c+1, r+1)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := v.(string); ok {
				err = f.SetCellStr("Sheet1", cell, s)
			} else {
				err = f.SetCellValue("Sheet1", cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseXLSX(t *testing.T) {
	data := makeXLSX(t, [][]any{
		{"ID", "Type", "Text", "A", "B", "C", "Answer", "Difficulty", "Weight", "Lang"},
		{1001, "single", "=1+1", "=2", "2", "+3", "B", 3, 1.5, "zh"},
		nil,
		{"", "判断", "水在零度结冰", "", "", "", true, "", "", ""},
		{"", "multi", "选出偶数", "２", "３", "４", "A,C", 1, "", ""},
		{"", "text", "Capital of France", "", "", "", "Paris|paris city", "", "", "en"},
	})
	var calls int
	qs, errs, err := Parse(FormatXLSX, bytes.NewReader(data), func(done, total int) { calls++ })
	if err != nil || errs != nil {
		t.Fatalf("err = %v, row errors = %v", err, errs)
	}
	if len(qs) != 4 || calls != 1 {
		t.Fatalf("got %d questions, %d progress calls", len(qs), calls)
	}
	want := Question{ID: "1001", Type: Single, Text: "=1+1",
		Options: []Option{{"A", "=2"}, {"B", "2"}, {"C", "+3"}}, Answer: []string{"B"},
		Difficulty: 3, Weight: 1.5, Lang: "zh"}
	if !reflect.DeepEqual(qs[0], want) {
		t.Errorf("row 2:\n got %+v\nwant %+v", qs[0], want)
	}
	if qs[1].Type != TrueFalse || qs[1].Answer[0] != "T" {
		t.Errorf("boolean cell answer: %+v", qs[1])
	}
	if !reflect.DeepEqual(qs[2].Answer, []string{"A", "C"}) || qs[2].Options[0].Text != "２" {
		t.Errorf("multi: %+v", qs[2])
	}
	if !reflect.DeepEqual(qs[3].Answer, []string{"Paris", "paris city"}) {
		t.Errorf("text answers: %q", qs[3].Answer)
	}
}

func TestParseXLSXRowErrors(t *testing.T) {
	data := makeXLSX(t, [][]any{
		{"type", "text", "a", "b", "answer", "Notes"},
	})
	_, errs, err := ParseXLSX(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if want := []RowError{{Row: 1, Field: "Notes", Message: `unknown column "Notes"; the columns are ` + tableColumnList}}; lines(errs) != lines(want) {
		t.Errorf("header errors:\n%s", lines(errs))
	}

	data = makeXLSX(t, [][]any{
		{"type", "text", "a", "b", "answer"},
		{"single", "ok", "x", "y", "A"},
		nil,
		nil,
		{"single", "bad", "x", "y", "Q"},
		{"single", "", "x", "y", "A"},
	})
	// A formula is never evaluated: its cell yields the value saved with
	// it, here none, so the answer is empty rather than "B".
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellValue("Sheet1", "A8", "single"); err != nil {
		t.Fatal(err)
	}
	f.SetCellStr("Sheet1", "B8", "formula")
	f.SetCellStr("Sheet1", "C8", "x")
	f.SetCellStr("Sheet1", "D8", "y")
	if err := f.SetCellFormula("Sheet1", "E8", `CHAR(66)`); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f.Close()

	_, errs, err = ParseXLSX(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []RowError{
		{Row: 5, Field: "answer", Message: `"Q" is not the key of an option (A, B)`},
		{Row: 6, Field: "text", Message: "is empty"},
		{Row: 8, Field: "answer", Message: "is empty; give the key of the correct option"},
	}
	if lines(errs) != lines(want) {
		t.Errorf("row errors:\n%s\nwant:\n%s", lines(errs), lines(want))
	}
}

func TestParseXLSXUnreadable(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("type,text,answer\n"),
		"bad zip":   []byte("PK\x03\x04garbage"),
		"truncated": makeXLSX(t, [][]any{{"type"}})[:200],
	} {
		if _, _, err := ParseXLSX(bytes.NewReader(data)); !errors.Is(err, ErrUnreadable) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
