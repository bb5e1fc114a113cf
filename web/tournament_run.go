package web

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
	"time"

	"github.com/leitai/leitai/cluster"
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
// room finish path and a restart find their way back to the tournament
// from the id alone, and opening a room twice for one match is refused by
// the store (the id is the room's primary key).
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

// attemptRoomID is a member's n-th qualifier attempt ("tq-city.a2.p-…").
func attemptRoomID(tid string, n int, player string) string {
	return fmt.Sprintf("tq-%s.a%d.%s", tid, n, player)
}

// tourRun is the server's side of tournaments: the scheduler and what it
// asks of the rooms. Nil when the store keeps no tournaments.
type tourRun struct {
	srv   *Server
	svc   *tournament.Service
	sched *tournament.Scheduler
	ranks rankCache
}

// newTourRun wires tournaments to the server if its store keeps them.
// lease is what lets one node of a cluster run the scheduler at a time.
func newTourRun(s *Server, lease tournament.Lease) *tourRun {
	ts, ok := s.store.(store.Tournaments)
	if !ok {
		return nil
	}
	t := &tourRun{srv: s, svc: tournament.NewService(ts)}
	t.sched = tournament.NewScheduler(t.svc, t, s.clock, s.cfg.TournamentTick, lease, s.cfg.Node)
	log := s.log.With().Str("part", "tournament").Logger()
	t.sched.OnError = func(err error) { log.Warn().Err(err).Msg("tournament tick; tried again on the next") }
	t.sched.OnFire = func(r store.TournamentRound, delay time.Duration) {
		log.Info().Str("tournament", r.Tournament).Int("round", r.Num).Dur("delay", delay).Msg("round fired")
	}
	return t
}

// leaseOf adapts a cluster's fenced leases to the scheduler's Lease: the
// scheduler claims and renews by key and owner; the lease it holds is
// kept here so Release can name its epoch.
type leaseOf struct {
	l    cluster.Leases
	held map[string]cluster.Lease
}

// TournamentLease returns the scheduler lease over l, for Deps.
func TournamentLease(l cluster.Leases) tournament.Lease {
	return &leaseOf{l: l, held: map[string]cluster.Lease{}}
}

// Claim implements tournament.Lease. The scheduler calls it from its one
// goroutine.
func (a *leaseOf) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	le, ok, err := a.l.TakeLease(ctx, key, owner, ttl)
	if err != nil {
		return false, err
	}
	if ok {
		a.held[key] = le
	} else {
		delete(a.held, key)
	}
	return ok, nil
}

// Release implements tournament.Lease.
func (a *leaseOf) Release(ctx context.Context, key, owner string) error {
	le, ok := a.held[key]
	if !ok || le.Holder != owner {
		return nil
	}
	delete(a.held, key)
	return a.l.ReleaseLease(ctx, le)
}

// drawPool draws n questions from a tournament's pool for players: its
// sets together, of its categories if any.
func (s *Server) drawPool(p tournament.Pool, players []string, lang string, n int) ([]questionbank.Question, error) {
	var pool []questionbank.Question
	for _, set := range p.Sets {
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
	qs, err := questionbank.Draw(pool, n, questionbank.DrawOptions{
		Lang: lang, Exclude: s.history.Recent(players...),
		Rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	})
	if err == nil && len(qs) < n {
		err = questionbank.ErrNotEnough
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the tournament's pool has not enough questions: %v", err).Because("not_enough_questions", nil)
	}
	s.history.Seen(players, ids(qs))
	return qs, nil
}

// seat finds the players' names and sessions (a player not connected gets
// a session to come back to).
func (s *Server) seat(ctx context.Context, players []string, team map[string]string) ([]protocol.PlayerInfo, []room.Peer, []*session, error) {
	infos := make([]protocol.PlayerInfo, len(players))
	peers := make([]room.Peer, len(players))
	sessions := make([]*session, len(players))
	for i, id := range players {
		sess, err := s.playerSession(ctx, id)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("player %s: %w", id, err)
		}
		infos[i] = protocol.PlayerInfo{ID: id, Name: sess.name, Team: team[id]}
		peers[i], sessions[i] = sess, sess
	}
	return infos, peers, sessions, nil
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
func (t *tourRun) StartMatch(ctx context.Context, m tournament.Match) (string, error) {
	return t.open(ctx, m, m.Players, false)
}

// SuddenDeath implements tournament.RoundStarter: one more question
// between the tied, in a room of its own; its standings (score, then
// time, then seat order, which is the better seed first) resolve the tie.
func (t *tourRun) SuddenDeath(ctx context.Context, m tournament.Match, tied []string) error {
	_, err := t.open(ctx, m, tied, true)
	return err
}

func (t *tourRun) open(ctx context.Context, m tournament.Match, players []string, sudden bool) (string, error) {
	s := t.srv
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
	n, limit := m.Config.Questions(), m.Config.QuestionTime()
	if sudden {
		n = 1
	}
	qs, err := s.drawPool(m.Config.Pool, seated, "", n)
	if err != nil {
		return "", err
	}
	cfg := room.Config{
		ID: id, Kind: KindTournament, Title: fmt.Sprintf("round %d", m.Round), Questions: qs, TimeLimit: limit,
		Scoring: room.Accuracy, AutoStart: true, AutoAdvance: true, RevealFor: s.cfg.RevealFor, Countdown: s.cfg.MatchCountdown,
	}
	if m.Config.Teams != nil {
		cfg.TeamMode, cfg.Teams = m.Config.Teams.Mode, players
	}
	infos, peers, sessions, err := s.seat(ctx, seated, team)
	if err != nil {
		return "", err
	}
	if _, err := s.openRoom(s.runCtx, cfg, func(r *room.Room) { r.Seat(infos, peers) }); err != nil {
		if errors.Is(err, store.ErrExists) {
			return id, nil // opened before; finished, or restored at start
		}
		return "", err
	}
	t.tell(sessions, MatchReady{Tournament: m.Tournament, Round: m.Round, Slot: m.Slot, Final: m.Final, Sudden: sudden, Room: id, Players: players})
	return id, nil
}

// tell pushes tournament.match to the seated players and takes them to
// the room: those connected now see it at once, the others on their next
// visit (the room is among their session's, and the page asks "my next
// match").
func (t *tourRun) tell(sessions []*session, ready MatchReady) {
	frame := protocol.Encode("tournament.match", "", ready)
	for _, sess := range sessions {
		sess.addRoom(ready.Room)
		sess.Send(protocol.NewFrame(frame))
		sess.probe()
	}
}

// openFinal opens the final as a stage event: the finalists seated by the
// bracket, a PIN the audience's screens show, host and screen links the
// organizer asks for (POST /api/v1/tournaments/{id}/final/links). The host
// runs it from the host page like any event.
func (t *tourRun) openFinal(ctx context.Context, m tournament.Match, id string) error {
	s := t.srv
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
	qs, err := s.drawPool(m.Config.Pool, seated, "", m.Config.Questions())
	if err != nil {
		return err
	}
	title := "Final"
	if tt, err := t.svc.Title(ctx, m.Tournament); err == nil {
		title = tt + " · Final"
	}
	ev := &liveEvent{id: evID, roomID: id, title: title, cfg: eventConfig{Title: title, Count: len(qs), TimeLimitMS: m.Config.QuestionTime().Milliseconds(), Scoring: room.Accuracy}}
	// The host starts it; it runs itself from there (the host may pause).
	ev.cfg.AutoAdvance, ev.cfg.RevealMS = true, s.cfg.RevealFor.Milliseconds()
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
	infos, peers, sessions, err := s.seat(ctx, seated, team)
	if err != nil {
		s.releasePIN(ctx, ev)
		return err
	}
	if _, err := s.openRoom(s.runCtx, rcfg, func(r *room.Room) { r.Seat(infos, peers) }); err != nil && !errors.Is(err, store.ErrExists) {
		s.releasePIN(ctx, ev)
		return err
	}
	s.events.add(ev)
	t.tell(sessions, MatchReady{Tournament: m.Tournament, Round: m.Round, Slot: m.Slot, Final: true, Room: id, Players: m.Players, PIN: ev.pin})
	return nil
}

// teamSeats seats the members of the units' teams, each with their unit
// as their team.
func (t *tourRun) teamSeats(ctx context.Context, tid string, units []string) ([]string, map[string]string, error) {
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

// tournamentFinished is the room finish path for tournament rooms: it
// reports a match's (or sudden death's) result, or records a qualifier
// attempt, then stores the room's result. It reports false for any other
// room. A report the store refused leaves the room open in the store, so
// the next start reports it again.
func (s *Server) tournamentFinished(ctx context.Context, res *room.Result, result store.Result) bool {
	if s.tour == nil {
		return false
	}
	t := s.tour
	log := s.log.With().Str("room", res.Room).Logger()
	var err error
	if m := matchRoomRE.FindStringSubmatch(res.Room); m != nil {
		round, _ := strconv.Atoi(m[2])
		slot, _ := strconv.Atoi(m[3])
		err = t.reportMatch(ctx, m[1], round, slot, m[4] != "", res)
	} else if m := attemptRoomRE.FindStringSubmatch(res.Room); m != nil && res.Kind == KindQualifier {
		err = t.recordAttempt(ctx, m[1], res)
		t.ranks.staleRanking(m[1])
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
	if err := s.store.FinishRoom(ctx, result); err != nil {
		log.Error().Err(err).Msg("store result")
	}
	if res.Kind == room.KindEvent {
		s.eventFinished(ctx, res)
	}
	t.sched.Poke()
	return true
}

// reportMatch hands a match room's standings to the tournament: every
// player who played, their score and total time (a player the room does
// not rank, who left without answering, with nothing). For a team
// tournament the teams are the entrants: a team's score is the room's, its
// time its members' total.
func (t *tourRun) reportMatch(ctx context.Context, tid string, round, slot int, sudden bool, res *room.Result) error {
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

// recordAttempt records a finished qualifier attempt and pays its points.
func (t *tourRun) recordAttempt(ctx context.Context, tid string, res *room.Result) error {
	if len(res.Standings) == 0 {
		return nil
	}
	st := res.Standings[0]
	total := min(time.Duration(st.TimeMS)*time.Millisecond, time.Duration(len(res.Config.Questions))*res.Config.TimeLimit)
	_, err := t.svc.RecordAttempt(ctx, tid, st.ID, st.Score, total, res.At)
	return err
}

// TournamentCheckIn asks to check in for a round (tournament.checkin).
type TournamentCheckIn struct {
	Tournament string `json:"tournament"`
	Round      int    `json:"round"`
}

// TournamentAttempt asks for a qualifier attempt (tournament.attempt).
type TournamentAttempt struct {
	Tournament string `json:"tournament"`
	Lang       string `json:"lang,omitempty"`
}

// AttemptStarted answers tournament.attempt; the room's state follows.
type AttemptStarted struct {
	Tournament string    `json:"tournament"`
	Room       string    `json:"room"`
	Attempt    int       `json:"attempt"`
	Of         int       `json:"of"`
	EndsBy     time.Time `json:"ends_by"` // the latest the paper can end
	Resumed    bool      `json:"resumed,omitempty"`
}

// TournamentNext asks for "my next match" (tournament.next).
type TournamentNext struct {
	Tournament string `json:"tournament"`
}

// tournamentMessage serves tournament.checkin, tournament.attempt and
// tournament.next.
func (s *Server) tournamentMessage(ctx context.Context, c *conn, sess *session, in protocol.Inbound) error {
	if s.tour == nil {
		return protocol.Errorf(protocol.CodeUnavailable, "this server's store does not keep tournaments")
	}
	if sess.role != rolePlayer {
		return protocol.Errorf(protocol.CodeForbidden, "only players take part in tournaments")
	}
	now := s.clock.Now()
	switch in.Type {
	case "tournament.checkin":
		var d TournamentCheckIn
		if err := decode(in, &d); err != nil {
			return err
		}
		if err := tourErr(s.tour.svc.CheckIn(ctx, d.Tournament, d.Round, sess.id, now)); err != nil {
			return err
		}
		s.send(c, "tournament.checked_in", in.ID, d)
		s.tour.sched.Poke()
		return nil
	case "tournament.next":
		var d TournamentNext
		if err := decode(in, &d); err != nil {
			return err
		}
		v, err := s.tour.svc.Next(ctx, d.Tournament, sess.id, now)
		if err != nil {
			return tourErr(err)
		}
		s.send(c, "tournament.next", in.ID, v)
		return nil
	case "tournament.attempt":
		var d TournamentAttempt
		if err := decode(in, &d); err != nil {
			return err
		}
		return s.startAttempt(ctx, c, sess, in.ID, d)
	}
	return protocol.Errorf(protocol.CodeBadRequest, "unknown message type %q", trimType(in.Type))
}

// tourErr turns the tournament package's refusals into bad requests and a
// missing tournament into not_found.
func tourErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tournament.ErrBadInput):
		return protocol.Errorf(protocol.CodeBadRequest, "%s", strings.TrimPrefix(err.Error(), tournament.ErrBadInput.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "no such tournament").Because("tournament_unknown", nil)
	}
	return storeUnavailable(err)
}

// startAttempt opens the member's next qualifier attempt, or takes them
// back to the one under way: one at a time, up to the paper's limit,
// inside the window (an attempt must be able to finish before it closes),
// for the chosen units only if the qualifier names some.
func (s *Server) startAttempt(ctx context.Context, c *conn, sess *session, re string, d TournamentAttempt) error {
	svc := s.tour.svc
	cfg, err := svc.Config(ctx, d.Tournament)
	if err != nil {
		return tourErr(err)
	}
	q, now := cfg.Qualifier, s.clock.Now()
	done, err := svc.AttemptsOf(ctx, d.Tournament, sess.id)
	if err != nil {
		return tourErr(err)
	}
	id := attemptRoomID(d.Tournament, done+1, sess.id)
	started := func(resumed bool, ends time.Time) {
		s.send(c, "tournament.attempt_started", re, AttemptStarted{Tournament: d.Tournament, Room: id, Attempt: done + 1, Of: q.Attempts, EndsBy: ends, Resumed: resumed})
	}
	if r, ok := s.rooms.Get(id); ok {
		if err := r.Attach(ctx, sess.id, sess); err == nil {
			sess.addRoom(id)
			started(true, now.Add(q.Length()))
			return nil
		} else if !errors.Is(err, room.ErrClosed) {
			return err
		}
		return protocol.Errorf(protocol.CodeUnavailable, "your last attempt is being recorded; ask again in a moment").Because("attempt_recording", nil)
	}
	switch {
	case done >= q.Attempts:
		return protocol.Errorf(protocol.CodeWrongPhase, "you have made all %d attempts", q.Attempts).Because("attempts_used", nil)
	case now.Before(q.Opens):
		return protocol.Errorf(protocol.CodeWrongPhase, "the qualifier opens at %s", q.Opens.Format(time.RFC3339)).Because("qualifier_not_open", nil)
	case now.Add(q.Length()).After(q.Closes):
		return protocol.Errorf(protocol.CodeWrongPhase, "the qualifier closes at %s: too late to start a %d-minute paper", q.Closes.Format(time.RFC3339), q.Minutes).Because("qualifier_closed", nil)
	}
	if len(q.Units) > 0 {
		if err := s.inUnits(ctx, sess.id, q.Units); err != nil {
			return err
		}
	}
	switch d.Lang {
	case "", "zh", "en":
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "lang must be zh or en").Because("bad_lang", nil)
	}
	qs, err := s.drawPool(cfg.Pool, []string{sess.id}, d.Lang, q.Questions)
	if err != nil {
		return err
	}
	rcfg := room.Config{
		ID: id, Kind: KindQualifier, Title: "qualifier", Questions: qs, TimeLimit: q.PerQuestion(), Scoring: room.Accuracy,
		AutoStart: true, AutoAdvance: true, RevealFor: s.cfg.RevealFor, Countdown: s.cfg.MatchCountdown,
	}
	players := []protocol.PlayerInfo{{ID: sess.id, Name: sess.name}}
	_, err = s.openRoom(s.runCtx, rcfg, func(r *room.Room) {
		r.Seat(players, []room.Peer{sess})
		sess.addRoom(id)
		started(false, now.Add(q.Length()))
	})
	if errors.Is(err, store.ErrExists) {
		return protocol.Errorf(protocol.CodeUnavailable, "your last attempt is being recorded; ask again in a moment").Because("attempt_recording", nil)
	}
	if err != nil {
		return err
	}
	sess.probe()
	s.expiry.markPlayed(sess.id)
	return nil
}

// inUnits refuses a player who is not a member of one of units or of a
// unit under one of them.
func (s *Server) inUnits(ctx context.Context, player string, units []string) error {
	refused := protocol.Errorf(protocol.CodeForbidden, "this qualifier is open to members of %s only", strings.Join(units, ", ")).Because("qualifier_units", nil)
	m, err := s.store.MemberByPlayer(ctx, player)
	if errors.Is(err, store.ErrNotFound) {
		return refused
	}
	if err != nil {
		return storeUnavailable(err)
	}
	o, err := s.store.Org(ctx, m.Unit)
	if err != nil {
		return storeUnavailable(err)
	}
	for _, u := range units {
		if m.Unit == u || strings.Contains("/"+o.Path, "/"+u+"/") {
			return nil
		}
	}
	return refused
}
