package store

import (
	"context"
	"database/sql"
	"maps"
	"sync/atomic"
)

// txGroup commits concurrent writes together: one transaction (one
// commit, one fsync) for every write that arrived while the previous group
// was being written, instead of one each. It carries a quick match's two
// writes, its room header (CreateRoom) and its end (FinishMatch), which
// thousands of matches at once issue from as many goroutines, and each
// new player's record (CreatePlayer: a guest's hello). As in
// awardGroup, the caller that finds no group running leads: it takes
// everything queued, writes it in the order the calls arrived, answers
// each call, and hands the lead to the first call queued meanwhile. Each
// call returns only once its transaction has committed. If the group's
// transaction fails, each write is run again in a transaction of its own,
// so one bad write (a room id taken, a player unknown) fails alone.
//
// A group holds at most txGroupMost calls (see there), the oldest queued.
type txGroup struct {
	gather[*txCall]

	txs   atomic.Int64 // transactions written, for tests
	calls atomic.Int64 // writes in them
}

// txGroupMost bounds the calls of one txGroup transaction. The journal
// goes first at the write gate but still waits for the write being
// written, and a room's question goes out only once its journal entry has
// committed: a transaction of hundreds of match ends, each paying its
// awards, would hold every room's question that long. 32 calls still share
// one commit among many; the rest go into the next transaction, with the
// journal's commit between the two if it waits.
const txGroupMost = 32

type txCall struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx) error
	// Its awards are paid after fn, together with the other calls' of
	// the group (one batch of statements for all, see awardsTx).
	payee
	err  error
	wake chan bool // true: lead the next group; false: answered
}

// do runs fn in a transaction shared with the writes queued beside it,
// then pays awards under caps, and returns once that transaction has
// committed (or fn's own, after the shared one failed), with the awards
// as paid. fn must only write through tx, and may run twice.
func (g *txGroup) do(ctx context.Context, s *SQL, fn func(ctx context.Context, tx *sql.Tx) error, caps Caps, awards []Award) ([]Award, error) {
	c := &txCall{ctx: ctx, fn: fn, payee: payee{caps: caps, awards: awards}, wake: make(chan bool, 1)}
	g.join(c, func(batch []*txCall) { g.write(s, batch) })
	return c.out, c.err
}

func (c *txCall) wakeChan() chan bool { return c.wake }

// write commits batch and sets each call's outcome. Each write runs under
// its own caller's context; the group waits for the write gate under the
// leader's, without its cancellation (another caller's cancellation must
// not fail the group).
func (g *txGroup) write(s *SQL, batch []*txCall) {
	alone := func(c *txCall) {
		g.txs.Add(1)
		g.calls.Add(1)
		c.err = s.inTx(c.ctx, func(tx *sql.Tx) error { return s.writeCalls(tx, []*txCall{c}) })
	}
	if len(batch) == 1 {
		alone(batch[0])
		return
	}
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err // gave up while queued
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	g.txs.Add(1)
	g.calls.Add(int64(len(live)))
	err := s.inTx(context.WithoutCancel(live[0].ctx), func(tx *sql.Tx) error { return s.writeCalls(tx, live) })
	if err == nil {
		for _, c := range live {
			c.err = nil
		}
		return
	}
	for _, c := range live {
		c.out = nil
		alone(c)
	}
}

// writeCalls runs calls' writes in tx, in order, then pays their awards:
// one awardsTx for each run of calls with equal caps, which has the
// outcome of paying them one call after another. It sets each call's out.
func (s *SQL) writeCalls(tx *sql.Tx, calls []*txCall) error {
	for _, c := range calls {
		if c.fn != nil {
			if err := c.fn(c.ctx, tx); err != nil {
				return err
			}
		}
	}
	return capRuns(calls, func(run []*txCall, all []Award) error {
		if len(all) == 0 {
			return nil
		}
		if err := s.awardsTx(run[0].ctx, tx, run[0].caps, all); err != nil {
			return err
		}
		shareOut(run, all)
		return nil
	})
}

// payee is what a grouped call asks to be paid: awards under caps; out is
// them as paid.
type payee struct {
	caps   Caps
	awards []Award
	out    []Award
}

func (p *payee) pay() *payee { return p }

// capRuns calls f on each run of consecutive calls with equal caps, in
// order, with the run's awards end to end: paid as one batch, they have
// the outcome of paying them one call after another. It stops at f's
// first error.
func capRuns[C interface{ pay() *payee }](calls []C, f func(run []C, all []Award) error) error {
	for lo := 0; lo < len(calls); {
		hi := lo + 1
		for hi < len(calls) && maps.Equal(calls[hi].pay().caps, calls[lo].pay().caps) {
			hi++
		}
		run := calls[lo:hi]
		lo = hi
		var all []Award
		for _, c := range run {
			all = append(all, c.pay().awards...)
		}
		if err := f(run, all); err != nil {
			return err
		}
	}
	return nil
}

// shareOut gives each call of run its own part of paid, the run's awards
// as paid, in order.
func shareOut[C interface{ pay() *payee }](run []C, paid []Award) {
	for _, c := range run {
		p := c.pay()
		p.out, paid = paid[:len(p.awards):len(p.awards)], paid[len(p.awards):]
	}
}
