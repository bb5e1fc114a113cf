package questionbank

import (
	"reflect"
	"testing"
)

func TestSample(t *testing.T) {
	qs, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) == 0 {
		t.Fatal("the sample bank is empty")
	}
	ids := make(map[string]bool)
	for _, q := range qs {
		if errs := q.Validate(); errs != nil {
			t.Errorf("%s: %v", q.ID, errs)
		}
		again := clone(q)
		again.Normalize()
		if !reflect.DeepEqual(again, q) {
			t.Errorf("%s is not in normal form", q.ID)
		}
		if ids[q.ID] {
			t.Errorf("duplicate id %s", q.ID)
		}
		ids[q.ID] = true
	}
}

// TestSampleSize holds the sample bank to its promised size: at least 300
// Chinese questions covering all four types and at least 50 English ones.
func TestSampleSize(t *testing.T) {
	qs, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	types := map[string]map[Type]int{"zh": {}, "en": {}}
	for _, q := range qs {
		count[q.Lang]++
		if types[q.Lang] != nil {
			types[q.Lang][q.Type]++
		}
	}
	if count["zh"] < 300 {
		t.Errorf("%d zh questions, want at least 300", count["zh"])
	}
	if count["en"] < 50 {
		t.Errorf("%d en questions, want at least 50", count["en"])
	}
	for _, typ := range []Type{Single, Multi, TrueFalse, Text} {
		if types["zh"][typ] == 0 {
			t.Errorf("no zh %s question", typ)
		}
	}
}
