package store

import (
	"context"
	"database/sql"
	"sync/atomic"
)

// awardGroup commits concurrent Award calls together: one transaction
// (one fsync) for every call that arrived while the previous one was
// being written, instead of one each. The caller that finds no commit
// running leads: it takes everything queued, writes it, answers each call,
// and hands the lead to the first call queued meanwhile. Each call is
// answered only once its transaction has committed. The awards of a group
// are written in the order the calls arrived, so a ref sent by two calls
// is paid to the first and a replay for the second, as if they had been
// sent one after the other. If the group's transaction fails, each call is
// written again on its own, so one bad call (an unknown player) fails
// alone.
type awardGroup struct {
	gather[*awardCall]

	grouped atomic.Int64 // transactions that held more than one call, for tests
	txs     atomic.Int64 // transactions written, for the benchmark
	written atomic.Int64 // awards in them
}

type awardCall struct {
	payee
	err  error
	wake chan bool // true: lead the next group; false: answered
}

func (g *awardGroup) award(ctx context.Context, s *SQL, caps Caps, awards []Award) ([]Award, error) {
	c := &awardCall{payee: payee{caps: caps, awards: awards}, wake: make(chan bool, 1)}
	// Another caller's cancellation must not fail this one's group.
	g.join(c, func(batch []*awardCall) { s.awardCalls(context.WithoutCancel(ctx), batch) })
	return c.out, c.err
}

func (c *awardCall) wakeChan() chan bool { return c.wake }

// awardCalls writes calls in as few transactions as their caps allow
// (one per run of calls with equal caps) and sets each call's outcome.
// On SQLite it then asks the background checkpointer to copy what they
// wrote back into the database file while the next group gathers.
func (s *SQL) awardCalls(ctx context.Context, calls []*awardCall) {
	if s.ckpt != nil {
		defer s.ckpt.nudge()
	}
	defer s.reserveReader()()
	_ = capRuns(calls, func(group []*awardCall, all []Award) error {
		s.awards.txs.Add(1)
		s.awards.written.Add(int64(len(all)))
		if len(group) == 1 {
			group[0].out, group[0].err = s.awardAlone(ctx, group[0].caps, group[0].awards)
			return nil
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			return s.awardsTx(ctx, tx, group[0].caps, all)
		})
		s.awards.grouped.Add(1)
		if err != nil {
			for _, c := range group {
				c.out, c.err = s.awardAlone(ctx, c.caps, c.awards)
			}
			return nil
		}
		shareOut(group, all)
		return nil
	})
}

// reserveReader gives the award writer priority over the readers on
// SQLite: until the returned func is called, one connection of the read
// pool is held idle, so at most readers-1 reads run beside the group's
// transaction. A read is CPU work on its goroutine from start to end; with
// as many readers running as the process has Ps, the writer's goroutine
// waits for a P after each of its commit's system calls, and a commit that
// should take a fraction of a second takes several. The connection is
// taken by a goroutine of its own, so the writer never waits for a reader
// to finish: it waits for none, and the readers lose the connection as
// soon as one is free. A pool of one connection is left alone, or reads
// would stop while awards are written.
func (s *SQL) reserveReader() (release func()) {
	if s.readers < 2 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := s.read.Conn(ctx)
		if err != nil {
			return // released before a connection was free
		}
		<-ctx.Done()
		conn.Close() // back to the pool
	}()
	return func() {
		cancel()
		<-done
	}
}
