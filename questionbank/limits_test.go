package questionbank

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// rawXLSX builds a minimal workbook by hand with archive/zip, so a test can
// put anything in its sheet: sheet writes the XML of the rows (inside
// <sheetData>), sst, if not nil, the items of the shared strings (inside
// <sst>). Both are streamed into the zip, so a sheet that inflates to
// hundreds of MiB costs a test only its compressed size in memory.
func rawXLSX(t testing.TB, sheet, sst func(w io.Writer)) []byte {
	t.Helper()
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	types := `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`
	wbRels := `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="` + rel + `/worksheet" Target="worksheets/sheet1.xml"/>`
	if sst != nil {
		types += `<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`
		wbRels += `<Relationship Id="rId2" Type="` + rel + `/sharedStrings" Target="sharedStrings.xml"/>`
	}
	parts := []struct {
		name string
		body func(w io.Writer)
	}{
		{"[Content_Types].xml", func(w io.Writer) { io.WriteString(w, types+`</Types>`) }},
		{"_rels/.rels", func(w io.Writer) {
			io.WriteString(w, `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
				`<Relationship Id="rId1" Type="`+rel+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
		}},
		{"xl/workbook.xml", func(w io.Writer) {
			io.WriteString(w, `<workbook `+ns+` xmlns:r="`+rel+`"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)
		}},
		{"xl/_rels/workbook.xml.rels", func(w io.Writer) { io.WriteString(w, wbRels+`</Relationships>`) }},
		{"xl/worksheets/sheet1.xml", func(w io.Writer) {
			io.WriteString(w, `<worksheet `+ns+`><sheetData>`)
			sheet(w)
			io.WriteString(w, `</sheetData></worksheet>`)
		}},
	}
	if sst != nil {
		parts = append(parts, struct {
			name string
			body func(w io.Writer)
		}{"xl/sharedStrings.xml", func(w io.Writer) {
			io.WriteString(w, `<sst `+ns+`>`)
			sst(w)
			io.WriteString(w, `</sst>`)
		}})
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		p.body(w)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inline writes one row of inline-string cells.
func inline(w io.Writer, row int, cells ...string) {
	fmt.Fprintf(w, `<row r="%d">`, row)
	for i, c := range cells {
		fmt.Fprintf(w, `<c r="%c%d" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, row, c)
	}
	io.WriteString(w, `</row>`)
}

// repeat writes n copies of b in chunks.
func repeat(w io.Writer, b byte, n int) {
	chunk := bytes.Repeat([]byte{b}, 1<<16)
	for n > 0 {
		k := min(n, len(chunk))
		w.Write(chunk[:k])
		n -= k
	}
}

var header = []string{"type", "text", "a", "b", "answer"}

// TestRawXLSXIsAWorkbook checks that rawXLSX makes a workbook the importer
// reads, so the limit tests below are refused for their size alone.
func TestRawXLSXIsAWorkbook(t *testing.T) {
	data := rawXLSX(t, func(w io.Writer) {
		inline(w, 1, header...)
		fmt.Fprintf(w, `<row r="2"><c r="A2" t="inlineStr"><is><t>single</t></is></c><c r="B2" t="s"><v>0</v></c>`+
			`<c r="C2" t="inlineStr"><is><t>yes</t></is></c><c r="D2" t="inlineStr"><is><t>no</t></is></c><c r="E2" t="inlineStr"><is><t>A</t></is></c></row>`)
	}, func(w io.Writer) { io.WriteString(w, `<si><t>Is this a question?</t></si>`) })
	qs, errs, err := ParseXLSX(bytes.NewReader(data))
	if err != nil || len(errs) > 0 || len(qs) != 1 || qs[0].Text != "Is this a question?" {
		t.Fatalf("qs %+v, errs %v, err %v", qs, errs, err)
	}
}

func TestImportLimits(t *testing.T) {
	big := strings.Repeat("x", MaxCellBytes+1)
	cases := []struct {
		name, format string
		data         []byte
		limit        string
		row          int
	}{
		{"xlsx: one cell inflating to 100 MiB", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			io.WriteString(w, `<row r="2"><c r="A2" t="inlineStr"><is><t>`)
			repeat(w, 'A', 100<<20)
			io.WriteString(w, `</t></is></c></row>`)
		}, nil), "MaxUnzipSize", 0},
		{"xlsx: one cell of 40 MiB", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			io.WriteString(w, `<row r="2"><c r="A2" t="inlineStr"><is><t>`)
			repeat(w, 'A', 40<<20)
			io.WriteString(w, `</t></is></c></row>`)
		}, nil), "MaxRowBytes", 2},
		{"xlsx: a row of many small cells", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			io.WriteString(w, `<row r="7">`)
			for i := 0; i < 20000; i++ {
				io.WriteString(w, `<c t="inlineStr"><is><t>abcdef</t></is></c>`)
			}
			io.WriteString(w, `</row>`)
		}, nil), "MaxRowBytes", 7},
		{"xlsx: one shared string of 40 MiB", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			io.WriteString(w, `<row r="2"><c r="A2" t="s"><v>0</v></c></row>`)
		}, func(w io.Writer) {
			io.WriteString(w, `<si><t>`)
			repeat(w, 'A', 40<<20)
			io.WriteString(w, `</t></si>`)
		}), "MaxRowBytes", 0},
		{"xlsx: a cell over MaxCellBytes", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			inline(w, 3, "single", big)
		}, nil), "MaxCellBytes", 3},
		{"xlsx: a big shared string in many cells", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			for r := 2; r < 1000; r++ {
				fmt.Fprintf(w, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>single</t></is></c>`, r, r)
				for c := 'B'; c <= 'P'; c++ {
					fmt.Fprintf(w, `<c r="%c%d" t="s"><v>0</v></c>`, c, r)
				}
				io.WriteString(w, `</row>`)
			}
		}, func(w io.Writer) {
			io.WriteString(w, `<si><t>`)
			repeat(w, 'A', 12<<10)
			io.WriteString(w, `</t></si>`)
		}), "MaxTableText", 184},
		{"xlsx: a row of too many cells", "xlsx", rawXLSX(t, func(w io.Writer) {
			inline(w, 1, header...)
			inline(w, 2, "single", "q", "a", "b", "A")
			fmt.Fprintf(w, `<row r="3"><c r="A3" t="inlineStr"><is><t>x</t></is></c><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>`)
		}, nil), "MaxColumns", 3},
		{"csv: a quoted field of 40 MiB", "csv", func() []byte {
			var b bytes.Buffer
			b.WriteString("type,text,answer\nsingle,q,A\ntext,\"")
			repeat(&b, 'A', 40<<20)
			b.WriteString("\",x\n")
			return b.Bytes()
		}(), "MaxRowBytes", 3},
		{"csv: a line of 40 MiB", "csv", func() []byte {
			var b bytes.Buffer
			b.WriteString("type,text,answer\n\n\ntext,")
			repeat(&b, 'A', 40<<20)
			return b.Bytes()
		}(), "MaxRowBytes", 4},
		{"csv: a cell over MaxCellBytes", "csv", []byte("type,text,answer\ntext,q,a\ntext," + big + ",a\n"), "MaxCellBytes", 3},
		{"json: a question of 40 MiB", "json", func() []byte {
			var b bytes.Buffer
			b.WriteString(`[{"type":"text","text":"q","answer":"a"},{"type":"text","answer":"a","text":"`)
			repeat(&b, 'A', 40<<20)
			b.WriteString(`"}]`)
			return b.Bytes()
		}(), "MaxRowBytes", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := Parse(c.format, bytes.NewReader(c.data), nil)
			runtime.ReadMemStats(&after)
			var le *LimitError
			if !errors.As(err, &le) || !errors.Is(err, ErrOverLimit) || le.Limit != c.limit || le.Row != c.row {
				t.Fatalf("err = %v (%#v); want limit %s at row %d", err, le, c.limit, c.row)
			}
			if !strings.Contains(err.Error(), c.limit) {
				t.Errorf("the message does not name the limit: %v", err)
			}
			t.Logf("%s: %v; allocated %d KiB", c.name, err, (after.TotalAlloc-before.TotalAlloc)>>10)
		})
	}
}
