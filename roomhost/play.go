package roomhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/match"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

var _ match.Starter = (*Host)(nil)
var _ room.Finisher = (*Host)(nil)

// drawFor draws n questions for players, avoiding what they saw lately.
func (s *Host) drawFor(players []string, setID, category, lang string, difficulty, n int) ([]questionbank.Question, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	recent, err := s.history.Recent(ctx, players...)
	if err != nil {
		// Shared history out of reach: a repeat is better than no match.
		s.log.Warn().Err(err).Msg("read question history; drawn without it")
	}
	if setID != "" {
		if _, err := s.banks.Ensure(ctx, setID); err != nil {
			return nil, err
		}
	}
	// The bank's shared pool: drawing copies only what it picks.
	pool := s.bank.Pool(setID)
	qs, err := questionbank.Draw(pool, n, questionbank.DrawOptions{
		Category: category, Lang: lang, Difficulty: difficulty,
		Exclude: recent, Distinct: true,
		Rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	})
	if err != nil {
		return nil, err
	}
	if err := s.history.Seen(ctx, players, ids(qs)); err != nil {
		s.log.Warn().Err(err).Msg("record question history")
	}
	return qs, nil
}

func ids(qs []questionbank.Question) []string {
	out := make([]string, len(qs))
	for i := range qs {
		out[i] = qs[i].ID
	}
	return out
}

// roomOptions are the collaborators every room on this node gets; epoch
// is this node's ownership epoch of the room (0 on a single node).
func (s *Host) roomOptions(epoch int64) room.Options {
	return room.Options{Clock: s.clock, Journal: s.journal, Finisher: s, Log: s.log, OnJournalFailure: s.reopen, Epoch: epoch}
}

// start runs a room: on a single node in the registry, in a cluster under
// the lease l this node holds for it.
func (s *Host) start(r *room.Room, l cluster.Lease) error {
	if s.cl == nil {
		return s.rooms.Start(s.runCtx, r)
	}
	return s.cl.start(r, l)
}

// leaseOf returns the lease this node holds for a running room.
func (s *Host) leaseOf(id string) cluster.Lease {
	if s.cl == nil {
		return cluster.Lease{}
	}
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if h, ok := s.cl.held[id]; ok {
		return h.lease
	}
	return cluster.Lease{}
}

// reopen restores a room that stopped because a journal write failed, from
// what its journal holds, in place: once every entry the room submitted
// is settled, it folds the durable journal, takes over the old room's
// players and watchers, and runs again. An answer whose write failed is not
// in it (its player was told unavailable and may answer again). While the
// store keeps failing it tries again every second, until shutdown.
func (s *Host) reopen(old *room.Room) {
	id := old.ID()
	if old.Stale() {
		// The store refused its entry as a stale owner's: another node has
		// taken the room over. It must not run here again.
		if s.cl != nil {
			s.cl.lost(id)
		}
		return
	}
	s.reopening.Store(id, true)
	go func() {
		defer s.reopening.Delete(id)
		log := s.log.With().Str("room", id).Logger()
		for {
			err := s.reopenOnce(old)
			switch {
			case err == nil:
				return
			case errors.Is(err, room.ErrStopping) || s.runCtx.Err() != nil:
				log.Warn().Err(err).Msg("room not reopened: shutting down; the next start restores it")
				return
			}
			log.Error().Err(err).Msg("reopen room after a journal failure; trying again")
			select {
			case <-s.runCtx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

func (s *Host) reopenOnce(old *room.Room) error {
	ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
	defer cancel()
	if err := s.journal.Flush(ctx); err != nil {
		return err
	}
	entries, err := s.store.Journal(ctx, old.ID())
	if err != nil {
		return err
	}
	r, err := room.Restore(old.Config(), s.roomOptions(old.Epoch()), entries)
	if err != nil {
		return err
	}
	r.Adopt(old)
	// The old room's bots ended with it; the match's bots play on anew.
	var bots []*match.Bot
	for _, id := range r.Members() {
		if match.IsBot(id) {
			b := match.NewBot(id, s.clock, rand.Uint64())
			r.SetPeer(id, b)
			bots = append(bots, b)
		}
	}
	if err := s.start(r, s.leaseOf(old.ID())); err != nil {
		return err
	}
	for _, b := range bots {
		go b.Run(s.runCtx, r, r.Done())
	}
	s.log.Info().Str("room", old.ID()).Int("entries", len(entries)).Msg("room reopened from its journal after a write failure")
	return nil
}

// OpenRoom records a room durably and starts its goroutine; seat, if not
// nil, seats its players before it runs.
func (s *Host) OpenRoom(ctx context.Context, cfg room.Config, seat func(*room.Room)) (*room.Room, error) {
	var lease cluster.Lease
	if s.cl != nil {
		l, err := s.cl.own(ctx, cfg.ID)
		if err != nil {
			return nil, fmt.Errorf("room %s: %w", cfg.ID, err)
		}
		lease = l
	}
	r, err := room.New(cfg, s.roomOptions(int64(lease.Epoch)))
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(r.Config())
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateRoom(ctx, store.Room{ID: cfg.ID, Kind: cfg.Kind, Config: raw, CreatedAt: s.clock.Now(), Epoch: int64(lease.Epoch)}); err != nil {
		if s.cl != nil {
			s.cl.release(&owned{lease: lease})
		}
		return nil, fmt.Errorf("room %s: %w", cfg.ID, err)
	}
	if seat != nil {
		seat(r)
	}
	if err := s.start(r, lease); err != nil {
		return nil, err
	}
	inc(s.metrics.Opened)
	return r, nil
}

// StartMatch implements match.Starter: it draws the questions, opens the
// room with the matched players seated, and starts any bots.
func (s *Host) StartMatch(ctx context.Context, roomID, mode, category string, tickets []*match.Ticket) error {
	var humans []string
	for _, t := range tickets {
		if !t.Bot {
			humans = append(humans, t.Player.ID)
		}
	}
	lang := "zh"
	if len(tickets) > 0 && tickets[0].Lang != "" {
		lang = tickets[0].Lang // one queue, one language
	}
	qs, err := s.drawFor(humans, "", category, lang, 0, s.cfg.MatchQuestions)
	if err != nil {
		return err
	}
	cfg := room.Config{
		ID: roomID, Kind: mode, Questions: qs, TimeLimit: s.cfg.MatchTimeLimit,
		Scoring: room.Race, AutoStart: true, AutoAdvance: true, RevealFor: s.cfg.RevealFor, Countdown: s.cfg.MatchCountdown,
	}
	teamRoom(&cfg)
	players := make([]protocol.PlayerInfo, len(tickets))
	peers := make([]room.Peer, len(tickets))
	var bots []*match.Bot
	for i, t := range tickets {
		players[i] = t.Player
		if t.Bot {
			b := match.NewBot(t.Player.ID, s.clock, rand.Uint64())
			bots = append(bots, b)
			peers[i] = b
			continue
		}
		var peer room.Peer
		ok := false
		if t.Node() != "" {
			// Matched from the shared pool: the player is on another node,
			// even if a session it left behind here is still in its grace.
			peer = s.RemotePeer(t.Node(), t.Player.ID)
			ok = peer != nil
		}
		if !ok {
			peer, ok = s.sessions.Peer(t.Player.ID)
		}
		if !ok {
			return fmt.Errorf("player %s has no session", t.Player.ID)
		}
		peers[i] = peer
	}
	r, err := s.OpenRoom(s.runCtx, cfg, func(r *room.Room) { r.Seat(players, peers) })
	if err != nil {
		return err
	}
	for _, id := range humans {
		s.sessions.Seated(id, roomID) // the first question is a countdown away
		s.marks.MarkPlayed(id)
	}
	if s.dir != nil && s.sharing != nil {
		// Players of other nodes find the room by key when they come back;
		// this node's were listed as they were seated.
		if err := s.dir.Seat(ctx, roomID, humans); err != nil {
			s.log.Warn().Err(err).Str("room", roomID).Msg("list the match under its players")
		}
	}
	for _, b := range bots {
		go b.Run(s.runCtx, r, r.Done())
	}
	return nil
}

// Finished settles a finished room: it stores the result, and for quick
// matches updates ratings, awards profile points and frees the players. It
// returns the points awarded per player.
func (s *Host) Finished(ctx context.Context, res *room.Result) map[string]int64 {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	standings, _ := json.Marshal(map[string]any{"standings": res.Standings, "teams": res.Teams})
	result := store.Result{Room: res.Room, Kind: res.Kind, FinishedAt: res.At, Standings: standings}
	inc(s.metrics.Finished)
	if s.dir != nil {
		players := make([]string, len(res.Standings))
		for i, st := range res.Standings {
			players[i] = st.ID
		}
		if err := s.dir.Unseat(ctx, res.Room, players); err != nil {
			// The entries lapse on their own.
			s.log.Warn().Err(err).Str("room", res.Room).Msg("drop a finished room from its players' rooms")
		}
	}
	if s.tournamentFinished(ctx, res, result) {
		return nil
	}
	switch res.Kind {
	case room.KindDuel, room.KindFour:
		return s.finishMatch(ctx, res, result)
	case room.KindTeam:
		return s.finishTeamMatch(ctx, res, result)
	case room.KindDaily, room.KindChallenge:
		return s.soloFinished(ctx, res, result)
	}
	if err := s.store.FinishRoom(ctx, result); err != nil {
		s.log.Error().Err(err).Str("room", res.Room).Msg("store result")
	}
	if res.Kind == room.KindEvent {
		s.eventFinished(ctx, res)
	}
	return nil
}

// finishMatch updates ratings (Elo), awards profile points and stores the
// result in one write, then frees the players for their next match.
func (s *Host) finishMatch(ctx context.Context, res *room.Result, result store.Result) map[string]int64 {
	players := make([]string, 0, len(res.Standings))
	var ratings []float64
	var ranks []int
	var humans []store.PlayerResult
	for _, st := range res.Standings {
		players = append(players, st.ID)
		rating := 1500.0
		if r, ok := s.sessions.Rating(st.ID); ok {
			rating = r
		} else if p, err := s.store.Player(ctx, st.ID); err == nil && p.Rating > 0 {
			rating = p.Rating
		}
		ratings = append(ratings, rating)
		ranks = append(ranks, st.Rank)
		if !match.IsBot(st.ID) {
			humans = append(humans, store.PlayerResult{Player: st.ID, Points: match.PointsFor(res.Kind, st.Rank)})
		}
	}
	defer s.matcher.Release(ctx, res.Room, players)
	next := match.Elo(ratings, ranks)
	for i := range humans {
		for j, id := range players {
			if id == humans[i].Player {
				humans[i].Rating = next[j]
			}
		}
	}
	awarded, err := s.store.FinishMatch(ctx, result, s.day(res.At), s.cfg.PointCaps, humans)
	if err != nil {
		s.log.Error().Err(err).Str("room", res.Room).Msg("store match result")
		return nil
	}
	for _, h := range humans {
		s.sessions.SetRating(h.Player, h.Rating)
	}
	return awarded
}

// Restore rebuilds the rooms that were running when the node stopped, from
// their journals, and re-registers live events. The question that was in
// flight is asked again with a fresh deadline; answers already acknowledged
// for it stand.
func (s *Host) Restore(ctx context.Context) error {
	open, err := s.store.OpenRooms(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, rec := range open {
		var cfg room.Config
		if err := json.Unmarshal(rec.Config, &cfg); err != nil {
			s.log.Error().Err(err).Str("room", rec.ID).Msg("restore: bad config; skipped")
			continue
		}
		entries, err := s.store.Journal(ctx, rec.ID)
		if err != nil {
			return fmt.Errorf("restore %s: %w", rec.ID, err)
		}
		r, err := room.Restore(cfg, s.roomOptions(0), entries)
		if err != nil {
			s.log.Error().Err(err).Str("room", rec.ID).Msg("restore failed; skipped")
			continue
		}
		if res, done := r.FinishedResult(); done {
			// It finished, but its result never reached the store: store it
			// now through the same finisher (ratings and points with it, in
			// the one write that also marks the room finished, so exactly
			// once), and leave its players free. If the store fails again,
			// the next start tries again.
			s.Finished(ctx, res)
			s.log.Info().Str("room", rec.ID).Msg("finished room's result stored at restore")
			continue
		}
		if cfg.Kind == room.KindDuel || cfg.Kind == room.KindFour || cfg.Kind == room.KindTeam {
			s.matcher.Occupy(ctx, rec.ID, r.Members())
		}
		if s.dir != nil {
			// Its players find it by key when they come back.
			if err := s.dir.Seat(ctx, rec.ID, r.Members()); err != nil {
				s.log.Warn().Err(err).Str("room", rec.ID).Msg("restore: list the room under its players")
			}
		}
		if err := s.rooms.Start(s.runCtx, r); err != nil {
			return err
		}
		s.log.Info().Str("room", rec.ID).Int("entries", len(entries)).Msg("room restored")
	}
	return s.restoreEvents(ctx)
}

// teamRoom makes a team quick match's room score its two parties: each
// party is a team, and a team's score is the sum of its members' scores
// (parties are of one size, so the sum ranks as the mean would). Timing and
// scoring are the quick match's own (race).
func teamRoom(cfg *room.Config) {
	if cfg.Kind != room.KindTeam {
		return
	}
	cfg.TeamMode = "sum"
	cfg.Teams = []string{match.TeamA, match.TeamB}
}

// finishTeamMatch settles a team quick match as a quick match is settled,
// every player ranked as its team: ratings (Elo, teammates level with
// each other) and points by the team's rank, paid under the "team" source.
func (s *Host) finishTeamMatch(ctx context.Context, res *room.Result, result store.Result) map[string]int64 {
	rank := map[string]int{}
	for _, t := range res.Teams {
		rank[t.Team] = t.Rank
	}
	byTeam := *res
	byTeam.Standings = make([]protocol.Standing, len(res.Standings))
	for i, st := range res.Standings {
		if r, ok := rank[st.Team]; ok {
			st.Rank = r
		} else {
			st.Rank = len(res.Teams) + 1 // no team: ranked last
		}
		byTeam.Standings[i] = st
	}
	return s.finishMatch(ctx, &byTeam, result)
}
