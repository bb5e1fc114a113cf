package questionbank

import (
	"bytes"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// maxUnzipSize bounds what an .xlsx may inflate to, so a small zip bomb is
// refused instead of filling memory or disk.
const maxUnzipSize = 256 << 20

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
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipSize})
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
	for n := 1; it.Next(); n++ {
		cells, err := it.Columns()
		if err != nil {
			return nil, fmt.Errorf("%w: sheet %q row %d: %v", ErrUnreadable, sheets[0], n, err)
		}
		if isBlank(cells) {
			continue
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
