package web_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bombXLSX builds a workbook by hand whose sheet holds a header row and one
// cell of n bytes of "A": a few hundred KiB that inflate to n.
func bombXLSX(t *testing.T, n int) []byte {
	t.Helper()
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	const pkg = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, parts ...string) io.Writer {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			io.WriteString(w, p)
		}
		return w
	}
	put("[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`,
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`,
		`<Default Extension="xml" ContentType="application/xml"/>`,
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`,
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`)
	put("_rels/.rels", `<Relationships `+pkg+`><Relationship Id="rId1" Type="`+rel+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	put("xl/workbook.xml", `<workbook `+ns+` xmlns:r="`+rel+`"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	put("xl/_rels/workbook.xml.rels", `<Relationships `+pkg+`><Relationship Id="rId1" Type="`+rel+`/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`)
	w := put("xl/worksheets/sheet1.xml", `<worksheet `+ns+`><sheetData>`,
		`<row r="1"><c r="A1" t="inlineStr"><is><t>type</t></is></c><c r="B1" t="inlineStr"><is><t>text</t></is></c><c r="C1" t="inlineStr"><is><t>answer</t></is></c></row>`,
		`<row r="2"><c r="A2" t="inlineStr"><is><t>text</t></is></c><c r="B2" t="inlineStr"><is><t>`)
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for left := n; left > 0; left -= len(chunk) {
		w.Write(chunk[:min(left, len(chunk))])
	}
	io.WriteString(w, `</t></is></c><c r="C2" t="inlineStr"><is><t>a</t></is></c></row></sheetData></worksheet>`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportBombIsRefused: a workbook whose one cell inflates to 240 MiB
// (over the unzip limit) and one whose cell inflates to 60 MiB (under it),
// two of each at once, are refused with an error naming the limit and the
// row; the heap stays small and /healthz answers all the while.
func TestImportBombIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.orgToken()
	bombs := map[string][]byte{"240 MiB": bombXLSX(t, 240<<20), "60 MiB": bombXLSX(t, 60<<20)}
	for name, b := range bombs {
		t.Logf("%s bomb: %d KiB", name, len(b)>>10)
	}

	// Sample the heap while the imports run.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}()
	// Poll /healthz the while.
	var polls, failures atomic.Int64
	go func() {
		defer wg.Done()
		cl := &http.Client{Timeout: 30 * time.Second}
		for {
			select {
			case <-done:
				return
			default:
			}
			resp, err := cl.Get(h.url("/healthz"))
			polls.Add(1)
			if err != nil || resp.StatusCode != 200 {
				failures.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()

	type result struct {
		name string
		code int
		body string
	}
	results := make(chan result, 4)
	var imports sync.WaitGroup
	for name, b := range bombs {
		for range 2 {
			imports.Add(1)
			go func() {
				defer imports.Done()
				req, _ := http.NewRequest("POST", h.url("/api/v1/questionsets?format=xlsx&name=bomb"), bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				results <- result{name, resp.StatusCode, string(body)}
			}()
		}
	}
	imports.Wait()
	close(done)
	wg.Wait()
	close(results)

	refused := 0
	for r := range results {
		switch {
		case r.code == http.StatusTooManyRequests && strings.Contains(r.body, "rate_limited"):
		case r.code == http.StatusBadRequest && r.name == "240 MiB" && strings.Contains(r.body, "MaxUnzipSize"):
			refused++
		case r.code == http.StatusBadRequest && r.name == "60 MiB" && strings.Contains(r.body, "row 2") && strings.Contains(r.body, "MaxRowBytes"):
			refused++
		default:
			t.Errorf("%s bomb: %d %s", r.name, r.code, r.body)
		}
	}
	if refused == 0 {
		t.Errorf("no bomb was refused for its size")
	}
	grew := int64(peak) - int64(base)
	t.Logf("heap in use: %d MiB before, peak %d MiB; /healthz polled %d times", base>>20, peak>>20, polls.Load())
	if grew > 100<<20 {
		t.Errorf("the heap grew by %d MiB during the imports; want under 100 MiB", grew>>20)
	}
	if polls.Load() == 0 || failures.Load() > 0 {
		t.Errorf("/healthz: %d polls, %d failed", polls.Load(), failures.Load())
	}
	var sets []map[string]any
	if code := h.api("GET", "/api/v1/questionsets", tok, nil, &sets); code != 200 || len(sets) != 1 {
		t.Errorf("question sets after the bombs: %d %v (want only the bundled sample)", code, sets)
	}
}

// TestOneImportAtATime: while one import is running (its upload still
// coming in), a second is refused with 429 and rate_limited; once the first
// has finished the next import goes through.
//
// The probing second import holds the slot for as long as it takes to
// refuse its bad body, so it can win the slot from a first upload that
// arrives in that moment; the first is then refused at once (the server
// does not wait for the rest of a refused upload) and is started again.
func TestOneImportAtATime(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.orgToken()
	var pw *io.PipeWriter
	var first chan int
	startFirst := func() {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		first = make(chan int, 1)
		go func(done chan<- int) {
			req, _ := http.NewRequest("POST", h.url("/api/v1/questionsets?format=csv&name=slow"), pr)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}(first)
		io.WriteString(pw, "type,text,a,b,answer\n")
	}
	startFirst()
	csv := []byte("type,text,a,b,answer\nsingle,二加二等于几？,4,5,A\n")
	var out struct {
		Error struct{ Code, Message string }
	}
	restarts := 0
	waitFor(t, "the second import to be refused", func() bool {
		if h.api("POST", "/api/v1/questionsets?format=csv&name=second", tok, []byte("bad"), &out) == http.StatusTooManyRequests {
			return true
		}
		select {
		case code := <-first:
			if code != http.StatusTooManyRequests {
				t.Fatalf("the first import ended while its upload was open: %d", code)
			}
			pw.Close()
			restarts++
			startFirst()
		default:
		}
		return false
	})
	t.Logf("the first upload was started again %d times", restarts)
	if out.Error.Code != "rate_limited" || !strings.Contains(out.Error.Message, "another question bank is being imported") {
		t.Fatalf("refusal: %+v", out)
	}
	io.WriteString(pw, "single,一加一等于几？,2,3,A\n")
	pw.Close()
	if code := <-first; code != http.StatusCreated {
		t.Fatalf("the first import: %d", code)
	}
	var ok map[string]any
	if code := h.api("POST", "/api/v1/questionsets?format=csv&name=third", tok, csv, &ok); code != http.StatusCreated {
		t.Fatalf("an import after the first: %d %v", code, ok)
	}
}
