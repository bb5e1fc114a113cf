package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leitai/leitai/gateway"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/tournament"
)

// tournamentRunRoutes registers the API of running tournaments: the
// organizer's list and edit, the public view the bracket page reads, the
// live ranking, a player's "my next match", and the units' teams.
func (s *Server) tournamentRunRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/tournaments", s.organizer(s.handleTournaments))
	m.HandleFunc("PUT /api/v1/tournaments/{id}", s.organizer(s.handleEditTournament))
	m.HandleFunc("GET /api/v1/tournaments/{id}/view", s.handleTournamentView)
	m.HandleFunc("GET /api/v1/tournaments/{id}/ranking", s.handleTournamentRanking)
	m.HandleFunc("GET /api/v1/tournaments/{id}/me", s.handleTournamentMe)
	m.HandleFunc("PUT /api/v1/tournaments/{id}/teams/{unit}", s.scoped(s.handleSetTeam))
}

func (s *Server) tourSvc(w http.ResponseWriter) (*tournament.Service, bool) {
	svc := s.host.Tournaments()
	if svc == nil {
		httpError(w, protocol.Errorf(protocol.CodeUnavailable, "this server's store does not keep tournaments"))
		return nil, false
	}
	return svc, true
}

type tournamentSummary struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Format    string `json:"format"`
	Teams     bool   `json:"teams,omitempty"`
	CreatedAt int64  `json:"created_at"`
}

func (s *Server) handleTournaments(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.store.(store.Tournaments)
	if !ok {
		httpError(w, protocol.Errorf(protocol.CodeUnavailable, "this server's store does not keep tournaments"))
		return
	}
	list, err := ts.ListTournaments(r.Context())
	if err != nil {
		httpError(w, gateway.StoreUnavailable(err))
		return
	}
	out := []tournamentSummary{}
	for _, t := range list {
		var c tournament.Config
		_ = json.Unmarshal(t.Config, &c)
		out = append(out, tournamentSummary{ID: t.ID, Title: t.Title, Format: c.Format, Teams: c.Teams != nil, CreatedAt: t.CreatedAt.UnixMilli()})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleEditTournament(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.tourSvc(w)
	if !ok {
		return
	}
	var req createTournament
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be a JSON tournament: %v", err))
		return
	}
	id := r.PathValue("id")
	if req.ID != "" && req.ID != id {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "the body's id %q is not the path's", req.ID))
		return
	}
	if err := svc.Update(r.Context(), id, req.Title, req.Config); err != nil {
		if errors.Is(err, tournament.ErrBadInput) && strings.Contains(err.Error(), "begun") {
			httpError(w, protocol.Errorf(protocol.CodeWrongPhase, "%s", strings.TrimPrefix(err.Error(), tournament.ErrBadInput.Error()+": ")))
			return
		}
		httpError(w, roomhost.TournamentError(err))
		return
	}
	v, err := svc.Bracket(r.Context(), id)
	if err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// tournamentView is what the public bracket page shows: the bracket with
// the players' names, the top of the qualifier, the final's stage event
// (its PIN, for the hall's screens) and, once decided, the standings.
type tournamentView struct {
	tournament.BracketView
	Names     map[string]string `json:"names"`
	Ranking   []rankRow         `json:"ranking"`
	Qualified int               `json:"qualified"` // players with an attempt
	Final     *finalInfo        `json:"final,omitempty"`
	Standings []standingRow     `json:"standings,omitempty"`
	Now       int64             `json:"now"`
}

type finalInfo struct {
	Event string `json:"event"`
	Room  string `json:"room"`
	PIN   string `json:"pin,omitempty"`
}

type standingRow struct {
	Place  int    `json:"place"`
	Player string `json:"player"`
	Name   string `json:"name"`
	Seed   int    `json:"seed"`
	Round  int    `json:"round,omitempty"`
}

// rankRow is one line of the qualifier's ranking: a person or a unit.
type rankRow struct {
	Rank     int    `json:"rank"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Unit     string `json:"unit,omitempty"`
	Score    int64  `json:"score"`
	TotalMS  int64  `json:"total_ms"`
	Finished int64  `json:"finished_at,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	Members  int    `json:"members,omitempty"` // units: members ranked
}

// names looks up display names: players by their stored name, units by
// their organization name; an id not found stands for itself.
func (s *Server) names(ctx context.Context, ids []string, units bool) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, ok := out[id]; ok {
			continue
		}
		out[id] = id
		if units {
			if o, err := s.store.Org(ctx, id); err == nil {
				out[id] = o.Name
			}
		} else if p, err := s.store.Player(ctx, id); err == nil {
			out[id] = p.Name
		}
	}
	return out
}

func (s *Server) handleTournamentView(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.tourSvc(w)
	if !ok {
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	b, err := svc.Bracket(ctx, id)
	if err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	b.Config.Pool = tournament.Pool{} // what the questions are drawn from is the organizer's
	v := tournamentView{BracketView: b, Now: s.clock.Now().UnixMilli()}
	var ids []string
	for _, e := range b.Entrants {
		ids = append(ids, e.Player)
	}
	for _, rd := range b.Rounds {
		for _, m := range rd.Matches {
			ids = append(ids, m.Seats...)
		}
	}
	v.Names = s.names(ctx, ids, b.Config.Teams != nil)
	rows, n, err := s.ranking(ctx, svc, id, "person", 10)
	if err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	v.Ranking, v.Qualified = rows, n
	if len(b.Rounds) > 0 {
		last := b.Rounds[len(b.Rounds)-1]
		for _, m := range last.Matches {
			if m.Room != "" {
				v.Final = &finalInfo{Event: "ev-" + m.Room, Room: m.Room}
				if _, info, ok := s.host.Event("ev-" + m.Room); ok {
					v.Final.PIN = info.PIN
				}
			}
		}
		if last.State == store.RoundFinished {
			st, err := svc.Standings(ctx, id)
			if err == nil {
				for _, sd := range st {
					v.Standings = append(v.Standings, standingRow{Place: sd.Place, Player: sd.Player, Name: v.Names[sd.Player], Seed: sd.Seed, Round: sd.Round})
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// rankCache keeps each tournament's ranking as last computed: a new
// attempt marks it stale, and a stale ranking is computed again by one
// reader at a time, at most every rankEvery, the others reading the last
// one meanwhile. So a flood of attempts and readers costs one ranking at a
// time, and a reader sees an attempt within rankEvery of its end.
type rankCache struct {
	mu      sync.Mutex
	entries map[string]*rankEntry // tournament + "/" + by
}

type rankEntry struct {
	rows    []rankRow // nil until first computed
	at      time.Time // wall time of the last computation
	stale   bool
	running chan struct{} // closed when the computation under way ends; nil if none
}

const rankEvery = 250 * time.Millisecond

// staleRanking marks a tournament's rankings stale.
func (c *rankCache) staleRanking(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if strings.HasPrefix(k, id+"/") {
			e.stale = true
		}
	}
}

// ranking is the qualifier's ranking by person (each member's best
// attempt) or by unit (units ordered by their members' mean best score,
// then mean time, counting the members who made an attempt), its first
// limit rows and how many rows there are.
func (s *Server) ranking(ctx context.Context, svc *tournament.Service, id, by string, limit int) ([]rankRow, int, error) {
	c := &s.ranks
	key := id + "/" + by
	for {
		c.mu.Lock()
		if c.entries == nil {
			c.entries = map[string]*rankEntry{}
		}
		e := c.entries[key]
		if e == nil {
			e = &rankEntry{stale: true}
			c.entries[key] = e
		}
		if e.running == nil && (e.rows == nil || (e.stale && time.Since(e.at) >= rankEvery)) {
			done := make(chan struct{})
			e.running, e.stale = done, false
			c.mu.Unlock()
			rows, err := s.computeRanking(ctx, svc, id, by)
			c.mu.Lock()
			e.running = nil
			close(done)
			if err != nil {
				e.stale = true
				c.mu.Unlock()
				return nil, 0, err
			}
			e.rows, e.at = rows, time.Now()
		}
		if rows := e.rows; rows != nil {
			c.mu.Unlock()
			// Names are looked up for the rows read, not for the whole field.
			out := slices.Clone(rows[:min(len(rows), limit)])
			ids := make([]string, len(out))
			for i := range out {
				ids[i] = out[i].ID
			}
			names := s.names(ctx, ids, by == "unit")
			for i := range out {
				out[i].Name = names[out[i].ID]
			}
			return out, len(rows), nil
		}
		wait := e.running
		c.mu.Unlock()
		select { // the first computation is under way
		case <-wait:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func (s *Server) computeRanking(ctx context.Context, svc *tournament.Service, id, by string) ([]rankRow, error) {
	ranked, err := svc.Ranking(ctx, id)
	if err != nil {
		return nil, err
	}
	if by == "unit" {
		type acc struct {
			score, ms int64
			n         int
		}
		units := map[string]*acc{}
		for _, rk := range ranked {
			m, err := s.store.MemberByPlayer(ctx, rk.Player)
			if err != nil {
				continue
			}
			a := units[m.Unit]
			if a == nil {
				a = &acc{}
				units[m.Unit] = a
			}
			a.score += rk.Best.Score
			a.ms += rk.Best.Total.Milliseconds()
			a.n++
		}
		rows := make([]rankRow, 0, len(units))
		for u, a := range units {
			rows = append(rows, rankRow{ID: u, Score: a.score * 1000 / int64(a.n), TotalMS: a.ms / int64(a.n), Members: a.n})
		}
		sort.Slice(rows, func(i, j int) bool {
			a, b := rows[i], rows[j]
			if a.Score != b.Score {
				return a.Score > b.Score
			}
			if a.TotalMS != b.TotalMS {
				return a.TotalMS < b.TotalMS
			}
			return a.ID < b.ID
		})
		for i := range rows {
			rows[i].Rank = i + 1
		}
		return rows, nil
	}
	rows := make([]rankRow, len(ranked))
	for i, rk := range ranked {
		rows[i] = rankRow{Rank: rk.Rank, ID: rk.Player, Score: rk.Best.Score, TotalMS: rk.Best.Total.Milliseconds(),
			Finished: rk.Best.FinishedAt.UnixMilli(), Attempts: rk.Attempts}
	}
	return rows, nil
}

// handleTournamentRanking serves the live qualifier ranking:
// ?by=person (default) or unit, ?limit= 1–1000 (default 100).
func (s *Server) handleTournamentRanking(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.tourSvc(w)
	if !ok {
		return
	}
	by := r.URL.Query().Get("by")
	switch by {
	case "":
		by = "person"
	case "person", "unit":
	default:
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "by must be person or unit"))
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "limit must be 1 to 1000"))
			return
		}
		limit = n
	}
	id := r.PathValue("id")
	if _, err := svc.Title(r.Context(), id); err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	rows, n, err := s.ranking(r.Context(), svc, id, by, limit)
	if err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"by": by, "rows": rows, "of": n})
}

// handleTournamentMe is a player's "my next match" (player token): the
// same as tournament.next over the socket.
func (s *Server) handleTournamentMe(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.tourSvc(w)
	if !ok {
		return
	}
	t, ok := s.bearer(r)
	if !ok || t.Kind != store.TokenPlayer {
		httpError(w, protocol.Errorf(protocol.CodeUnauthenticated, "send your player token"))
		return
	}
	v, err := svc.Next(r.Context(), r.PathValue("id"), t.Subject, s.clock.Now())
	if err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleSetTeam stores a unit's team for a team tournament: the organizer
// or the unit's admin (or an admin above it) names 2–5 of its registered
// members, by member id.
func (s *Server) handleSetTeam(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.tourSvc(w)
	if !ok {
		return
	}
	unit, err := s.node(r, r.PathValue("unit"))
	if err != nil {
		httpError(w, err)
		return
	}
	var body struct {
		Members []string `json:"members"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&body); err != nil || len(body.Members) == 0 {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be JSON {members: [member ids]}"))
		return
	}
	if len(body.Members) > 5 {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "a team has at most 5 players"))
		return
	}
	var players []string
	for _, id := range body.Members {
		m, err := s.member(r, id)
		if err == nil {
			var o store.Org
			if o, err = s.store.Org(r.Context(), m.Unit); err == nil && !strings.HasPrefix(o.Path, unit.Path) {
				err = errors.New("not of this unit")
			}
		}
		if err != nil {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "member %q is not of unit %s", id, unit.Code))
			return
		}
		if m.Player == "" {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "member %q has not registered yet", id))
			return
		}
		players = append(players, m.Player)
	}
	if err := svc.SetTeam(r.Context(), r.PathValue("id"), unit.Code, players, s.clock.Now()); err != nil {
		httpError(w, roomhost.TournamentError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tournament": r.PathValue("id"), "unit": unit.Code, "players": players})
}
