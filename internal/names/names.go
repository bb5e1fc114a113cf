// Package names checks the names people choose: nicknames, team names.
package names

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/leitai/leitai/protocol"
)

// invisible reports whether r would not show as itself in a name: control and
// format characters (zero-width spaces and joiners, bidirectional controls,
// the byte-order mark), private-use and surrogate code points, line and
// paragraph separators, spaces other than the plain and the ideographic one,
// and the fillers that render as nothing (Hangul fillers, the blank Braille
// pattern). Such a character lets one name pass for another ("ad\u200bmin"
// for "admin"), reverses the text around it, or makes a blank name.
func invisible(r rune) bool {
	switch {
	case r == ' ' || r == '\u3000':
		return false
	case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r),
		unicode.IsSpace(r), unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
		return true
	case r == '\u115F' || r == '\u1160' || r == '\u3164' || r == '\uFFA0' || r == '\u2800' || r == '\u034F':
		return true
	case unicode.In(r, unicode.Variation_Selector) || r == utf8.RuneError:
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return true // noncharacters
	}
	return false
}

// Check trims a display name and checks it: what names the field in the
// error ("a name", "team names"), max is its length in characters. A name
// must show at least one letter, digit, punctuation mark or symbol, and hold
// no invisible character.
func Check(name, what string, max int) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > max || !utf8.ValidString(name) {
		return "", protocol.Errorf(protocol.CodeBadRequest, "%s has 1 to %d characters", what, max).Because("name_length", map[string]any{"max": max})
	}
	visible := false
	for _, r := range name {
		if invisible(r) {
			return "", protocol.Errorf(protocol.CodeBadRequest, "%s may not contain invisible or control characters (U+%04X)", what, r).Because("name_chars", nil)
		}
		if unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) {
			visible = true
		}
	}
	if !visible {
		return "", protocol.Errorf(protocol.CodeBadRequest, "%s must show at least one letter, digit or symbol", what).Because("name_chars", nil)
	}
	return name, nil
}

// Clean checks a nickname: 1–32 characters, visible (see Check), no
// blocked word.
func Clean(name string, blocked []string) (string, error) {
	name, err := Check(name, "a name", 32)
	if err != nil {
		return "", err
	}
	low := strings.ToLower(name)
	for _, w := range blocked {
		if w != "" && strings.Contains(low, strings.ToLower(w)) {
			return "", protocol.Errorf(protocol.CodeBadRequest, "that name is not allowed").Because("name_blocked", nil)
		}
	}
	return name, nil
}
