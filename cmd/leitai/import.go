package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// importCmd imports a question bank file into the data directory's store,
// or the PostgreSQL database given by --db.
func importCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	data := fs.String("data", env("LEITAI_DATA", "./data"), "data directory (LEITAI_DATA)")
	db := fs.String("db", env("LEITAI_DB", ""), "PostgreSQL URL to import into instead of the SQLite file (LEITAI_DB)")
	name := fs.String("name", "", "name of the question set (default: the file name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: leitai import [--data DIR | --db URL] [--name NAME] FILE.csv|.json|.xlsx")
	}
	if *db != "" && !store.IsPostgresURL(*db) {
		return errors.New("--db wants a PostgreSQL URL, postgres://… or postgresql://…")
	}
	path := fs.Arg(0)
	format, err := questionbank.FormatOf(path)
	if err != nil {
		return err
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	st, err := openStore(ctx, *data, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var bar *progressbar.ProgressBar
	progress := func(done, total int) {
		if bar == nil && total > 0 {
			bar = progressbar.NewOptions(total, progressbar.OptionSetDescription("importing"), progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		}
		if bar != nil {
			_ = bar.Set(done)
		}
	}
	id, n, rowErrs, err := web.ImportSet(ctx, st, questionbank.NewBank(), *name, format, fh, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	if len(rowErrs) > 0 {
		for _, e := range rowErrs {
			fmt.Fprintf(os.Stderr, "row %d, %s: %s\n", e.Row, e.Field, e.Message)
		}
		return fmt.Errorf("%d bad rows; nothing was imported", len(rowErrs))
	}
	if err != nil {
		return err
	}
	fmt.Printf("imported %d questions as set %s (%q)\n", n, id, *name)
	return nil
}
