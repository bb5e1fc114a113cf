package roomhost

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// day is the ledger day of t in the configured time zone.
func (s *Host) day(t time.Time) string { return t.In(s.cfg.TimeZone).Format(time.DateOnly) }

// EventPoints are the points an event is worth by final rank: the first
// three 10, 8 and 6, everyone else who answered 3.
var EventPoints = []int64{10, 8, 6, 3}

// eventAwardTime bounds one try at paying an event's points.
const eventAwardTime = 30 * time.Second

// How a failed payment of event points is tried again in process: after
// awardRetryFirst, doubling up to awardRetryMax, until it succeeds or the
// node stops (the sweep pays the rest after a restart).
const (
	awardRetryFirst = time.Second
	awardRetryMax   = time.Minute
)

// The sweep pays the events whose result is stored but whose points are
// not noted paid: at start and every eventSweepEvery, those whose result
// is at least eventSweepGrace old, so that the node that finished an event
// pays it first and a sweep does not replay what is being paid.
const (
	eventSweepEvery = time.Minute
	eventSweepGrace = 2 * time.Minute
	eventSweepBatch = 100
)

// eventAwards are the points a finished event pays: each ranked player by
// final rank (EventPoints), ref "event:<room>:<player>", on the ledger day
// of its end. Both the event's end and the sweep reckon them here, the
// sweep from the stored result.
func (s *Host) eventAwards(res *room.Result) []store.Award {
	var awards []store.Award
	for _, st := range res.Standings {
		if st.Rank < 1 {
			continue
		}
		p := EventPoints[min(st.Rank, len(EventPoints))-1]
		awards = append(awards, store.Award{Ref: "event:" + res.Room + ":" + st.ID, Player: st.ID, Source: store.SourceEvent,
			Points: p, Day: s.day(res.At), At: res.At})
	}
	return awards
}

// awardEvent pays each ranked player of a finished event through the
// ledger, once per event and player, and notes the event paid. A payment
// the store fails is tried again in the background (retryEvent) until it
// succeeds or the node stops; what is still unpaid then the sweep pays.
func (s *Host) awardEvent(ctx context.Context, res *room.Result) {
	if _, busy := s.awarding.LoadOrStore(res.Room, true); busy {
		return // the sweep is paying it right now
	}
	// Its own time, not what is left of the room's settling: a hall of
	// thousands is tens of transactions.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventAwardTime)
	defer cancel()
	rest, _, err := s.payAwards(ctx, res.Room, s.eventAwards(res))
	if err == nil {
		s.markAwarded(ctx, res.Room)
		s.awarding.Delete(res.Room)
		return
	}
	s.log.Error().Err(err).Str("room", res.Room).Int("unpaid", len(rest)).Msg("award event points; trying again")
	s.paying.Add(1)
	go func() {
		defer s.paying.Done()
		defer s.awarding.Delete(res.Room)
		s.retryEvent(res.Room, rest)
	}()
}

// retryEvent pays the awards still unpaid of the event in room, with
// backoff on the host's clock, until every one is settled or the node
// stops.
func (s *Host) retryEvent(room string, rest []store.Award) {
	wait := awardRetryFirst
	for {
		t := s.clock.NewTimer(wait)
		select {
		case <-s.runCtx.Done():
			t.Stop()
			s.log.Warn().Str("room", room).Int("unpaid", len(rest)).Msg("event points unpaid at shutdown; the next start's sweep pays them")
			return
		case <-t.C():
		}
		ctx, cancel := context.WithTimeout(s.runCtx, eventAwardTime)
		var err error
		rest, _, err = s.payAwards(ctx, room, rest)
		if err == nil {
			s.markAwarded(ctx, room)
			cancel()
			s.log.Info().Str("room", room).Msg("event points paid after a failure")
			return
		}
		cancel()
		wait = min(2*wait, awardRetryMax)
		s.log.Error().Err(err).Str("room", room).Int("unpaid", len(rest)).Dur("next_try", wait).Msg("award event points; trying again")
	}
}

// payAwards pays awards through the ledger in batches of 500, so a hall of
// thousands is a few transactions. It returns the awards still unpaid
// with the store's error, nil once every award is settled, and how many
// were paid now (not replays of an earlier payment). A batch refused for
// one award's sake (a player unknown to the store) is paid one by one:
// an award the store refuses for good is logged and dropped, the others
// are paid.
func (s *Host) payAwards(ctx context.Context, room string, awards []store.Award) (rest []store.Award, fresh int, err error) {
	count := func(out []store.Award) {
		for _, a := range out {
			if !a.Replay {
				fresh++
			}
		}
	}
	for len(awards) > 0 {
		n := min(len(awards), 500)
		out, err := s.store.Award(ctx, s.cfg.PointCaps, awards[:n])
		if err == nil {
			count(out)
			awards = awards[n:]
			continue
		}
		if !store.RoomFault(err) {
			return awards, fresh, err
		}
		for i, a := range awards[:n] {
			out, err := s.store.Award(ctx, s.cfg.PointCaps, []store.Award{a})
			switch {
			case err == nil:
				count(out)
			case store.RoomFault(err):
				s.log.Error().Err(err).Str("room", room).Str("player", a.Player).Msg("award event points: refused; not paid")
			default:
				return awards[i:], fresh, err
			}
		}
		awards = awards[n:]
	}
	return nil, fresh, nil
}

// markAwarded notes the event of room paid, so the sweep passes it over.
// A room without an event (a tournament's) has nothing to note; should
// the note fail, the sweep pays the event again, which is a replay.
func (s *Host) markAwarded(ctx context.Context, room string) {
	err := s.store.MarkEventAwarded(ctx, room, s.clock.Now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn().Err(err).Str("room", room).Msg("note event points paid; the sweep replays them")
	}
}

// keepSweeping sweeps at once (finishedBy the start, or the grace before
// it in a cluster, where other nodes may be paying) and then every
// eventSweepEvery, until ctx ends.
func (s *Host) keepSweeping(ctx context.Context) {
	defer s.paying.Done()
	first := s.clock.Now()
	if s.cl != nil {
		first = first.Add(-eventSweepGrace)
	}
	s.sweepEvents(ctx, first)
	tick := s.clock.NewTicker(eventSweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
			s.sweepEvents(ctx, s.clock.Now().Add(-eventSweepGrace))
		}
	}
}

// sweepEvents pays the events whose result, stored and finished by
// finishedBy, has points not yet noted paid: from the stored standings,
// through the same awards as the event's end, each exactly once by its
// ref, so a node sweeping what another pays (or paid) pays nothing twice.
// It returns how many awards it paid that were not paid before.
func (s *Host) sweepEvents(ctx context.Context, finishedBy time.Time) int {
	listCtx, cancel := context.WithTimeout(ctx, eventAwardTime)
	evs, err := s.store.UnawardedEvents(listCtx, finishedBy, eventSweepBatch)
	cancel()
	if err != nil {
		s.log.Warn().Err(err).Msg("list events with points to pay; the next sweep tries again")
		return 0
	}
	paid := 0
	for _, e := range evs {
		if ctx.Err() != nil {
			break
		}
		if _, busy := s.awarding.LoadOrStore(e.Room, true); busy {
			continue // this node is paying it
		}
		n, err := s.sweepEvent(ctx, e)
		s.awarding.Delete(e.Room)
		paid += n
		if err != nil {
			s.log.Warn().Err(err).Str("event", e.ID).Str("room", e.Room).Msg("pay an event's points; the next sweep tries again")
			continue
		}
		s.log.Info().Str("event", e.ID).Str("room", e.Room).Int("paid", n).Msg("event points paid by the sweep")
	}
	return paid
}

// sweepEvent pays one event's points from its stored result.
func (s *Host) sweepEvent(ctx context.Context, e store.Event) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, eventAwardTime)
	defer cancel()
	stored, err := s.store.Result(ctx, e.Room)
	if err != nil {
		return 0, err
	}
	var body struct {
		Standings []protocol.Standing `json:"standings"`
	}
	if err := json.Unmarshal(stored.Standings, &body); err != nil {
		// Nothing a later sweep could read better: noted paid, not swept
		// again and again.
		s.log.Error().Err(err).Str("event", e.ID).Msg("stored event result unreadable; its points are not paid")
		s.markAwarded(ctx, e.Room)
		return 0, nil
	}
	res := &room.Result{Room: e.Room, Kind: stored.Kind, Standings: body.Standings, At: stored.FinishedAt}
	_, fresh, err := s.payAwards(ctx, e.Room, s.eventAwards(res))
	if err != nil {
		return fresh, err
	}
	if err := s.store.MarkEventAwarded(ctx, e.Room, s.clock.Now()); err != nil {
		return fresh, err
	}
	return fresh, nil
}

// soloFinished stores a solo room's result and pays its points through the
// ledger, exactly once by the room id: daily practice one point per right
// answer (source "daily"), a challenge one point per question of the run
// (source "challenge"), whose length is also kept as the player's best.
func (s *Host) soloFinished(ctx context.Context, res *room.Result, result store.Result) map[string]int64 {
	if len(res.Standings) == 0 {
		if err := s.store.FinishRoom(ctx, result); err != nil {
			s.log.Error().Err(err).Str("room", res.Room).Msg("store result")
		}
		return nil
	}
	st := res.Standings[0]
	source := store.SourceDaily
	if res.Kind == room.KindChallenge {
		source = store.SourceChallenge
		if _, err := s.store.RecordChallenge(ctx, store.ChallengeBest{Player: st.ID, Best: int(st.Score), Room: res.Room, At: res.At}); err != nil {
			s.log.Error().Err(err).Str("room", res.Room).Msg("record challenge run")
			return nil // the room stays open in the store; a restart tries again
		}
	}
	day := s.day(res.At)
	if res.Kind == room.KindDaily {
		// The day the practice was started on, which its id names: one
		// finished just after midnight still counts for its own day.
		if rest := strings.TrimPrefix(res.Room, "daily-"); len(rest) > len(time.DateOnly) {
			day = rest[:len(time.DateOnly)]
		}
	}
	paid, err := s.store.Award(ctx, s.cfg.PointCaps, []store.Award{{Ref: source + ":" + res.Room, Player: st.ID,
		Source: source, Points: st.Score, Day: day, At: res.At}})
	if err != nil {
		s.log.Error().Err(err).Str("room", res.Room).Msg("award solo points")
		return nil
	}
	if err := s.store.FinishRoom(ctx, result); err != nil {
		s.log.Error().Err(err).Str("room", res.Room).Msg("store result")
	}
	if len(paid) == 1 {
		return map[string]int64{st.ID: paid[0].Points}
	}
	return nil
}
