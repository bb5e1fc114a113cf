package room

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendAnswerData holds the hand-written journal entry of an answer
// to what encoding/json writes for it, byte for byte: entries written
// either way read back the same.
func FuzzAppendAnswerData(f *testing.F) {
	f.Add("p1", 3, "B", "", "", int64(1500))
	f.Add("", -1, "", "", "长江", int64(0))
	f.Add(`q"\<>&`+"\u2028\x00", 1<<40, "A", "C", "\xff", int64(-5))
	f.Fuzz(func(t *testing.T, player string, index int, c1, c2, text string, elapsed int64) {
		var choice []string
		for _, c := range []string{c1, c2} {
			if c != "" {
				choice = append(choice, c)
			}
		}
		d := answerData{Player: player, Index: index, Choice: choice, Text: text, Elapsed: elapsed}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAnswerData(nil, &d); !bytes.Equal(got, want) {
			t.Fatalf("appendAnswerData(%+v)\n got %s\nwant %s", d, got, want)
		}
	})
}

// The index entries a question writes are encoded by hand exactly as
// encoding/json encodes them, for every index a room can have and beyond.
func TestEntryDataMatchesJSON(t *testing.T) {
	for _, i := range []int{0, 1, 9, 10, 99, 4999, -1, 1 << 40} {
		for _, d := range []any{questionData{Index: i}, indexData{Index: i}} {
			want, _ := json.Marshal(d)
			if got := entryData(d); string(got) != string(want) {
				t.Errorf("entryData(%#v) = %s, want %s", d, got, want)
			}
		}
	}
	if got := entryData(nil); got != nil {
		t.Errorf("entryData(nil) = %s, want nothing", got)
	}
	j := joinData{Player: "p1", Name: "名<字>", Team: "红"}
	want, _ := json.Marshal(j)
	if got := entryData(j); string(got) != string(want) {
		t.Errorf("entryData(join) = %s, want %s", got, want)
	}
}
