package questionbank

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ParseJSON reads questions from JSON: an array of question objects with the
// fields of Question, or an object {"name": …, "questions": […]}. Beyond the
// plain model it accepts options given as strings (keyed A, B, C… in order,
// or T and F for a truefalse question), an answer given as one string (read
// as a CSV answer cell is: "AC", "A,C", "北京|北京市") or as a boolean for a
// truefalse question, and numbers where strings are expected (an id of 17,
// an answer of 1949). A field the model does not have is a row error, so a
// misspelt field is never silently dropped. Row numbers are 1-based
// positions in the array. See Parse for how results and errors are returned.
func ParseJSON(r io.Reader) ([]Question, []RowError, error) {
	return parseJSON(r, nil)
}

func parseJSON(r io.Reader, progress func(done, total int)) ([]Question, []RowError, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, err
	}
	if data, err = textInput(data); err != nil {
		return nil, nil, err
	}
	items, err := jsonItems(data)
	if err != nil {
		return nil, nil, err
	}
	if len(items) > MaxRows {
		return nil, nil, ErrTooManyRows
	}
	for i, raw := range items {
		if len(raw) > MaxRowBytes {
			return nil, nil, &LimitError{Limit: "MaxRowBytes", Max: MaxRowBytes, Row: i + 1, What: "a question object"}
		}
	}
	im := newImporter(len(items), progress)
	for i, raw := range items {
		q, bad, ok := decodeQuestion(raw)
		if !ok {
			im.errs = append(im.errs, RowError{Row: i + 1, Message: bad[0].Message, Reason: bad[0].Reason})
			im.step()
			continue
		}
		im.finish(i+1, q, bad, func(_ *Question, field string) string { return field })
	}
	return im.result()
}

// jsonItems returns the question objects of a file, still undecoded.
func jsonItems(data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var items []json.RawMessage
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, jsonError(data, err)
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var set struct {
			Questions *[]json.RawMessage `json:"questions"`
		}
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, jsonError(data, err)
		}
		if set.Questions == nil {
			return nil, fmt.Errorf("%w: the JSON object has no \"questions\" array", ErrUnreadable)
		}
		items = *set.Questions
	default:
		return nil, fmt.Errorf("%w: expected a JSON array of questions or an object with a \"questions\" array", ErrUnreadable)
	}
	return items, nil
}

// jsonError words a decoding error with the line and column it occurred at.
func jsonError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &syntax):
		off = syntax.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("%w: invalid JSON: %v", ErrUnreadable, err)
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("%w: invalid JSON at line %d, column %d: %v", ErrUnreadable, line, col, err)
}

// decodeQuestion reads one array element. ok is false when the element is
// not an object at all; bad then holds just the reason.
func decodeQuestion(raw json.RawMessage) (q Question, bad []FieldError, ok bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return q, []FieldError{fieldError("", "must be a JSON object with the fields of a question")}, false
	}
	fail := func(field, format string, args ...any) {
		bad = append(bad, fieldError(field, format, args...))
	}
	str := func(field string, v json.RawMessage) string {
		s, ok := jsonScalar(v)
		if !ok {
			fail(field, "must be a string")
		}
		return s
	}
	var options, answer json.RawMessage
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		switch f := strings.ToLower(k); f {
		case "id":
			q.ID = str(f, v)
		case "type":
			q.Type = Type(str(f, v))
		case "text":
			q.Text = str(f, v)
		case "category":
			q.Category = str(f, v)
		case "explanation":
			q.Explanation = str(f, v)
		case "lang":
			q.Lang = str(f, v)
		case "options":
			options = v
		case "answer":
			answer = v
		case "difficulty":
			s, _ := jsonScalar(v)
			d, ok := parseDifficulty(s)
			if !ok {
				fail(f, "%s is not a difficulty; use 1, 2 or 3 (easy, medium, hard) or leave it out", clip(string(v)))
			}
			q.Difficulty = d
		case "weight":
			s, _ := jsonScalar(v)
			w, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if s != "" && (err != nil || math.IsInf(w, 0)) {
				fail(f, "%s is not a number", clip(string(v)))
			}
			q.Weight = w
		default:
			fail(clip(k), "unknown field; the fields are id, type, text, options, answer, category, difficulty, explanation, weight, lang")
		}
	}
	typ, known := parseType(string(q.Type))
	if !known {
		typ = q.Type
	}
	q.Options = decodeOptions(typ, options, fail)
	q.Answer = decodeAnswer(typ, answer, fail)
	return q, bad, true
}

// jsonScalar returns a string, number or boolean as text, null as "".
func jsonScalar(v json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, true
	}
	t := string(bytes.TrimSpace(v))
	switch {
	case t == "null":
		return "", true
	case t == "true" || t == "false":
		return t, true
	case len(t) > 0 && (t[0] == '-' || t[0] >= '0' && t[0] <= '9') && json.Valid(v):
		return t, true
	}
	return "", false
}

// decodeOptions reads options as objects {"key","text"} or plain strings.
func decodeOptions(typ Type, v json.RawMessage, fail func(field, format string, args ...any)) []Option {
	if len(v) == 0 || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		fail("options", "must be an array of strings or of objects with key and text")
		return nil
	}
	opts := make([]Option, 0, len(items))
	for i, it := range items {
		if text, ok := jsonScalar(it); ok && string(bytes.TrimSpace(it)) != "null" {
			opts = append(opts, Option{Key: positionKey(typ, i), Text: text})
			continue
		}
		var o struct {
			Key  string `json:"key"`
			Text string `json:"text"`
		}
		dec := json.NewDecoder(bytes.NewReader(it))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			fail(fmt.Sprintf("options[%d]", i), "must be a string or an object with just key and text")
			continue
		}
		opts = append(opts, Option(o))
	}
	return opts
}

// positionKey is the key of the i-th option given as a plain string.
func positionKey(typ Type, i int) string {
	switch {
	case typ == TrueFalse && i < 2:
		return []string{"T", "F"}[i]
	case i < 26:
		return string(rune('A' + i))
	}
	return strconv.Itoa(i + 1)
}

// decodeAnswer reads an answer given as an array or as a single value.
func decodeAnswer(typ Type, v json.RawMessage, fail func(field, format string, args ...any)) []string {
	if len(v) == 0 {
		return nil
	}
	if s, ok := jsonScalar(v); ok {
		return splitAnswer(typ, s)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		fail("answer", "must be a string or an array of strings")
		return nil
	}
	answers := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := jsonScalar(it)
		if !ok {
			fail("answer", "must be a string or an array of strings")
			return nil
		}
		answers = append(answers, s)
	}
	return answers
}
