package questionbank

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

// checkParse holds any parser's result to its contract: an error comes
// alone; every question returned validates clean and is in normal form;
// every row error names a row and says something.
func checkParse(t *testing.T, qs []Question, errs []RowError, err error) {
	t.Helper()
	if err != nil {
		if qs != nil || errs != nil {
			t.Fatalf("error %v came with %d questions and %d row errors", err, len(qs), len(errs))
		}
		return
	}
	for _, q := range qs {
		if fe := q.Validate(); fe != nil {
			t.Fatalf("returned question %+v does not validate: %v", q, fe)
		}
		again := clone(q)
		again.Normalize()
		if !reflect.DeepEqual(again, q) {
			t.Fatalf("Normalize changed a returned question:\n%+v\n%+v", q, again)
		}
	}
	for _, e := range errs {
		if e.Row < 1 || e.Message == "" {
			t.Fatalf("bad row error %+v", e)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(goodCSV))
	f.Add([]byte("type,text,a,b,answer\nsingle,\"multi\nline\",1,2,B\n\n,,,\ntruefalse,x,,,√\n"))
	f.Add([]byte("type;text;answer\ntext;q;a|b| \n"))
	f.Add([]byte("\uFEFFTYPE,TEXT,ANSWER,weight,difficulty\nmulti,q,ＡＣ,NaN,9\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, errs, err := ParseCSV(bytes.NewReader(data))
		checkParse(t, qs, errs, err)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`[{"type":"single","text":"q","options":["a","b"],"answer":"B"}]`))
	f.Add([]byte(`{"questions":[{"type":"truefalse","text":"q","answer":false},{"type":"text","text":"q","answer":[1,"x"]}]}`))
	f.Add([]byte(`[{"type":"multi","text":"q","options":[{"key":"b","text":"x"},{"key":"a","text":"y"}],"answer":"a|b","weight":1e308}]`))
	f.Add([]byte(`[null, 1, "x", {"ID": 5, "Type": "判断", "Text": "t", "Answer": "对"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, errs, err := ParseJSON(bytes.NewReader(data))
		checkParse(t, qs, errs, err)
	})
}

func FuzzParseXLSX(f *testing.F) {
	f.Add(makeXLSX(f, [][]any{
		{"type", "text", "a", "b", "answer", "difficulty"},
		{"single", "=1+1", "x", "y", "B", 2},
		nil,
		{"truefalse", "t", "", "", true, ""},
	}))
	f.Add(makeXLSX(f, [][]any{{"type", "text", "answer", "Extra"}}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, errs, err := ParseXLSX(bytes.NewReader(data))
		checkParse(t, qs, errs, err)
	})
}

// TestParseNeverPanicsOnReaderError feeds each parser a reader that fails.
func TestParseNeverPanicsOnReaderError(t *testing.T) {
	for _, format := range []string{FormatCSV, FormatJSON, FormatXLSX} {
		_, _, err := Parse(format, io.MultiReader(bytes.NewReader([]byte("type,")), errReader{}), nil)
		if err == nil {
			t.Errorf("%s: no error from a failing reader", format)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
