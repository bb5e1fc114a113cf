package questionbank

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Import formats, as returned by FormatOf and accepted by Parse.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatXLSX = "xlsx"
)

// Import limits.
const (
	// MaxRows is the most questions one file may hold; a bigger file is
	// refused as a whole (ErrTooManyRows) rather than half imported.
	MaxRows = 50000
	// MaxFileSize is the most bytes read from one file (ErrTooLarge).
	MaxFileSize = 64 << 20
)

// Errors returned for input that cannot be imported at all. The caller
// answers them as a bad request; problems in single rows are RowErrors.
var (
	ErrUnknownFormat = errors.New("questionbank: unknown import format (use .csv, .json or .xlsx)")
	ErrUnreadable    = errors.New("questionbank: unreadable file")
	ErrTooLarge      = fmt.Errorf("questionbank: file is larger than %d MiB", MaxFileSize>>20)
	ErrTooManyRows   = fmt.Errorf("questionbank: file has more than %d questions; split it into smaller files", MaxRows)
)

// RowError is one problem with one row of an imported file. Row counts
// spreadsheet rows for CSV and XLSX (the header is row 1, so the number is
// the one a spreadsheet shows) and the 1-based position in the array for
// JSON. Field is a column name (CSV, XLSX) or a JSON field name.
type RowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
	// Reason and Params as in FieldError.
	Reason string `json:"reason,omitempty"`
	Params []any  `json:"params,omitempty"`
}

// Error returns "row N, field: message".
func (e RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, %s: %s", e.Row, e.Field, e.Message)
}

// FormatOf returns the import format of a file by its extension.
func FormatOf(filename string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(filename)); ext {
	case ".csv":
		return FormatCSV, nil
	case ".json":
		return FormatJSON, nil
	case ".xlsx":
		return FormatXLSX, nil
	default:
		return "", fmt.Errorf("%w: %q", ErrUnknownFormat, filepath.Base(filename))
	}
}

// Parse reads a question file in format (csv, json or xlsx, as FormatOf
// returns). It returns the questions of the good rows, normalised and
// validated, and a RowError for every problem in every bad row; a caller
// that imports all or nothing imports nothing when any RowError is
// returned. The error is for input that is not a file of the format at all.
// progress, if not nil, is called every 100 rows and once at the end with
// the rows done and the rows in all, for a progress bar on big files; it is
// called on the caller's goroutine.
func Parse(format string, r io.Reader, progress func(done, total int)) ([]Question, []RowError, error) {
	switch strings.TrimPrefix(strings.ToLower(format), ".") {
	case FormatCSV:
		return parseCSV(r, progress)
	case FormatJSON:
		return parseJSON(r, progress)
	case FormatXLSX:
		return parseXLSX(r, progress)
	default:
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownFormat, format)
	}
}

// readAll reads the whole input, up to MaxFileSize.
func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return data, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// textInput strips a UTF-8 byte order mark and refuses UTF-16 files, which
// some spreadsheet programs write when asked for "Unicode text".
func textInput(data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, fmt.Errorf("%w: the file is UTF-16; save it as UTF-8", ErrUnreadable)
	}
	return bytes.TrimPrefix(data, utf8BOM), nil
}

// importer collects the questions and row errors of one file and reports
// progress.
type importer struct {
	progress func(done, total int)
	total    int
	done     int
	qs       []Question
	errs     []RowError
	ids      map[string]int // question id -> row that first used it
}

func newImporter(total int, progress func(done, total int)) *importer {
	return &importer{progress: progress, total: total, ids: make(map[string]int, total)}
}

func (im *importer) fail(row int, field, format string, args ...any) {
	fe := fieldError(field, format, args...)
	im.errs = append(im.errs, RowError{Row: row, Field: field, Message: fe.Message, Reason: fe.Reason, Params: fe.Params})
}

// finish normalises and validates q, read from row with parse problems
// already found in bad; fieldName maps a Validate field to the file's own
// name for it. The question is kept only when the row is clean.
func (im *importer) finish(row int, q Question, bad []FieldError, fieldName func(*Question, string) string) {
	generated := strings.TrimSpace(q.ID) == ""
	q.Normalize()
	for _, fe := range q.Validate() {
		// No id and no text: the text error says it all, since the id
		// would have been derived from the text.
		if generated && fe.Field == "id" && q.ID == "" {
			continue
		}
		bad = append(bad, fe)
	}
	for _, fe := range bad {
		im.errs = append(im.errs, RowError{Row: row, Field: fieldName(&q, fe.Field), Message: fe.Message, Reason: fe.Reason, Params: fe.Params})
	}
	ok := len(bad) == 0
	if first, dup := im.ids[q.ID]; dup && q.ID != "" {
		ok = false
		if generated {
			im.fail(row, "text", "the same question (same type and text) is already on row %d", first)
		} else {
			im.fail(row, "id", "question id %q is already used on row %d", clip(q.ID), first)
		}
	} else if q.ID != "" {
		im.ids[q.ID] = row
	}
	if ok {
		im.qs = append(im.qs, q)
	}
	im.step()
}

// step counts a row done and reports progress every 100 rows.
func (im *importer) step() {
	im.done++
	if im.progress != nil && im.done%100 == 0 && im.done < im.total {
		im.progress(im.done, im.total)
	}
}

// result reports the final progress and hands back what was collected.
func (im *importer) result() ([]Question, []RowError, error) {
	if im.progress != nil {
		im.progress(im.total, im.total)
	}
	if len(im.errs) > 0 {
		return im.qs, im.errs, nil
	}
	return im.qs, nil, nil
}

// splitKeys splits a choice answer cell such as "B", "AC", "A,C", "A|C" or
// "ＡＣ" into keys.
func splitKeys(s string) []string {
	s = strings.ToUpper(Fold(s))
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(",|;/、，", r) })
	if len(parts) == 1 && isLetters(parts[0]) {
		parts = strings.Split(parts[0], "")
	}
	return parts
}

func isLetters(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// splitAnswer turns an answer cell into the answers of a question of type t:
// keys for a choice question, "|"-separated accepted answers for a text
// question, the cell itself otherwise.
func splitAnswer(t Type, s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	switch t {
	case Single, Multi:
		return splitKeys(s)
	case Text:
		return strings.Split(s, "|")
	default:
		return []string{s}
	}
}

// difficultyWords are the words accepted for a difficulty besides 1–3.
var difficultyWords = map[string]int{
	"easy": 1, "medium": 2, "hard": 3, "简单": 1, "易": 1, "中等": 2, "中": 2, "困难": 3, "难": 3,
}

// parseDifficulty reads a difficulty cell; empty means unset (0).
func parseDifficulty(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "":
		return 0, true
	case "0", "1", "2", "3":
		return int(s[0] - '0'), true
	case "1.0", "2.0", "3.0":
		return int(s[0] - '0'), true
	}
	d, ok := difficultyWords[s]
	return d, ok
}
