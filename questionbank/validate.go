package questionbank

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a question. Lengths count runes, not bytes, so a Chinese
// question gets as many characters as an English one.
const (
	MaxTextLen        = 1000 // question text
	MaxOptionLen      = 200  // one option's text
	MaxExplanationLen = 2000 // explanation shown at the reveal
	MaxAnswerLen      = 200  // one accepted answer of a text question
	MaxAnswers        = 20   // accepted answers of a text question
	MaxCategoryLen    = 100
	MaxIDLen          = 64
	MinOptions        = 2 // of a single or multi question
	MaxOptions        = 6 // keys A..F
	MaxWeight         = 10
	DefaultDifficulty = 2
	DefaultLang       = "zh"
)

// FieldError is one problem with one field of a question. Field names follow
// the JSON names of Question; a single option is named "options.<key>".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Reason and Params name the problem for pages that show it in their
	// own language (see reasons.go); Message is the English text.
	Reason string `json:"reason,omitempty"`
	Params []any  `json:"params,omitempty"`
}

// Error returns "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// typeAliases maps the spellings accepted on import, after lower-casing, to
// a type. Spreadsheets written in Chinese tend to say 单选/多选/判断/填空.
var typeAliases = map[string]Type{
	"single": Single, "single_choice": Single, "radio": Single, "单选": Single, "单选题": Single,
	"multi": Multi, "multiple": Multi, "multiple_choice": Multi, "多选": Multi, "多选题": Multi,
	"truefalse": TrueFalse, "true_false": TrueFalse, "tf": TrueFalse, "judge": TrueFalse,
	"判断": TrueFalse, "判断题": TrueFalse,
	"text": Text, "fill": Text, "blank": Text, "填空": Text, "填空题": Text,
}

// parseType returns the type a cell names, or false.
func parseType(s string) (Type, bool) {
	t, ok := typeAliases[strings.ToLower(strings.TrimSpace(s))]
	return t, ok
}

// parseTF maps the many ways people write true and false to "T" or "F".
func parseTF(s string) (string, bool) {
	switch Fold(s) {
	case "t", "true", "对", "正确", "√", "✓", "✔", "yes", "y", "是":
		return "T", true
	case "f", "false", "错", "错误", "×", "✗", "✘", "no", "n", "否":
		return "F", true
	}
	return "", false
}

// trueFalseText is the option text filled in when a true/false question
// comes without options, by language.
var trueFalseText = map[string][2]string{
	"zh": {"正确", "错误"},
	"en": {"True", "False"},
}

// stableID derives an id from what a question is, so importing the same
// file twice yields the same ids instead of duplicates.
func stableID(t Type, text string) string {
	sum := sha256.Sum256([]byte(string(t) + "\x00" + text))
	return "q-" + hex.EncodeToString(sum[:6])
}

// Normalize puts q in canonical form, in place: it trims every string,
// resolves type aliases (单选, tf, …), upper-cases option keys and sorts
// choice options by key, maps true/false answers such as 对 or yes to T/F and
// fills the T/F options when they are missing, sets an unset language to
// "zh" and an unset difficulty to 2, drops empty and duplicate answers, and
// derives an id from type and text when the id is empty. It never makes a
// bad question good; Validate says what is still wrong. Normalize is
// idempotent.
func (q *Question) Normalize() {
	q.ID = strings.TrimSpace(q.ID)
	if t, ok := parseType(string(q.Type)); ok {
		q.Type = t
	} else {
		q.Type = Type(strings.TrimSpace(string(q.Type)))
	}
	q.Text = strings.TrimSpace(q.Text)
	q.Category = strings.TrimSpace(q.Category)
	q.Explanation = strings.TrimSpace(q.Explanation)
	q.Lang = normLang(q.Lang)
	if q.Difficulty == 0 {
		q.Difficulty = DefaultDifficulty
	}

	var opts []Option
	for _, o := range q.Options {
		opts = append(opts, Option{Key: strings.ToUpper(strings.TrimSpace(o.Key)), Text: strings.TrimSpace(o.Text)})
	}
	q.Options = opts

	var answers []string
	for _, a := range q.Answer {
		a = strings.TrimSpace(a)
		switch q.Type {
		case Single, Multi:
			a = strings.ToUpper(a)
		case TrueFalse:
			if tf, ok := parseTF(a); ok {
				a = tf
			}
		}
		if a != "" && !slices.Contains(answers, a) {
			answers = append(answers, a)
		}
	}
	q.Answer = answers

	switch q.Type {
	case Single, Multi:
		slices.SortStableFunc(q.Options, func(a, b Option) int { return strings.Compare(a.Key, b.Key) })
		slices.Sort(q.Answer)
	case TrueFalse:
		q.normalizeTrueFalseOptions()
	}
	if q.ID == "" && q.Text != "" {
		q.ID = stableID(q.Type, q.Text)
	}
}

// normalizeTrueFalseOptions fills in missing options and puts T before F.
func (q *Question) normalizeTrueFalseOptions() {
	if len(q.Options) == 0 {
		texts, ok := trueFalseText[q.Lang]
		if !ok {
			texts = trueFalseText[DefaultLang]
		}
		q.Options = []Option{{Key: "T", Text: texts[0]}, {Key: "F", Text: texts[1]}}
		return
	}
	for i, o := range q.Options {
		if k, ok := parseTF(o.Key); ok {
			q.Options[i].Key = k
		}
	}
	if len(q.Options) == 2 && q.Options[0].Key == "F" && q.Options[1].Key == "T" {
		q.Options[0], q.Options[1] = q.Options[1], q.Options[0]
	}
}

// normLang folds the usual language tags to "zh" or "en"; empty means zh.
func normLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return DefaultLang
	case s == "zh" || strings.HasPrefix(s, "zh-") || strings.HasPrefix(s, "zh_") || s == "cn" || s == "中文":
		return "zh"
	case s == "en" || strings.HasPrefix(s, "en-") || strings.HasPrefix(s, "en_") || s == "english":
		return "en"
	}
	return s
}

// Validate reports every problem with q, or nil when q is fit to be played.
// It does not change q; call Normalize first for imported data, since
// Validate expects canonical keys and T/F answers. Every string is treated
// as plain data: nothing is interpreted or evaluated.
func (q *Question) Validate() []FieldError {
	var v validator
	v.checkID(q.ID)
	switch q.Type {
	case Single, Multi, TrueFalse, Text:
	case "":
		v.add("type", "is empty; use single, multi, truefalse or text")
	default:
		v.add("type", "%q is not a known type; use single, multi, truefalse or text", clip(string(q.Type)))
	}
	v.checkString("text", q.Text, MaxTextLen, true)
	v.checkString("category", q.Category, MaxCategoryLen, false)
	v.checkString("explanation", q.Explanation, MaxExplanationLen, false)
	if q.Difficulty < 0 || q.Difficulty > 3 {
		v.add("difficulty", "%d is out of range; use 1 (easy), 2 (medium), 3 (hard) or leave it empty", q.Difficulty)
	}
	switch {
	case math.IsNaN(q.Weight) || math.IsInf(q.Weight, 0):
		v.add("weight", "is not a number")
	case q.Weight < 0 || q.Weight > MaxWeight:
		v.add("weight", "%g is out of range; use 0 to %d (0 means 1)", q.Weight, MaxWeight)
	}
	if q.Lang != "" && q.Lang != "zh" && q.Lang != "en" {
		v.add("lang", "%q is not supported; use zh or en", clip(q.Lang))
	}
	switch q.Type {
	case Single, Multi:
		v.checkChoice(q)
	case TrueFalse:
		v.checkTrueFalse(q)
	case Text:
		v.checkText(q)
	}
	return v.errs
}

// validator collects field errors.
type validator struct{ errs []FieldError }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, fieldError(field, format, args...))
}

// checkString checks encoding, presence and length of a free-text field.
func (v *validator) checkString(field, s string, limit int, required bool) bool {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		v.add(field, "is not valid UTF-8 text")
	case required && strings.TrimSpace(s) == "":
		v.add(field, "is empty")
	case n > limit:
		v.add(field, "is too long (%d characters, at most %d)", n, limit)
	default:
		return true
	}
	return false
}

func (v *validator) checkID(id string) {
	switch {
	case id == "":
		v.add("id", "is empty")
	case !utf8.ValidString(id):
		v.add("id", "is not valid UTF-8 text")
	case utf8.RuneCountInString(id) > MaxIDLen:
		v.add("id", "is too long (at most %d characters)", MaxIDLen)
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		v.add("id", "must not contain spaces or control characters")
	}
}

func (v *validator) checkChoice(q *Question) {
	if n := len(q.Options); n < MinOptions || n > MaxOptions {
		v.add("options", "a %s question needs %d to %d options, got %d", q.Type, MinOptions, MaxOptions, n)
	}
	keys := make(map[string]bool, len(q.Options))
	for i, o := range q.Options {
		field := optionField(i, o.Key)
		switch {
		case len(o.Key) != 1 || o.Key[0] < 'A' || o.Key[0] > 'F':
			v.add(field, "key %q is not one of A to F", clip(o.Key))
		case keys[o.Key]:
			v.add(field, "key %s is used twice", o.Key)
		}
		keys[o.Key] = true
		v.checkString(field, o.Text, MaxOptionLen, true)
	}
	// Keys run from A without gaps, so a player never sees A, B, D.
	for k := byte('A'); k <= 'F' && len(keys) > 0; k++ {
		if !keys[string(k)] {
			for later := k + 1; later <= 'F'; later++ {
				if keys[string(later)] {
					v.add("options."+string(k), "option %c is missing but option %c is given", k, later)
					break
				}
			}
		}
	}
	switch {
	case len(q.Answer) == 0:
		v.add("answer", "is empty; give the key of the correct option")
	case q.Type == Single && len(q.Answer) != 1:
		v.add("answer", "a single question has exactly one correct option, got %d (%s)", len(q.Answer), clip(strings.Join(q.Answer, ",")))
	}
	v.checkAnswerKeys(q, keys)
}

// checkAnswerKeys checks that every answer names an option, once.
func (v *validator) checkAnswerKeys(q *Question, keys map[string]bool) {
	seen := make(map[string]bool, len(q.Answer))
	for _, a := range q.Answer {
		switch {
		case !keys[a]:
			v.add("answer", "%q is not the key of an option (%s)", clip(a), strings.Join(optionKeys(q), ", "))
		case seen[a]:
			v.add("answer", "%s is given twice", a)
		}
		seen[a] = true
	}
}

func (v *validator) checkTrueFalse(q *Question) {
	if len(q.Options) != 2 || q.Options[0].Key != "T" || q.Options[1].Key != "F" {
		v.add("options", "a truefalse question has exactly the options T and F, in that order")
	}
	for i, o := range q.Options {
		v.checkString(optionField(i, o.Key), o.Text, MaxOptionLen, true)
	}
	if len(q.Answer) != 1 {
		v.add("answer", "a truefalse question has exactly one answer, T or F; got %d", len(q.Answer))
	}
	v.checkAnswerKeys(q, map[string]bool{"T": true, "F": true})
}

func (v *validator) checkText(q *Question) {
	if len(q.Options) > 0 {
		v.add("options", "a text question takes no options")
	}
	switch n := len(q.Answer); {
	case n == 0:
		v.add("answer", "is empty; give at least one accepted answer")
	case n > MaxAnswers:
		v.add("answer", "has %d accepted answers, at most %d", n, MaxAnswers)
	}
	for _, a := range q.Answer {
		if v.checkString("answer", a, MaxAnswerLen, true) && Fold(a) == "" {
			v.add("answer", "%q has nothing left to compare once spaces are removed", clip(a))
		}
	}
}

// optionField names the i-th option in errors.
func optionField(i int, key string) string {
	if key == "" || !utf8.ValidString(key) || len(key) > 8 {
		return fmt.Sprintf("options[%d]", i)
	}
	return "options." + key
}

func optionKeys(q *Question) []string {
	keys := make([]string, 0, len(q.Options))
	for _, o := range q.Options {
		keys = append(keys, o.Key)
	}
	return keys
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "…"
}
