package questionbank

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// ParseXLSX reads questions from the first sheet of an Excel workbook laid
// out as for ParseCSV. Cells are read as the text the spreadsheet shows;
// formulas are never evaluated (a formula cell yields the value the
// spreadsheet saved with it). See Parse for how results and errors are
// returned.
func ParseXLSX(r io.Reader) ([]Question, []RowError, error) {
	return parseXLSX(r, nil)
}

func parseXLSX(r io.Reader, progress func(done, total int)) ([]Question, []RowError, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, err
	}
	if err := checkWorkbook(data); err != nil {
		return nil, nil, err
	}
	rows, err := readSheet(data)
	if err != nil {
		return nil, nil, err
	}
	qs, errs := parseTable(rows, progress)
	return qs, errs, nil
}

// readSheet returns the non-blank rows of the first sheet. A workbook can
// be damaged in more ways than the spreadsheet library checks, so a panic
// inside it is turned into ErrUnreadable rather than taking the server down.
func readSheet(data []byte) (rows []tableRow, err error) {
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("%w: the workbook is damaged", ErrUnreadable)
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: MaxUnzipSize, UnzipXMLSizeLimit: xmlInMemory})
	if err != nil {
		return nil, fmt.Errorf("%w: not an .xlsx workbook: %v", ErrUnreadable, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%w: the workbook has no sheets", ErrUnreadable)
	}
	it, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fmt.Errorf("%w: sheet %q: %v", ErrUnreadable, sheets[0], err)
	}
	defer it.Close()
	// Next yields every row in turn, empty ones too, so n is the row number
	// the spreadsheet shows.
	var text int64
	for n := 1; it.Next(); n++ {
		cells, err := it.Columns()
		if err != nil {
			return nil, fmt.Errorf("%w: sheet %q row %d: %v", ErrUnreadable, sheets[0], n, err)
		}
		if isBlank(cells) {
			continue
		}
		if cells, err = checkRow(n, cells, &text); err != nil {
			return nil, err
		}
		if len(rows) > MaxRows {
			return nil, ErrTooManyRows
		}
		rows = append(rows, tableRow{num: n, cells: cells})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("%w: sheet %q: %v", ErrUnreadable, sheets[0], err)
	}
	return rows, nil
}

// checkRow holds one row of a sheet to the cell, row and column limits and
// adds its text to *total, which MaxTableText bounds. Blank cells after the
// last one with text are dropped first.
func checkRow(n int, cells []string, total *int64) ([]string, error) {
	for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
		cells = cells[:len(cells)-1]
	}
	if len(cells) > MaxColumns {
		return nil, &LimitError{Limit: "MaxColumns", Max: MaxColumns, Row: n, What: fmt.Sprintf("the row has %d cells", len(cells))}
	}
	var row int64
	for i, c := range cells {
		if len(c) > MaxCellBytes {
			col, _ := excelize.ColumnNumberToName(i + 1)
			return nil, &LimitError{Limit: "MaxCellBytes", Max: MaxCellBytes, Row: n, Where: "column " + col, What: "a cell"}
		}
		row += int64(len(c))
	}
	if row > MaxRowBytes {
		return nil, &LimitError{Limit: "MaxRowBytes", Max: MaxRowBytes, Row: n, What: "the text of a row"}
	}
	if *total += row; *total > MaxTableText {
		return nil, &LimitError{Limit: "MaxTableText", Max: MaxTableText, Row: n, What: "the text of the sheet up to here"}
	}
	return cells, nil
}

// checkWorkbook looks through an .xlsx before the spreadsheet library opens
// it, so that a zip bomb is refused having cost little: the parts together
// may not inflate past MaxUnzipSize (archive/zip holds every part to the
// size its header states), the small parts the library reads whole may not
// pass maxSmallPart, and worksheets and the shared strings are read as a
// stream in which no row, shared string or XML token may pass MaxRowBytes.
// A file that is not a zip is left for the library to refuse.
func checkWorkbook(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if f.UncompressedSize64 > MaxUnzipSize || total > MaxUnzipSize {
			return &LimitError{Limit: "MaxUnzipSize", Max: MaxUnzipSize, Where: "part " + f.Name, What: "the unzipped workbook"}
		}
		name := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		switch {
		case strings.HasPrefix(name, "xl/worksheets/") && strings.HasSuffix(name, ".xml"):
			err = scanPart(f, "row")
		case name == "xl/sharedstrings.xml":
			err = scanPart(f, "si")
		case f.UncompressedSize64 > maxSmallPart && (strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels")):
			err = &LimitError{Limit: "maxSmallPart", Max: maxSmallPart, Where: "part " + f.Name, What: "the part"}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scanPart streams one XML part and refuses it if an element named unit
// (a sheet's row, a shared string) or any single token passes MaxRowBytes.
// Other damage is left for the spreadsheet library to report.
func scanPart(f *zip.File, unit string) error {
	rc, err := f.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	sr := &spanReader{r: rc, max: MaxRowBytes}
	dec := xml.NewDecoder(sr)
	start, in, count, row := int64(0), false, 0, 0
	over := func() error {
		e := &LimitError{Limit: "MaxRowBytes", Max: MaxRowBytes, Where: "part " + f.Name, What: "an XML element"}
		switch {
		case in && unit == "row":
			e.Row, e.What = row, "a row"
		case in:
			e.Where, e.What = fmt.Sprintf("part %s, shared string %d", f.Name, count), "a shared string"
		}
		return e
	}
	for {
		tok, err := dec.RawToken()
		if err != nil {
			if errors.Is(err, errSpan) || sr.over() {
				return over()
			}
			return nil
		}
		off := dec.InputOffset()
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == unit && !in {
				in, start = true, sr.mark
				count++
				row = count
				for _, a := range t.Attr {
					if a.Name.Local == "r" {
						if r, err := strconv.Atoi(a.Value); err == nil && r > 0 {
							row = r
						}
					}
				}
				count = max(count, row)
			}
		case xml.EndElement:
			if t.Name.Local == unit && in {
				in = false
			}
		}
		if in {
			if off-start > MaxRowBytes {
				return over()
			}
			sr.at(start)
		} else {
			sr.at(off)
		}
	}
}
