package protocol

import (
	"unicode/utf8"
)

// DecodeAnswer reads an answer message in one pass, without reflection:
// the envelope's type and id and the data's room, index, choice and text.
// It takes only what it fully understands — the keys spelled exactly as
// above, each once; strings without escapes or control characters, in
// valid UTF-8; an index that is a plain integer; a choice that is a
// non-empty array of strings — and reports false for anything else, which
// the caller hands to Decode and DecodeData: those decide on unusual
// input, and give bad input its error. What it takes, Decode and
// DecodeData take alike, to the same fields (FuzzDecodeAnswer holds it to
// that).
//
// room, if not nil, may return a string equal to its argument that the
// caller already holds (the session's rooms), to spare a copy; it returns
// "" otherwise.
func DecodeAnswer(b []byte, room func([]byte) string) (id string, a Answer, ok bool) {
	d := answerReader{b: b}
	var typ, idb, roomb []byte
	var choice [8][]byte
	nChoice := -1 // -1: no choice key
	var text []byte
	hasText, hasIndex, hasData := false, false, false
	ok = d.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			if typ != nil {
				return false
			}
			typ = d.str()
			return typ != nil
		case "id":
			if idb != nil {
				return false
			}
			idb = d.str()
			return idb != nil && len(idb) <= MaxIDLen
		case "data":
			if hasData {
				return false
			}
			hasData = true
			return d.object(func(key []byte) bool {
				switch string(key) {
				case "room":
					if roomb != nil {
						return false
					}
					roomb = d.str()
					return roomb != nil
				case "index":
					if hasIndex {
						return false
					}
					hasIndex = true
					var ok bool
					a.Index, ok = d.integer()
					return ok
				case "choice":
					if nChoice >= 0 {
						return false
					}
					n, ok := d.strings(&choice)
					nChoice = n
					return ok && n > 0
				case "text":
					if hasText {
						return false
					}
					hasText = true
					text = d.str()
					return text != nil
				}
				return false
			})
		}
		return false
	})
	if !ok || !d.end() || string(typ) != "answer" || !hasData {
		return "", Answer{}, false
	}
	if idb != nil {
		id = string(idb)
	}
	if roomb != nil {
		if room != nil {
			a.Room = room(roomb)
		}
		if a.Room == "" {
			a.Room = string(roomb)
		}
	}
	if nChoice > 0 {
		a.Choice = make([]string, nChoice)
		for i := range nChoice {
			a.Choice[i] = string(choice[i]) // a one-byte key costs no copy
		}
	}
	if hasText {
		t := string(text)
		a.Text = &t
	}
	return id, a, true
}

// answerReader walks the bytes of a JSON message. Each method reports
// failure (false, nil) for anything DecodeAnswer leaves to encoding/json.
type answerReader struct {
	b []byte
	i int
}

func (d *answerReader) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and takes c if it comes next.
func (d *answerReader) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (d *answerReader) end() bool {
	d.space()
	return d.i == len(d.b)
}

// object reads {"key": value, …}, calling field for each key with the
// reader at its value; field reads the value and reports whether it could.
func (d *answerReader) object(field func(key []byte) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		key := d.str()
		if key == nil || !d.next(':') || !field(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// str reads a string with no escapes and no control characters, in valid
// UTF-8, and returns its bytes (not nil, even when empty); nil if the next
// value is anything else.
func (d *answerReader) str() []byte {
	if !d.next('"') {
		return nil
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil
			}
			return s
		case c == '\\' || c < 0x20:
			return nil
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return nil
}

// integer reads -?(0|[1-9][0-9]*), at most 18 digits: a number that fits
// an int as encoding/json would read it.
func (d *answerReader) integer() (int, bool) {
	d.space()
	neg := d.i < len(d.b) && d.b[d.i] == '-'
	if neg {
		d.i++
	}
	start := d.i
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		n = n*10 + int(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.b[start] == '0') {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// strings reads a non-empty array of at most len(out) strings into out.
func (d *answerReader) strings(out *[8][]byte) (int, bool) {
	if !d.next('[') {
		return 0, false
	}
	n := 0
	for {
		if n == len(out) {
			return n, false
		}
		s := d.str()
		if s == nil {
			return n, false
		}
		out[n] = s
		n++
		if d.next(']') {
			return n, true
		}
		if !d.next(',') {
			return n, false
		}
	}
}
