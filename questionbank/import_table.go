package questionbank

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tableColumns are the columns a CSV or XLSX file may have, lower-case.
var tableColumns = map[string]bool{
	"id": true, "type": true, "text": true, "answer": true,
	"a": true, "b": true, "c": true, "d": true, "e": true, "f": true,
	"category": true, "difficulty": true, "explanation": true, "weight": true, "lang": true,
}

const tableColumnList = "id, type, text, a, b, c, d, e, f, answer, category, difficulty, explanation, weight, lang"

// optionColumns name the option columns in key order.
const optionColumns = "abcdef"

// tableRow is one non-blank row of a sheet with its spreadsheet row number.
type tableRow struct {
	num   int
	cells []string
}

// ParseCSV reads questions from CSV text: a header row naming the columns
// (case-insensitive, in any order) and one question per row. See Parse for
// how results and errors are returned. Cells are plain data: "=1+1" is the
// text "=1+1".
func ParseCSV(r io.Reader) ([]Question, []RowError, error) {
	return parseCSV(r, nil)
}

func parseCSV(r io.Reader, progress func(done, total int)) ([]Question, []RowError, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, err
	}
	if data, err = textInput(data); err != nil {
		return nil, nil, err
	}
	if !utf8.Valid(data) {
		return nil, nil, fmt.Errorf("%w: the file is not UTF-8 text; save it as \"CSV UTF-8\"", ErrUnreadable)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, fmt.Errorf("%w: the file holds NUL bytes, so it is not CSV text", ErrUnreadable)
	}
	// sr keeps csv.Reader from buffering more than one record's worth of
	// MaxRowBytes, however long a quoted field runs.
	sr := &spanReader{r: bytes.NewReader(data), max: MaxRowBytes}
	cr := csv.NewReader(sr)
	cr.Comma = sniffComma(data)
	cr.FieldsPerRecord = -1
	var rows []tableRow
	var text int64
	// csv.Reader skips empty lines and lets a quoted cell span lines; a
	// spreadsheet shows an empty line as a row and a multi-line cell as one
	// row. extra counts the line breaks inside cells so far, to turn line
	// numbers into the row numbers a spreadsheet shows.
	extra := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil && (errors.Is(err, errSpan) || sr.over()) {
			at := sr.mark + int64(len(data[sr.mark:])-len(bytes.TrimLeft(data[sr.mark:], "\r\n")))
			line := bytes.Count(data[:at], []byte("\n")) + 1
			return nil, nil, &LimitError{Limit: "MaxRowBytes", Max: MaxRowBytes, Row: line - extra, What: "a row"}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
		}
		sr.at(cr.InputOffset())
		line, _ := cr.FieldPos(0)
		last := len(rec) - 1
		lastLine, _ := cr.FieldPos(last)
		num := line - extra
		extra += lastLine + strings.Count(rec[last], "\n") - line
		if isBlank(rec) {
			continue
		}
		if rec, err = checkRow(num, rec, &text); err != nil {
			return nil, nil, err
		}
		if len(rows) > MaxRows {
			return nil, nil, ErrTooManyRows
		}
		rows = append(rows, tableRow{num: num, cells: rec})
	}
	qs, errs := parseTable(rows, progress)
	return qs, errs, nil
}

// sniffComma picks the separator of the header line: comma, or semicolon or
// tab when those are what the header uses (as spreadsheets set to some
// locales write).
func sniffComma(data []byte) rune {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	best, n := ',', bytes.Count(line, []byte(","))
	for _, c := range []rune{';', '\t'} {
		if m := bytes.Count(line, []byte(string(c))); m > n {
			best, n = c, m
		}
	}
	return best
}

func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// parseTable turns the non-blank rows of a sheet, header first, into
// questions.
func parseTable(rows []tableRow, progress func(done, total int)) ([]Question, []RowError) {
	if len(rows) == 0 {
		return nil, []RowError{{Row: 1, Message: "the file is empty; the first row must name the columns (" + tableColumnList + ")", Reason: "file_empty"}}
	}
	header := rows[0]
	im := newImporter(len(rows)-1, progress)
	col := make(map[string]int)
	for i, cell := range header.cells {
		name := strings.TrimSpace(strings.TrimPrefix(cell, "\uFEFF"))
		key := strings.ToLower(name)
		switch _, dup := col[key]; {
		case name == "":
		case !tableColumns[key]:
			im.fail(header.num, clip(name), "unknown column %q; the columns are %s", clip(name), tableColumnList)
		case dup:
			im.fail(header.num, key, "column %q appears twice", key)
		default:
			col[key] = i
		}
	}
	for _, name := range []string{"type", "text", "answer"} {
		if _, ok := col[name]; !ok {
			im.fail(header.num, name, "the header has no %q column", name)
		}
	}
	if len(im.errs) > 0 {
		qs, errs, _ := im.result()
		return qs, errs
	}
	named := make(map[int]bool, len(col))
	for _, i := range col {
		named[i] = true
	}
	for _, row := range rows[1:] {
		im.tableRow(row, col, named)
	}
	qs, errs, _ := im.result()
	return qs, errs
}

// tableRow reads one data row into a question.
func (im *importer) tableRow(row tableRow, col map[string]int, named map[int]bool) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(row.cells) {
			return row.cells[i]
		}
		return ""
	}
	var bad []FieldError
	for i, c := range row.cells {
		if !named[i] && strings.TrimSpace(c) != "" {
			bad = append(bad, fieldError(fmt.Sprintf("column %d", i+1), "has a value but no name in the header row"))
		}
	}
	typ, ok := parseType(get("type"))
	if !ok {
		typ = Type(get("type"))
	}
	q := Question{
		ID:          get("id"),
		Type:        typ,
		Text:        get("text"),
		Answer:      splitAnswer(typ, get("answer")),
		Category:    get("category"),
		Explanation: get("explanation"),
		Lang:        get("lang"),
	}
	if d, ok := parseDifficulty(get("difficulty")); ok {
		q.Difficulty = d
	} else {
		bad = append(bad, fieldError("difficulty", "%q is not a difficulty; use 1, 2 or 3 (easy, medium, hard) or leave it empty", clip(get("difficulty"))))
	}
	if s := strings.TrimSpace(get("weight")); s != "" {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil {
			bad = append(bad, fieldError("weight", "%q is not a number", clip(s)))
		}
		q.Weight = w
	}
	for i, c := range optionColumns {
		name := string(c)
		text := get(name)
		if strings.TrimSpace(text) == "" {
			continue
		}
		switch {
		case typ == Text:
			bad = append(bad, fieldError(name, "a text question takes no options; leave columns a to f empty"))
		case typ == TrueFalse && i >= 2:
			bad = append(bad, fieldError(name, "a truefalse question uses only columns a (true) and b (false)"))
		case typ == TrueFalse:
			q.Options = []Option{{Key: "T", Text: get("a")}, {Key: "F", Text: get("b")}}
		default:
			q.Options = append(q.Options, Option{Key: strings.ToUpper(name), Text: text})
		}
	}
	im.finish(row.num, q, bad, tableField)
}

// tableField names a Validate field by its column: an option by its letter.
func tableField(q *Question, field string) string {
	key, ok := strings.CutPrefix(field, "options.")
	switch {
	case !ok:
		if strings.HasPrefix(field, "options[") {
			return "options"
		}
		return field
	case q.Type == TrueFalse && key == "T":
		return "a"
	case q.Type == TrueFalse && key == "F":
		return "b"
	case len(key) == 1 && key[0] >= 'A' && key[0] <= 'F':
		return strings.ToLower(key)
	}
	return "options"
}
