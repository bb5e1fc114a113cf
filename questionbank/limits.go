package questionbank

import (
	"errors"
	"fmt"
	"io"
)

// Limits on what one imported file may inflate to and hold in memory. A file
// over any of them is refused as a whole, as early as it is seen, with a
// *LimitError naming the limit and the row; nothing is imported.
const (
	// MaxCellBytes is the most bytes of text in one cell (CSV field, XLSX
	// cell). The longest field a question may have (an explanation of 2,000
	// characters) fits several times over.
	MaxCellBytes = 16 << 10
	// MaxRowBytes is the most bytes one row may take: a CSV record as
	// written, an XLSX row's XML, the text of all the cells of a row, one
	// JSON question object.
	MaxRowBytes = 256 << 10
	// MaxColumns is the most cells one row may have.
	MaxColumns = 64
	// MaxUnzipSize is the most an .xlsx may inflate to, all its parts
	// together (pictures too).
	MaxUnzipSize = 64 << 20
	// MaxTableText is the most text all the cells of a sheet may hold
	// together; it stops a sheet whose many cells repeat one big shared
	// string.
	MaxTableText = 32 << 20
	// maxSmallPart bounds each part of an .xlsx that is not a worksheet or
	// the shared strings (workbook, styles, relationships), which the
	// spreadsheet library reads into memory whole.
	maxSmallPart = 4 << 20
	// xmlInMemory is the size above which a worksheet or the shared strings
	// are unzipped to a temporary file and read from there.
	xmlInMemory = 4 << 20
)

// ErrOverLimit is wrapped by every *LimitError.
var ErrOverLimit = errors.New("questionbank: file over an import limit")

// LimitError says which limit a file broke and where.
type LimitError struct {
	Limit string // the limit's name, e.g. "MaxCellBytes"
	Max   int64  // its value: bytes, or cells for MaxColumns
	Row   int    // the row (spreadsheet row, or position in a JSON array); 0 if none applies
	Where string // more about the place: "column 3", "part xl/styles.xml"
	What  string // what was too big, e.g. "a cell"
}

func (e *LimitError) Error() string {
	at := ""
	if e.Row > 0 {
		at = fmt.Sprintf("row %d: ", e.Row)
	}
	if e.Where != "" {
		at += e.Where + ": "
	}
	if e.Limit == "MaxColumns" {
		return fmt.Sprintf("%s%s: more than %d (import limit %s); nothing was imported", at, e.What, e.Max, e.Limit)
	}
	return fmt.Sprintf("%s%s is larger than %s (import limit %s); nothing was imported", at, e.What, size(e.Max), e.Limit)
}

func (e *LimitError) Unwrap() error { return ErrOverLimit }

// size writes a byte count as KiB or MiB.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// errSpan is returned by a spanReader when one span grows past its limit.
var errSpan = errors.New("questionbank: span over its limit")

// spanReader hands its reader's bytes to a parser (csv.Reader, xml.Decoder)
// while the parser's current unit (a record, a token) stays under max bytes:
// the caller marks where each unit ends (the parser's InputOffset), and a
// read that would take the open unit past max fails with errSpan. So a
// parser never buffers more than max plus one read of a single huge field.
type spanReader struct {
	r    io.Reader
	max  int64
	read int64 // bytes handed out
	mark int64 // offset where the open unit began
}

func (s *spanReader) Read(p []byte) (int, error) {
	room := s.mark + s.max + 1 - s.read
	if room <= 0 {
		return 0, errSpan
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := s.r.Read(p)
	s.read += int64(n)
	return n, err
}

// at marks the start of the next unit.
func (s *spanReader) at(offset int64) { s.mark = offset }

// over reports whether the open unit has passed max bytes.
func (s *spanReader) over() bool { return s.read-s.mark > s.max }
