package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/leitai/leitai/store"
)

// BenchmarkWriterCommit times one small write transaction on the SQLite
// writer, commit and fsync included, after the writer has written db MiB
// of pages. Each transaction inserts 32 rows under random keys, as an
// award group's upserts land all over the rollup indexes: now and then
// one splits a page whose new siblings SQLite puts back in page order,
// moving a page through page number 262,145 (the one at the 1 GiB lock
// byte, never used) on the way. At the next commit SQLite drops every
// cached page past the end of the file, and with one cached so far past
// it, it looks at every page in its cache to find them. cpu-ns/op is the
// process's CPU per transaction (the checkpointer's included).
//
//	go test -run '^$' -bench WriterCommit -benchtime 2000x ./store
func BenchmarkWriterCommit(b *testing.B) {
	for _, mib := range []int{1, 16, 64, 192} {
		b.Run(fmt.Sprintf("db=%dMiB", mib), func(b *testing.B) { benchWriterCommit(b, mib, 8) })
	}
	// The same database written in one transaction, as a large award
	// group dirties tens of thousands of pages at once: SQLite's table of
	// cached pages grows to their number and never shrinks.
	b.Run("db=192MiB/one-tx", func(b *testing.B) { benchWriterCommit(b, 192, 192) })
}

func benchWriterCommit(b *testing.B, mib, txMiB int) {
	s := openSQLite(b)
	ctx := context.Background()
	fillWriter(b, s, mib, txMiB)
	r := rand.New(rand.NewPCG(1, uint64(mib)))
	args := make([]any, 32)
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		for j := range args {
			args[j] = fmt.Sprintf("%016x", r.Uint64())
		}
		err := store.WriterTx(ctx, s, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, insertKeys, args...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// insertKeys inserts 32 keys in one statement.
var insertKeys = "INSERT INTO bench_keys (k) VALUES (?)" + strings.Repeat(", (?)", 31)

// fillWriter makes the table bench_keys and writes about mib MiB of rows
// through the writer, in transactions of txMiB.
func fillWriter(b *testing.B, s *store.SQL, mib, txMiB int) {
	ctx := context.Background()
	err := store.WriterTx(ctx, s, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE bench_fill (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)`)
		if err == nil {
			_, err = tx.ExecContext(ctx, `CREATE TABLE bench_keys (k TEXT PRIMARY KEY)`)
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	const rowsPerMiB = 256 // a row of 3,000 bytes fills a 4 KiB page
	for done := 0; done < mib*rowsPerMiB; {
		n := min(txMiB*rowsPerMiB, mib*rowsPerMiB-done)
		err := store.WriterTx(ctx, s, func(tx *sql.Tx) error {
			for range n {
				if _, err := tx.ExecContext(ctx, `INSERT INTO bench_fill (pad) VALUES (zeroblob(3000))`); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
}
