package questionbank

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// sampleFiles is the sample bank a first start loads: JSON files, each an
// array of questions.
//
//go:embed bank/*.json
var sampleFiles embed.FS

// Sample returns the bundled sample questions (Chinese and English), every
// file read through ParseJSON. It fails on any row error or on an id used
// twice across files, so a broken sample never ships quietly.
func Sample() ([]Question, error) {
	names, err := fs.Glob(sampleFiles, "bank/*.json")
	if err != nil {
		return nil, fmt.Errorf("questionbank: sample: %w", err)
	}
	var all []Question
	from := make(map[string]string) // question id -> file
	for _, name := range names {
		f, err := sampleFiles.Open(name)
		if err != nil {
			return nil, fmt.Errorf("questionbank: sample %s: %w", name, err)
		}
		qs, rowErrs, err := ParseJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("questionbank: sample %s: %w", name, err)
		}
		if len(rowErrs) > 0 {
			return nil, fmt.Errorf("questionbank: sample %s: %s", name, summarize(rowErrs))
		}
		for _, q := range qs {
			if other, dup := from[q.ID]; dup {
				return nil, fmt.Errorf("questionbank: sample %s: id %q is also used in %s", name, q.ID, other)
			}
			from[q.ID] = name
		}
		all = append(all, qs...)
	}
	return all, nil
}

// summarize words the first few row errors, with a count of the rest.
func summarize(errs []RowError) string {
	const show = 5
	var b strings.Builder
	for i, e := range errs {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(errs)-show)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
