package names

import (
	"testing"

	"github.com/leitai/leitai/protocol"
)

func TestCheckName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"admin", "admin", true},
		{"  张三  ", "张三", true},
		{"小王 Wang", "小王 Wang", true},
		{"红　队", "红　队", true}, // ideographic space
		{"O'Brien-2", "O'Brien-2", true},
		{"🙂", "🙂", true},
		{"ad\u200bmin", "", false},             // zero-width space
		{"\u202eevil.exe", "", false},          // right-to-left override
		{"\u200b", "", false},                  // a blank name
		{"a\u200db", "", false},                // zero-width joiner
		{"a\u2066b\u2069", "", false},          // bidi isolates
		{"\ufeffname", "", false},              // byte-order mark
		{"a\u00adb", "", false},                // soft hyphen
		{"a\u2060b", "", false},                // word joiner
		{"\u3164", "", false},                  // Hangul filler
		{"\u2800", "", false},                  // blank Braille pattern
		{"a\u00a0b", "", false},                // no-break space
		{"a\u2028b", "", false},                // line separator
		{"a\tb", "", false},                    // tab
		{"a\x00b", "", false},                  // NUL
		{"a\x7fb", "", false},                  // DEL
		{"a\ue000b", "", false},                // private use
		{"a\ufe0fb", "", false},                // variation selector
		{"\u0301", "", false},                  // a lone combining mark shows nothing
		{"", "", false},                        // empty
		{"   ", "", false},                     // spaces only
		{string([]byte{0xff, 'a'}), "", false}, // not UTF-8
	}
	for _, c := range cases {
		got, err := Check(c.in, "a name", 32)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("Check(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
			continue
		}
		if err != nil {
			if e, ok := err.(*protocol.Error); !ok || e.Code != protocol.CodeBadRequest {
				t.Errorf("Check(%q): error %#v, want bad_request", c.in, err)
			}
		}
	}
}
