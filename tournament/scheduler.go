package tournament

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/store"
)

// Lease is how schedulers on several nodes agree that one of them runs at
// a time. cluster.Bus's Claim and Release satisfy it today; it is declared
// here so a fenced lease can take its place without touching the
// scheduler. A single node passes nil.
type Lease interface {
	Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key, owner string) error
}

// LeaseKey is the lease a scheduler holds while it works.
const LeaseKey = "tournament:scheduler"

// Scheduler fires knockout rounds at their times and moves their matches
// along: check-in, no-show forfeits after the grace, rooms, sudden deaths,
// and the round's finish. Every step is a conditional write in the store,
// so a step is taken once even if two schedulers (a lease handover, a
// restart) try it; in particular a round is fired by moving it from
// scheduled to started, with its matches, in one transaction, before any
// room is asked for. A round due while no scheduler ran (the server was
// down, or the round before it finished late) fires on the next tick; its
// delay is FiredAt - StartsAt, kept in the store.
type Scheduler struct {
	svc     *Service
	st      Store
	starter RoundStarter
	clock   clock.Clock
	lease   Lease
	node    string
	tick    time.Duration
	poke    chan struct{}
	// OnFire, if set, is told of each round this scheduler fires and how
	// late it fired (0 if on time).
	OnFire func(r store.TournamentRound, delay time.Duration)
	// OnError, if set, is told of a tick's failure; the tick is tried
	// again on the next.
	OnError func(error)
}

// NewScheduler returns a scheduler for svc's tournaments that ticks every
// tick by clk. lease may be nil (a single node); node names this node as
// the lease's owner.
func NewScheduler(svc *Service, starter RoundStarter, clk clock.Clock, tick time.Duration, lease Lease, node string) *Scheduler {
	return &Scheduler{svc: svc, st: svc.st, starter: starter, clock: clk, lease: lease, node: node, tick: tick, poke: make(chan struct{}, 1)}
}

// Poke asks for a tick now rather than at the next: the room layer pokes
// when a match's room finishes, so winners advance without waiting.
func (s *Scheduler) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Process runs one tick's work at now, as Run does on each tick.
func (s *Scheduler) Process(ctx context.Context, now time.Time) error { return s.process(ctx, now) }

// Run ticks until ctx ends, then gives up the lease. A tick that fails is
// retried on the next; Run returns only ctx's error.
func (s *Scheduler) Run(ctx context.Context) error {
	t := s.clock.NewTicker(s.tick)
	defer t.Stop()
	if s.lease != nil {
		defer s.lease.Release(context.WithoutCancel(ctx), LeaseKey, s.node)
	}
	for {
		if err := s.process(ctx, s.clock.Now()); err != nil && s.OnError != nil && ctx.Err() == nil {
			s.OnError(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
		case <-s.poke:
		}
	}
}

// process is one tick's work at now: claim the lease, then advance every
// pending round.
func (s *Scheduler) process(ctx context.Context, now time.Time) error {
	if s.lease != nil {
		ok, err := s.lease.Claim(ctx, LeaseKey, s.node, 3*s.tick)
		if err != nil || !ok {
			return err
		}
	}
	rounds, err := s.st.PendingRounds(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rounds {
		if err := s.advance(ctx, r, now); err != nil {
			errs = append(errs, fmt.Errorf("round %d of %s: %w", r.Num, r.Tournament, err))
		}
	}
	return errors.Join(errs...)
}

// advance fires the round if it is due and the round before it finished,
// then moves its matches on.
func (s *Scheduler) advance(ctx context.Context, r store.TournamentRound, now time.Time) error {
	c, err := s.svc.Config(ctx, r.Tournament)
	if err != nil {
		return err
	}
	if r.State == store.RoundScheduled {
		matches, ready, err := s.build(ctx, c, r, now)
		if err != nil || !ready {
			return err
		}
		fired, err := s.st.FireRound(ctx, r.Tournament, r.Num, now, matches)
		if err != nil || !fired {
			return err
		}
		if s.OnFire != nil {
			r.State, r.FiredAt = store.RoundStarted, now
			s.OnFire(r, max(0, now.Sub(r.StartsAt)))
		}
	}
	return s.run(ctx, c, r, now)
}

// build lays out a round's matches: the first from the seeds, a later one
// from the advancers of the round before, once that round has finished.
// Rooms with no more players than go through are decided as byes now.
func (s *Scheduler) build(ctx context.Context, c Config, r store.TournamentRound, now time.Time) ([]store.TournamentMatch, bool, error) {
	var rooms [][]string
	if r.Num == 1 {
		es, err := s.svc.Seed(ctx, r.Tournament, now)
		if err != nil {
			return nil, false, err
		}
		layout, err := FirstRound(c.Format, len(es))
		if err != nil {
			return nil, false, err
		}
		for _, seeds := range layout {
			room := make([]string, len(seeds))
			for i, sd := range seeds {
				if sd > 0 {
					room[i] = es[sd-1].Player
				}
			}
			rooms = append(rooms, room)
		}
	} else {
		rs, err := s.st.TournamentRounds(ctx, r.Tournament)
		if err != nil {
			return nil, false, err
		}
		if rs[r.Num-2].State != store.RoundFinished {
			return nil, false, nil // fires when the round before finishes
		}
		prev, err := s.st.Matches(ctx, r.Tournament, r.Num-1)
		if err != nil {
			return nil, false, err
		}
		adv := make([][]string, len(prev))
		for i, m := range prev {
			o, err := outcomeOf(m)
			if err != nil {
				return nil, false, err
			}
			adv[i] = o.Advance
		}
		rooms = NextRound(c.Format, adv)
	}
	k := cut(c, r.Num)
	ms := make([]store.TournamentMatch, len(rooms))
	for i, seats := range rooms {
		m := store.TournamentMatch{Tournament: r.Tournament, Round: r.Num, Slot: i, Seats: seats, State: StateWaiting}
		if filled := occupied(seats); len(filled) <= k {
			m = withOutcome(m, Outcome{Present: filled, Advance: filled, By: ByBye}, StateDecided)
		}
		ms[i] = m
	}
	return ms, true, nil
}

func occupied(seats []string) []string {
	var out []string
	for _, p := range seats {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// startWorkers bounds the rooms a tick asks for at once.
const startWorkers = 16

// run moves a started round's matches on and finishes the round when
// every match is decided. The matches that change state together (the
// waiting ones whose players are all in, or whose grace is over) are
// written in one transaction, their rooms are asked for side by side, and
// the rooms recorded in one transaction more: a round of thousands of
// rooms starts in a few writes, not three per room.
func (s *Scheduler) run(ctx context.Context, c Config, r store.TournamentRound, now time.Time) error {
	ms, err := s.st.Matches(ctx, r.Tournament, r.Num)
	if err != nil {
		return err
	}
	checks, err := s.st.CheckIns(ctx, r.Tournament, r.Num)
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, ch := range checks {
		in[ch.Player] = true
	}
	graceOver := !now.Before(r.StartsAt.Add(c.grace()))
	decided := 0
	var errs []error
	var walkovers, playing, toStart []store.TournamentMatch
	for _, m := range ms {
		o, err := outcomeOf(m)
		if err != nil {
			return err
		}
		switch m.State {
		case StateDecided:
			decided++
		case StateWaiting:
			seated := occupied(m.Seats)
			var present, absent []string
			for _, p := range seated {
				if in[p] {
					present = append(present, p)
				} else {
					absent = append(absent, p)
				}
			}
			if len(absent) > 0 && !graceOver {
				continue
			}
			o = Outcome{Present: present, Forfeits: absent}
			if len(present) <= cut(c, r.Num) {
				o.Advance, o.By = present, ByWalkover
				walkovers = append(walkovers, withOutcome(m, o, StateDecided))
				continue
			}
			playing = append(playing, withOutcome(m, o, StatePlaying))
		case StatePlaying:
			if m.Room == "" {
				toStart = append(toStart, m)
			}
		case StateTiebreak:
			// Asked before it is recorded, like a room: after a crash
			// in between it is asked again, under the same key.
			mm := Match{Tournament: r.Tournament, Round: r.Num, Slot: m.Slot, Final: r.Num == len(c.Rounds), Config: c, Players: o.Present}
			if err := s.starter.SuddenDeath(ctx, mm, slices.Clone(o.Tied)); err != nil {
				errs = append(errs, err)
				continue
			}
			sd := m
			sd.State = StateSuddenDeath
			if _, err := s.st.UpdateMatch(ctx, sd, StateTiebreak); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if done, err := s.st.UpdateMatches(ctx, walkovers, StateWaiting); err != nil {
		errs = append(errs, err)
	} else {
		for _, ok := range done {
			if ok {
				decided++
			}
		}
	}
	if done, err := s.st.UpdateMatches(ctx, playing, StateWaiting); err != nil {
		errs = append(errs, err)
	} else {
		for i, ok := range done {
			if ok {
				toStart = append(toStart, playing[i])
			}
		}
	}
	started, err := s.start(ctx, c, r, toStart)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := s.st.UpdateMatches(ctx, started, StatePlaying); err != nil {
		errs = append(errs, err)
	}
	if decided == len(ms) && r.State != store.RoundFinished {
		if _, err := s.st.FinishRound(ctx, r.Tournament, r.Num, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// start asks for the rooms of playing matches, up to startWorkers at a
// time, and returns the matches whose room it got, with the room set.
func (s *Scheduler) start(ctx context.Context, c Config, r store.TournamentRound, ms []store.TournamentMatch) ([]store.TournamentMatch, error) {
	var (
		mu      sync.Mutex
		started []store.TournamentMatch
		errs    []error
		wg      sync.WaitGroup
	)
	slots := make(chan struct{}, startWorkers)
	for _, m := range ms {
		o, err := outcomeOf(m)
		if err != nil {
			return nil, err
		}
		mm := Match{Tournament: r.Tournament, Round: r.Num, Slot: m.Slot, Final: r.Num == len(c.Rounds), Config: c, Players: o.Present}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			room, err := s.starter.StartMatch(ctx, mm)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			m.Room = room
			started = append(started, m)
		}()
	}
	wg.Wait()
	return started, errors.Join(errs...)
}
