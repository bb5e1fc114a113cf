package questionbank

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// punctuation maps CJK punctuation that has no full-width ASCII twin (and so
// survives width folding) to its ASCII look-alike, so "《红楼梦》" and
// "<红楼梦>" or a curly and a straight quote compare equal.
var punctuation = strings.NewReplacer(
	"。", ".", "、", ",", "·", ".", "・", ".",
	"“", `"`, "”", `"`, "„", `"`, "‘", "'", "’", "'",
	"「", `"`, "」", `"`, "『", `"`, "』", `"`,
	"《", "<", "》", ">", "〈", "<", "〉", ">",
	"【", "[", "】", "]", "〔", "(", "〕", ")",
	"—", "-", "–", "-", "‐", "-", "−", "-",
	"…", "...", "～", "~",
)

// Fold reduces a free-text answer to the form in which two answers that a
// person would call the same are equal: full-width letters, digits and
// punctuation become half-width, CJK punctuation becomes its ASCII
// look-alike, accents are composed (NFC), letters are lower-cased and every
// space (ideographic space U+3000 included) and invisible format character
// (zero-width space, BOM) is removed.
func Fold(s string) string {
	if widthFolds(s) {
		s = width.Fold.String(s)
	}
	s = norm.NFC.String(s)
	s = punctuation.Replace(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// widthFolds reports whether width folding would change s. Most answers
// have nothing to fold, and the transformer allocates its buffers on every
// call, once per answer checked.
func widthFolds(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && width.LookupRune(r).Folded() != 0 {
			return true
		}
	}
	return false
}

// normKey puts a key sent by a client in the form keys are stored in.
func normKey(k string) string { return strings.ToUpper(strings.TrimSpace(k)) }

// ValidChoice reports whether choice could be an answer to q at all: every
// key names an option of q, and there are no more keys than options. An
// empty choice is valid (the player gave none). A text question accepts no
// keys. A server answers bad_request when this is false, and otherwise
// scores the answer with Check.
func (q *Question) ValidChoice(choice []string) bool {
	if len(choice) > len(q.Options) {
		return false
	}
	for _, k := range choice {
		if !slices.ContainsFunc(q.Options, func(o Option) bool { return o.Key == normKey(k) }) {
			return false
		}
	}
	return true
}

// Check reports whether an answer is correct. A single or truefalse
// question wants exactly its one key; a multi question wants exactly its set
// of keys, in any order, repeats ignored. A text question compares Fold(text)
// with Fold of every accepted answer; choice is ignored for it, as text is
// for the others. Keys are compared case-insensitively.
func (q *Question) Check(choice []string, text string) bool {
	switch q.Type {
	case Single, TrueFalse, Multi:
		got := make([]string, 0, len(choice))
		for _, k := range choice {
			if k = normKey(k); !slices.Contains(got, k) {
				got = append(got, k)
			}
		}
		if len(got) == 0 || len(got) != len(q.Answer) || (q.Type != Multi && len(got) != 1) {
			return false
		}
		for _, k := range got {
			if !slices.Contains(q.Answer, k) {
				return false
			}
		}
		return true
	case Text:
		f := Fold(text)
		if f == "" {
			return false
		}
		for _, a := range q.Answer {
			if Fold(a) == f {
				return true
			}
		}
	}
	return false
}
