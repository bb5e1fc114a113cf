package org

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// RowError is one bad row of an imported file: its row number as a
// spreadsheet shows it (the header is row 1), the column at fault ("" for
// the whole row) and why.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, %s: %s", e.Row, e.Column, e.Message)
}

// ErrUnreadable is a file that is not a table at all.
var ErrUnreadable = errors.New("org: unreadable file")

// MaxFile bounds an imported file.
const MaxFile = 32 << 20

// row is one non-blank row with its spreadsheet row number.
type row struct {
	num   int
	cells []string
}

// readTable reads the rows of a CSV (comma, semicolon or tab separated,
// UTF-8 with or without BOM) or XLSX (first sheet) file. Cells are data:
// formulas are never evaluated.
func readTable(format string, r io.Reader) ([]row, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrUnreadable, MaxFile>>20)
	}
	switch format {
	case "csv":
		return readCSV(data)
	case "xlsx":
		return readXLSX(data)
	}
	return nil, fmt.Errorf("%w: format %q is not csv or xlsx", ErrUnreadable, format)
}

func readCSV(data []byte) ([]row, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%w: not UTF-8 text; save it as \"CSV UTF-8\"", ErrUnreadable)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr.Comma = ','
	for _, c := range []rune{';', '\t'} {
		if bytes.Count(first, []byte(string(c))) > bytes.Count(first, []byte(string(cr.Comma))) {
			cr.Comma = c
		}
	}
	cr.FieldsPerRecord = -1
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
		}
		line, _ := cr.FieldPos(0)
		if !blank(rec) {
			rows = append(rows, row{num: line, cells: rec})
		}
	}
	return rows, nil
}

func readXLSX(data []byte) ([]row, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: not an XLSX workbook: %v", ErrUnreadable, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%w: the workbook has no sheet", ErrUnreadable)
	}
	all, err := f.GetRows(sheets[0], excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	var rows []row
	for i, cells := range all {
		if !blank(cells) {
			rows = append(rows, row{num: i + 1, cells: cells})
		}
	}
	return rows, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// header maps the header row's names (lower-case, trimmed; aliases
// resolved) to column indexes. It reports unknown and missing columns.
func header(r row, aliases map[string]string, required []string) (map[string]int, []RowError) {
	col := map[string]int{}
	var errs []RowError
	for i, c := range r.cells {
		name := strings.ToLower(strings.TrimSpace(c))
		if name == "" {
			continue
		}
		canon, ok := aliases[name]
		if !ok {
			errs = append(errs, RowError{Row: r.num, Column: c, Message: "unknown column"})
			continue
		}
		if _, dup := col[canon]; dup {
			errs = append(errs, RowError{Row: r.num, Column: c, Message: "column given twice"})
			continue
		}
		col[canon] = i
	}
	for _, name := range required {
		if _, ok := col[name]; !ok {
			errs = append(errs, RowError{Row: r.num, Column: name, Message: "required column missing"})
		}
	}
	return col, errs
}

// cell returns the trimmed cell of a named column, "" if absent.
func cell(r row, col map[string]int, name string) string {
	i, ok := col[name]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return strings.TrimSpace(r.cells[i])
}
