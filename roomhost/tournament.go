package roomhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/tournament"
)

// Tournament rooms. A knockout match is played in a room of kind
// KindTournament (the final in a stage event's room), a sudden death in
// one of the same kind with one question, a qualifier attempt in a room of
// one player of kind KindQualifier. Their ids name what they play, so the
// finish path and a restart find their way back to the tournament from the
// id alone, and opening a room twice for one match is refused by the store
// (the id is the room's primary key).
const (
	KindTournament = "tournament"
	KindQualifier  = "qualifier"
)

// matchRoomID is the room of a match ("tm-city.r2.m5"); sudden deaths
// add ".sd".
func matchRoomID(m tournament.Match, sudden bool) string {
	id := fmt.Sprintf("tm-%s.r%d.m%d", m.Tournament, m.Round, m.Slot)
	if sudden {
		id += ".sd"
	}
	return id
}

var (
	matchRoomRE   = regexp.MustCompile(`^tm-([A-Za-z0-9_-]{1,64})\.r(\d+)\.m(\d+)(\.sd)?$`)
	attemptRoomRE = regexp.MustCompile(`^tq-([A-Za-z0-9_-]{1,64})\.a(\d+)\.(.+)$`)
)

// AttemptRoomID is a member's n-th qualifier attempt ("tq-city.a2.p-…").
func AttemptRoomID(tid string, n int, player string) string {
	return fmt.Sprintf("tq-%s.a%d.%s", tid, n, player)
}

// tours is the host's side of tournaments: the scheduler's RoundStarter
// and the way results get back. Nil when the store keeps no tournaments.
type tours struct {
	host      *Host
	svc       *tournament.Service
	sched     atomic.Pointer[tournament.Scheduler]
	onAttempt atomic.Pointer[func(string)]
}

func newTours(s *Host) *tours {
	ts, ok := s.store.(store.Tournaments)
	if !ok {
		return nil
	}
	return &tours{host: s, svc: tournament.NewService(ts)}
}

// Tournaments is the tournament service over the host's store; nil if
// the store keeps no tournaments.
func (s *Host) Tournaments() *tournament.Service {
	if s.tour == nil {
		return nil
	}
	return s.tour.svc
}

// OnAttempt has f told of each qualifier attempt recorded, by tournament.
func (s *Host) OnAttempt(f func(tournament string)) {
	if s.tour != nil {
		s.tour.onAttempt.Store(&f)
	}
}

// RunTournaments runs the tournament scheduler on this host's rooms until
// ctx ends, every tick, under lease (nil on a single node), node naming
// this node as its holder. It returns at once if the store keeps no
// tournaments.
func (s *Host) RunTournaments(ctx context.Context, lease tournament.Lease, tick time.Duration, node string) {
	t := s.tour
	if t == nil {
		return
	}
	sched := tournament.NewScheduler(t.svc, t, s.clock, tick, lease, node)
	log := s.log.With().Str("part", "tournament").Logger()
	sched.OnError = func(err error) { log.Warn().Err(err).Msg("tournament tick; tried again on the next") }
	sched.OnFire = func(r store.TournamentRound, delay time.Duration) {
		log.Info().Str("tournament", r.Tournament).Int("round", r.Num).Dur("delay", delay).Msg("round fired")
	}
	t.sched.Store(sched)
	_ = sched.Run(ctx)
}

// PokeTournaments asks the scheduler for a tick now (after a check-in or
// a finished room), so nobody waits for the next.
func (s *Host) PokeTournaments() {
	if s.tour == nil {
		return
	}
	if sched := s.tour.sched.Load(); sched != nil {
		sched.Poke()
	}
}

// DrawPool draws n questions from a tournament's pool for players: its
// sets together, of its categories if any, in lang if set.
func (s *Host) DrawPool(p tournament.Pool, players []string, lang string, n int) ([]questionbank.Question, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var pool []questionbank.Question
	for _, set := range p.Sets {
		// A set imported on another node may not have reached this one.
		if _, err := s.banks.Ensure(ctx, set); err != nil {
			s.log.Warn().Err(err).Str("set", set).Msg("load a tournament's question set")
		}
		pool = append(pool, s.bank.Questions(set)...)
	}
	if len(p.Categories) > 0 {
		cats := map[string]bool{}
		for _, c := range p.Categories {
			cats[strings.ToLower(c)] = true
		}
		kept := pool[:0:0]
		for _, q := range pool {
			if cats[strings.ToLower(q.Category)] {
				kept = append(kept, q)
			}
		}
		pool = kept
	}
	recent, err := s.history.Recent(ctx, players...)
	if err != nil {
		s.log.Warn().Err(err).Msg("read question history; drawn without it")
	}
	qs, err := questionbank.Draw(pool, n, questionbank.DrawOptions{
		Lang: lang, Exclude: recent,
		Rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	})
	if err == nil && len(qs) < n {
		err = questionbank.ErrNotEnough
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the tournament's pool has not enough questions: %v", err).Because("not_enough_questions", nil)
	}
	if err := s.history.Seen(ctx, players, ids(qs)); err != nil {
		s.log.Warn().Err(err).Msg("record question history")
	}
	return qs, nil
}

// TournamentError turns the tournament package's refusals into bad
// requests and a missing tournament into not_found.
func TournamentError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tournament.ErrBadInput):
		return protocol.Errorf(protocol.CodeBadRequest, "%s", strings.TrimPrefix(err.Error(), tournament.ErrBadInput.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "no such tournament").Because("tournament_unknown", nil)
	}
	return protocol.Errorf(protocol.CodeUnavailable, "the server cannot reach its store; try again")
}

// absent is the peer of a seated player with no session on this node: the
// room's messages to them are dropped until they come back and their new
// session attaches to the room (a session finds its rooms by asking each).
type absent struct{}

func (absent) Send(*protocol.Frame) bool { return false }
func (absent) Connected() bool           { return false }
func (absent) Kick(string)               {}

// seat finds the players' names and peers: a player connected here is
// seated through their session, one connected to another node of a
// cluster through that node (the session directory says which), anyone
// else as absent.
func (s *Host) seat(ctx context.Context, players []string, team map[string]string) ([]protocol.PlayerInfo, []room.Peer, error) {
	infos := make([]protocol.PlayerInfo, len(players))
	peers := make([]room.Peer, len(players))
	var away []int
	for i, id := range players {
		p, err := s.store.Player(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("player %s: %w", id, err)
		}
		infos[i] = protocol.PlayerInfo{ID: id, Name: p.Name, Team: team[id]}
		peers[i] = absent{}
		if s.sessions != nil {
			if peer, ok := s.sessions.Peer(id); ok {
				peers[i] = peer
				continue
			}
		}
		away = append(away, i)
	}
	if len(away) == 0 || s.cl == nil || s.dir == nil {
		return infos, peers, nil
	}
	ids := make([]string, len(away))
	for k, i := range away {
		ids[k] = players[i]
	}
	hs, err := s.dir.Holders(ctx, ids)
	if err != nil {
		// Seated as absent: they find the room by key when they come back.
		s.log.Warn().Err(err).Msg("find tournament players on other nodes")
		return infos, peers, nil
	}
	for k, i := range away {
		if h := hs[k]; h.Node != "" && h.Node != s.cl.cfg.Node {
			peers[i] = s.RemotePeer(h.Node, players[i])
		}
	}
	return infos, peers, nil
}

// MatchReady is pushed to each player of a tournament match when its room
// opens (tournament.match): the room's state follows at once.
type MatchReady struct {
	Tournament string   `json:"tournament"`
	Round      int      `json:"round"`
	Slot       int      `json:"slot"`
	Final      bool     `json:"final,omitempty"`
	Sudden     bool     `json:"sudden_death,omitempty"`
	Room       string   `json:"room"`
	Players    []string `json:"players"`
	PIN        string   `json:"pin,omitempty"` // the final's stage event
}

// StartMatch implements tournament.RoundStarter: it opens the match's room
// with its players seated (the final as a stage event) and tells them.
// The room id is the match's, so asking again (a retried tick, a restart
// between opening the room and recording it) opens nothing twice.
func (t *tours) StartMatch(ctx context.Context, m tournament.Match) (string, error) {
	return t.open(ctx, m, m.Players, false)
}

// SuddenDeath implements tournament.RoundStarter: one more question
// between the tied, in a room of its own; its standings (score, then
// time, then seat order, which is the better seed first) resolve the tie.
func (t *tours) SuddenDeath(ctx context.Context, m tournament.Match, tied []string) error {
	_, err := t.open(ctx, m, tied, true)
	return err
}

func (t *tours) open(ctx context.Context, m tournament.Match, players []string, sudden bool) (string, error) {
	s := t.host
	id := matchRoomID(m, sudden)
	if _, ok := s.rooms.Get(id); ok {
		return id, nil
	}
	if m.Final && !sudden {
		return id, t.openFinal(ctx, m, id)
	}
	var team map[string]string
	seated := players
	if m.Config.Teams != nil {
		var err error
		if seated, team, err = t.teamSeats(ctx, m.Tournament, players); err != nil {
			return "", err
		}
	}
	n := m.Config.Questions()
	if sudden {
		n = 1
	}
	qs, err := s.DrawPool(m.Config.Pool, seated, "", n)
	if err != nil {
		return "", err
	}
	cfg := room.Config{
		ID: id, Kind: KindTournament, Title: fmt.Sprintf("round %d", m.Round), Questions: qs, TimeLimit: m.Config.QuestionTime(),
		Scoring: room.Accuracy, AutoStart: true, AutoAdvance: true, RevealFor: s.cfg.RevealFor, Countdown: s.cfg.MatchCountdown,
	}
	if m.Config.Teams != nil {
		cfg.TeamMode, cfg.Teams = m.Config.Teams.Mode, players
	}
	infos, peers, err := s.seat(ctx, seated, team)
	if err != nil {
		return "", err
	}
	if _, err := s.OpenRoom(s.runCtx, cfg, func(r *room.Room) { r.Seat(infos, peers) }); err != nil {
		if errors.Is(err, store.ErrExists) {
			return id, nil // opened before; finished, or restored at start
		}
		return "", err
	}
	t.tell(seated, peers, MatchReady{Tournament: m.Tournament, Round: m.Round, Slot: m.Slot, Final: m.Final, Sudden: sudden, Room: id, Players: players})
	return id, nil
}

// tell pushes tournament.match to the seated players and lists the room in
// their sessions: those connected see it at once, the others on their next
// visit (their new session finds the room, and the page asks "my next
// match").
func (t *tours) tell(players []string, peers []room.Peer, ready MatchReady) {
	s := t.host
	if s.sessions == nil {
		return
	}
	frame := protocol.Encode("tournament.match", "", ready)
	for i, p := range players {
		// The peer the room seated: a session here, or the node holding
		// the player's connection (the push goes over the Bus).
		if i < len(peers) {
			if _, gone := peers[i].(absent); !gone {
				peers[i].Send(protocol.NewFrame(frame))
			}
		}
		s.sessions.Seated(p, ready.Room)
	}
}

// openFinal opens the final as a stage event: the finalists seated by the
// bracket, late join off (the audience watches), a PIN for the hall's
// screens, host and screen links the organizer asks for with the events
// API. The host starts it; it runs itself from there.
func (t *tours) openFinal(ctx context.Context, m tournament.Match, id string) error {
	s := t.host
	evID := "ev-" + id
	if _, err := s.store.Event(ctx, evID); err == nil {
		return nil // opened before
	}
	var team map[string]string
	seated := m.Players
	if m.Config.Teams != nil {
		var err error
		if seated, team, err = t.teamSeats(ctx, m.Tournament, m.Players); err != nil {
			return err
		}
	}
	qs, err := s.DrawPool(m.Config.Pool, seated, "", m.Config.Questions())
	if err != nil {
		return err
	}
	title := "Final"
	if tt, err := t.svc.Title(ctx, m.Tournament); err == nil {
		title = tt + " · Final"
	}
	late := false
	ev := &liveEvent{id: evID, roomID: id, title: title, cfg: EventConfig{Title: title, Count: len(qs),
		TimeLimitMS: m.Config.QuestionTime().Milliseconds(), Scoring: room.Accuracy, AutoAdvance: true,
		RevealMS: s.cfg.RevealFor.Milliseconds(), LateJoin: &late}}
	rcfg := room.Config{ID: id, Kind: room.KindEvent, Title: title, Questions: qs, TimeLimit: m.Config.QuestionTime(), Scoring: room.Accuracy,
		AutoAdvance: true, RevealFor: s.cfg.RevealFor}
	if m.Config.Teams != nil {
		rcfg.TeamMode, rcfg.Teams = m.Config.Teams.Mode, m.Players
		ev.cfg.TeamMode, ev.cfg.Teams = rcfg.TeamMode, rcfg.Teams
	}
	raw, _ := json.Marshal(ev.cfg)
	for attempt := 0; ; attempt++ {
		ev.pin = s.newPIN()
		err = s.store.CreateEvent(ctx, store.Event{ID: ev.id, Room: id, PIN: ev.pin, Title: title, Config: raw, CreatedAt: s.clock.Now()})
		if err == nil {
			break
		}
		if _, e := s.store.Event(ctx, evID); e == nil {
			return nil // created meanwhile
		}
		if !errors.Is(err, store.ErrExists) || attempt > 5 {
			return err
		}
	}
	rcfg.PIN = ev.pin
	infos, peers, err := s.seat(ctx, seated, team)
	if err != nil {
		s.releasePIN(ctx, ev)
		return err
	}
	if _, err := s.OpenRoom(s.runCtx, rcfg, func(r *room.Room) { r.Seat(infos, peers) }); err != nil && !errors.Is(err, store.ErrExists) {
		s.releasePIN(ctx, ev)
		return err
	}
	s.events.add(ev)
	t.tell(seated, peers, MatchReady{Tournament: m.Tournament, Round: m.Round, Slot: m.Slot, Final: true, Room: id, Players: m.Players, PIN: ev.pin})
	return nil
}

// teamSeats seats the members of the units' teams, each with their unit
// as their team.
func (t *tours) teamSeats(ctx context.Context, tid string, units []string) ([]string, map[string]string, error) {
	team := map[string]string{}
	var seated []string
	for _, u := range units {
		ps, err := t.svc.Team(ctx, tid, u)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range ps {
			team[p] = u
			seated = append(seated, p)
		}
	}
	return seated, team, nil
}

// tournamentFinished is the finish path of tournament rooms: it reports a
// match's (or sudden death's) result, or records a qualifier attempt, then
// stores the room's result. It reports false for any other room. A report
// the store refused leaves the room open in the store, so the next start
// reports it again.
func (s *Host) tournamentFinished(ctx context.Context, res *room.Result, result store.Result) bool {
	t := s.tour
	if t == nil {
		return false
	}
	log := s.log.With().Str("room", res.Room).Logger()
	var err error
	stored := false // the room's end is stored with the report
	if m := matchRoomRE.FindStringSubmatch(res.Room); m != nil {
		round, _ := strconv.Atoi(m[2])
		slot, _ := strconv.Atoi(m[3])
		err = t.reportMatch(ctx, m[1], round, slot, m[4] != "", res)
	} else if m := attemptRoomRE.FindStringSubmatch(res.Room); m != nil && res.Kind == KindQualifier {
		stored, err = t.recordAttempt(ctx, m[1], res, result)
		if f := t.onAttempt.Load(); f != nil {
			(*f)(m[1])
		}
	} else {
		return false
	}
	if errors.Is(err, tournament.ErrBadInput) {
		// Reported already (a restart after the report, before the room's
		// end was stored), or a result the tournament cannot take: the
		// room is done either way.
		log.Warn().Err(err).Msg("tournament room result not taken")
	} else if err != nil {
		log.Error().Err(err).Msg("report tournament room; the next start tries again")
		return true
	}
	if !stored {
		if err := s.store.FinishRoom(ctx, result); err != nil {
			log.Error().Err(err).Msg("store result")
		}
	}
	if res.Kind == room.KindEvent {
		s.eventFinished(ctx, res)
	}
	s.PokeTournaments()
	return true
}

// reportMatch hands a match room's standings to the tournament: every
// player who played, their score and total time (a player the room does
// not rank, who left without answering, with nothing). For a team
// tournament the teams are the entrants: a team's score is the room's, its
// time its members' total.
func (t *tours) reportMatch(ctx context.Context, tid string, round, slot int, sudden bool, res *room.Result) error {
	c, err := t.svc.Config(ctx, tid)
	if err != nil {
		return err
	}
	present, tied, err := t.svc.Playing(ctx, tid, round, slot)
	if err != nil {
		return err
	}
	if sudden {
		present = tied
	}
	byID := map[string]tournament.SeatResult{}
	var order []string
	if c.Teams != nil {
		times := map[string]int64{}
		for _, st := range res.Standings {
			times[st.Team] += st.TimeMS
		}
		for _, ts := range res.Teams {
			byID[ts.Team] = tournament.SeatResult{Player: ts.Team, Score: ts.Score, Total: time.Duration(times[ts.Team]) * time.Millisecond}
			order = append(order, ts.Team)
		}
	} else {
		for _, st := range res.Standings {
			byID[st.ID] = tournament.SeatResult{Player: st.ID, Score: st.Score, Total: time.Duration(st.TimeMS) * time.Millisecond}
			order = append(order, st.ID)
		}
	}
	if sudden {
		// The room's own order: score, then time, then seat order.
		var out []string
		for _, p := range order {
			if slices.Contains(tied, p) {
				out = append(out, p)
			}
		}
		for _, p := range tied {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		return t.svc.ResolveTie(ctx, tid, round, slot, out)
	}
	results := make([]tournament.SeatResult, 0, len(present))
	for _, p := range present {
		r, ok := byID[p]
		if !ok {
			r = tournament.SeatResult{Player: p, Total: time.Duration(len(res.Config.Questions)) * res.Config.TimeLimit}
		}
		results = append(results, r)
	}
	return t.svc.Report(ctx, tid, round, slot, results)
}

// recordAttempt records a finished qualifier attempt and stores its
// room's end in one transaction, so the attempt counts exactly once even
// if the node stops between the two. It reports whether the room's end
// was stored; an attempt refused before the store was asked leaves that
// to the caller.
func (t *tours) recordAttempt(ctx context.Context, tid string, res *room.Result, result store.Result) (bool, error) {
	if len(res.Standings) == 0 {
		return false, nil
	}
	st := res.Standings[0]
	total := min(time.Duration(st.TimeMS)*time.Millisecond, time.Duration(len(res.Config.Questions))*res.Config.TimeLimit)
	_, err := t.svc.FinishAttempt(ctx, tid, st.ID, st.Score, total, res.At, result)
	if err == nil || errors.Is(err, store.ErrInvalid) {
		return true, err
	}
	return false, err
}
