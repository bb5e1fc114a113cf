package web

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/gateway"
	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/org"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/store"
)

// orgRoutes registers the organization, member, ledger and leaderboard
// endpoints. Each one that reads or changes the tree takes the organizer
// token (the whole tree) or an organization admin token (its subtree).
func (s *Server) orgRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/orgs/import", s.organizer(s.handleOrgImport))
	m.HandleFunc("GET /api/v1/orgs", s.scoped(s.handleOrgs))
	m.HandleFunc("GET /api/v1/orgs/{code}", s.scoped(s.handleOrg))
	m.HandleFunc("PATCH /api/v1/orgs/{code}", s.scoped(s.handleOrgEdit))
	m.HandleFunc("POST /api/v1/orgs/{code}/admin-token", s.organizer(s.handleOrgToken))
	m.HandleFunc("GET /api/v1/orgs/{code}/members", s.scoped(s.handleOrgMembers))
	m.HandleFunc("GET /api/v1/orgs/{code}/weekly", s.scoped(s.handleWeekly))
	m.HandleFunc("POST /api/v1/members/import", s.scoped(s.handleRosterImport))
	m.HandleFunc("POST /api/v1/members/register", s.handleMemberRegister)
	m.HandleFunc("PATCH /api/v1/members/{id}", s.scoped(s.handleMemberMove))
	m.HandleFunc("GET /api/v1/members/{id}/rank", s.scoped(s.handleMemberRank))
	m.HandleFunc("GET /api/v1/members/{id}/ledger", s.scoped(s.handleMemberLedger))
	m.HandleFunc("GET /api/v1/leaderboard/players", s.scoped(s.handleBoardPlayers))
	m.HandleFunc("GET /api/v1/leaderboard/units", s.scoped(s.handleBoardUnits))
	m.HandleFunc("GET /api/v1/me", s.handleMe)
	m.HandleFunc("GET /api/v1/me/ledger", s.handleMyLedger)
	m.HandleFunc("POST /api/v1/orgs/{code}/board-token", s.scoped(s.handleBoardToken))
}

// scope is what a token may see: every node (root "") or one subtree.
type scope struct {
	root string // the node code; "" for the organizer
	path string // the root's path
}

type scopeKey struct{}

// scoped wraps a handler that takes the organizer token or an
// organization admin token; the handler reads the scope with scopeOf.
func (s *Server) scoped(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.bearer(r)
		if !ok {
			httpError(w, protocol.Errorf(protocol.CodeUnauthenticated, "send the organizer or an organization admin token as Authorization: Bearer <token>"))
			return
		}
		var sc scope
		switch t.Kind {
		case store.TokenOrganizer:
		case store.TokenOrgAdmin, store.TokenOrgBoard:
			if t.Kind == store.TokenOrgBoard && !boardMayRead(r) {
				httpError(w, protocol.Errorf(protocol.CodeForbidden, "a leaderboard screen token reads the leaderboards only"))
				return
			}
			o, err := s.store.Org(r.Context(), t.Subject)
			if err != nil {
				httpError(w, protocol.Errorf(protocol.CodeForbidden, "this token's unit no longer exists"))
				return
			}
			sc = scope{root: o.Code, path: o.Path}
		default:
			httpError(w, protocol.Errorf(protocol.CodeForbidden, "this needs the organizer or an organization admin token"))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, sc)))
	}
}

func scopeOf(r *http.Request) scope { sc, _ := r.Context().Value(scopeKey{}).(scope); return sc }

// covers reports whether the node with this path is in the scope.
func (sc scope) covers(path string) bool { return sc.root == "" || strings.HasPrefix(path, sc.path) }

// node returns a node the scope covers; a node outside it is reported as
// not found, the same as one that does not exist.
func (s *Server) node(r *http.Request, code string) (store.Org, error) {
	o, err := s.store.Org(r.Context(), code)
	if err != nil || !scopeOf(r).covers(o.Path) {
		return store.Org{}, protocol.Errorf(protocol.CodeNotFound, "no unit %q in your organization", code)
	}
	return o, nil
}

// member returns a member whose unit the scope covers.
func (s *Server) member(r *http.Request, id string) (store.Member, error) {
	m, err := s.store.Member(r.Context(), id)
	if err == nil {
		if _, err = s.node(r, m.Unit); err == nil {
			return m, nil
		}
	}
	return store.Member{}, protocol.Errorf(protocol.CodeNotFound, "no member %q in your organization", id)
}

// storeError maps store sentinels onto API errors.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "%s: %v", what, err)
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrInvalid):
		return protocol.Errorf(protocol.CodeBadRequest, "%s: %v", what, err)
	}
	return err
}

// shortCode is a random code people can type: 10 characters of base32.
func shortCode() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base32.StdEncoding.EncodeToString(b[:])[:10]
}

func tableFormat(r *http.Request) (string, error) {
	f := r.URL.Query().Get("format")
	if f == "" {
		ct := r.Header.Get("Content-Type")
		switch {
		case strings.Contains(ct, "csv"):
			f = "csv"
		case strings.Contains(ct, "spreadsheetml"), strings.Contains(ct, "excel"):
			f = "xlsx"
		}
	}
	if f != "csv" && f != "xlsx" {
		return "", protocol.Errorf(protocol.CodeBadRequest, "say the format: ?format=csv|xlsx or a Content-Type")
	}
	return f, nil
}

func (s *Server) handleOrgImport(w http.ResponseWriter, r *http.Request) {
	format, err := tableFormat(r)
	if err != nil {
		httpError(w, err)
		return
	}
	all, err := s.store.Orgs(r.Context(), "")
	if err != nil {
		httpError(w, err)
		return
	}
	have := make(map[string]bool, len(all))
	for _, o := range all {
		have[o.Code] = true
	}
	units, rowErrs, err := org.ParseTree(format, http.MaxBytesReader(w, r.Body, org.MaxFile), func(c string) bool { return have[c] })
	if err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "cannot read the file: %v", err))
		return
	}
	if len(rowErrs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"imported": 0, "errors": rowErrs})
		return
	}
	if len(units) == 0 {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "the file has no units"))
		return
	}
	now := s.clock.Now()
	orgs := make([]store.Org, len(units))
	for i, u := range units {
		orgs[i] = store.Org{Code: u.Code, Name: u.Name, Parent: u.Parent, Expected: u.Expected, JoinCode: shortCode(), CreatedAt: now}
	}
	if err := s.store.AddOrgs(r.Context(), orgs); err != nil {
		httpError(w, storeError(err, "import"))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"imported": len(orgs), "units": units})
}

// periodOf reads ?period=day|week|month|all (default week) and ?date=
// YYYY-MM-DD (default today in the configured time zone) into a rollup
// key.
func (s *Server) periodOf(r *http.Request) (kind, key string, err error) {
	kind = r.URL.Query().Get("period")
	if kind == "" {
		kind = store.PeriodWeek
	}
	day := r.URL.Query().Get("date")
	if day == "" {
		day = s.host.Day(s.clock.Now())
	}
	key, err = store.PeriodKey(kind, day)
	if err != nil {
		return "", "", protocol.Errorf(protocol.CodeBadRequest, "period must be day, week, month or all and date YYYY-MM-DD")
	}
	return kind, key, nil
}

// tree loads the subtree under root with each node's rollup for period.
func (s *Server) tree(ctx context.Context, root, period string) (*org.Tree, []store.Org, error) {
	orgs, err := s.store.Orgs(ctx, root)
	if err != nil {
		return nil, nil, err
	}
	pts, err := s.store.UnitPoints(ctx, period)
	if err != nil {
		return nil, nil, err
	}
	return treeOf(orgs, pts), orgs, nil
}

// BoardFresh is how old the units leaderboard (GET
// /api/v1/leaderboard/units, which screens and pages poll) may be: its
// tree and rollups are read from the database at most once per interval
// and board, on each node alike. The organizer's pages (the tree, a node,
// the weekly ranking) read afresh every time.
const BoardFresh = 2 * time.Second

// treeOf builds the tree of orgs with each node's rollup from pts.
func treeOf(orgs []store.Org, pts []store.UnitPoints) *org.Tree {
	byUnit := make(map[string]store.UnitPoints, len(pts))
	for _, p := range pts {
		byUnit[p.Unit] = p
	}
	nodes := make([]org.Node, len(orgs))
	for i, o := range orgs {
		p := byUnit[o.Code]
		nodes[i] = org.Node{Code: o.Code, Name: o.Name, Parent: o.Parent, Expected: o.Expected,
			Members: o.Members, Registered: o.Registered, Points: p.Points, Active: p.Active}
	}
	return org.NewTree(nodes)
}

type orgInfo struct {
	org.Figures
	Path     string `json:"path"`
	JoinCode string `json:"join_code"`
}

// handleOrgs lists the scope's nodes (or those under ?root=) with the
// figures of each one's subtree for the period.
func (s *Server) handleOrgs(w http.ResponseWriter, r *http.Request) {
	root := r.URL.Query().Get("root")
	if root == "" {
		root = scopeOf(r).root
	}
	if root != "" {
		if _, err := s.node(r, root); err != nil {
			httpError(w, err)
			return
		}
	}
	kind, key, err := s.periodOf(r)
	if err != nil {
		httpError(w, err)
		return
	}
	t, orgs, err := s.tree(r.Context(), root, key)
	if err != nil {
		httpError(w, err)
		return
	}
	out := make([]orgInfo, len(orgs))
	for i, o := range orgs {
		out[i] = orgInfo{Figures: t.Sum(o.Code), Path: o.Path, JoinCode: o.JoinCode}
	}
	writeJSON(w, 200, map[string]any{"period": kind, "key": key, "orgs": out})
}

func (s *Server) handleOrg(w http.ResponseWriter, r *http.Request) {
	o, err := s.node(r, r.PathValue("code"))
	if err != nil {
		httpError(w, err)
		return
	}
	kind, key, err := s.periodOf(r)
	if err != nil {
		httpError(w, err)
		return
	}
	t, _, err := s.tree(r.Context(), o.Code, key)
	if err != nil {
		httpError(w, err)
		return
	}
	kids := []org.Figures{}
	for _, c := range t.Children(o.Code) {
		kids = append(kids, t.Sum(c))
	}
	writeJSON(w, 200, map[string]any{"period": kind, "key": key,
		"org": orgInfo{Figures: t.Sum(o.Code), Path: o.Path, JoinCode: o.JoinCode}, "children": kids})
}

// handleOrgEdit changes a node's name, expected count or join code, or
// moves it under another parent. An organization admin may move nodes
// within its subtree only, and not its own root.
func (s *Server) handleOrgEdit(w http.ResponseWriter, r *http.Request) {
	o, err := s.node(r, r.PathValue("code"))
	if err != nil {
		httpError(w, err)
		return
	}
	var body struct {
		Name     *string `json:"name"`
		Expected *int64  `json:"expected"`
		JoinCode *string `json:"join_code"`
		Parent   *string `json:"parent"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be JSON {name?, expected?, join_code?, parent?}: %v", err))
		return
	}
	sc := scopeOf(r)
	if body.Name != nil {
		if why := org.CheckName(strings.TrimSpace(*body.Name)); why != "" {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "name %s", why))
			return
		}
		o.Name = strings.TrimSpace(*body.Name)
	}
	if body.Expected != nil {
		if *body.Expected < 0 || *body.Expected > 10_000_000 {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "expected must be from 0 to 10000000"))
			return
		}
		o.Expected = *body.Expected
	}
	if body.JoinCode != nil {
		jc := strings.TrimSpace(*body.JoinCode)
		if jc != "" && org.CheckCode(jc) != "" {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "join code %s", org.CheckCode(jc)))
			return
		}
		o.JoinCode = jc
	}
	if body.Parent != nil && *body.Parent != o.Parent {
		p := strings.TrimSpace(*body.Parent)
		if sc.root != "" && (o.Code == sc.root || p == "") {
			httpError(w, protocol.Errorf(protocol.CodeForbidden, "an organization admin cannot move its own unit or make a root"))
			return
		}
		if p != "" {
			if _, err := s.node(r, p); err != nil {
				httpError(w, err)
				return
			}
		}
		if err := s.store.MoveOrg(r.Context(), o.Code, p); err != nil {
			httpError(w, storeError(err, "move"))
			return
		}
	}
	if err := s.store.UpdateOrg(r.Context(), o); err != nil {
		httpError(w, storeError(err, "edit"))
		return
	}
	o, err = s.store.Org(r.Context(), o.Code)
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"code": o.Code, "name": o.Name, "parent": o.Parent, "path": o.Path, "expected": o.Expected, "join_code": o.JoinCode})
}

// handleOrgToken issues an organization admin token for a node.
func (s *Server) handleOrgToken(w http.ResponseWriter, r *http.Request) {
	o, err := s.node(r, r.PathValue("code"))
	if err != nil {
		httpError(w, err)
		return
	}
	secret, hash := token.New()
	if err := s.store.PutToken(r.Context(), store.Token{Hash: hash, Kind: store.TokenOrgAdmin, Subject: o.Code, CreatedAt: s.clock.Now()}); err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"org": o.Code, "token": secret})
}

type memberInfo struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Number       string `json:"number"`
	Unit         string `json:"unit"`
	Player       string `json:"player,omitempty"`
	RegisteredAt int64  `json:"registered_at,omitempty"`
	Invite       string `json:"invite,omitempty"` // only in the import's answer
}

func infoOf(m store.Member) memberInfo {
	i := memberInfo{ID: m.ID, Name: m.Name, Number: m.Number, Unit: m.Unit, Player: m.Player}
	if !m.RegisteredAt.IsZero() {
		i.RegisteredAt = m.RegisteredAt.UnixMilli()
	}
	return i
}

func (s *Server) handleOrgMembers(w http.ResponseWriter, r *http.Request) {
	o, err := s.node(r, r.PathValue("code"))
	if err != nil {
		httpError(w, err)
		return
	}
	ms, err := s.store.Members(r.Context(), o.Code)
	if err != nil {
		httpError(w, err)
		return
	}
	out := make([]memberInfo, len(ms))
	for i, m := range ms {
		out[i] = infoOf(m)
	}
	writeJSON(w, 200, out)
}

// handleRosterImport reads a roster and creates a member with an
// invitation code for each row; the codes are in the answer only.
func (s *Server) handleRosterImport(w http.ResponseWriter, r *http.Request) {
	format, err := tableFormat(r)
	if err != nil {
		httpError(w, err)
		return
	}
	sc := scopeOf(r)
	orgs, err := s.store.Orgs(r.Context(), sc.root)
	if err != nil {
		httpError(w, err)
		return
	}
	in := make(map[string]bool, len(orgs))
	for _, o := range orgs {
		in[o.Code] = true
	}
	rows, rowErrs, err := org.ParseRoster(format, http.MaxBytesReader(w, r.Body, org.MaxFile), func(code string) string {
		if !in[code] {
			return "no unit " + code + " in your organization"
		}
		return ""
	})
	if err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "cannot read the file: %v", err))
		return
	}
	if len(rowErrs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"imported": 0, "errors": rowErrs})
		return
	}
	now := s.clock.Now()
	ms := make([]store.Member, len(rows))
	out := make([]memberInfo, len(rows))
	for i, row := range rows {
		code := shortCode()
		ms[i] = store.Member{ID: "m-" + uuid.NewString(), Name: row.Name, Number: row.Number, Unit: row.Unit, Invite: token.Hash(code), CreatedAt: now}
		out[i] = infoOf(ms[i])
		out[i].Invite = code
	}
	if err := s.store.AddMembers(r.Context(), ms); err != nil {
		httpError(w, storeError(err, "import"))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"imported": len(ms), "members": out})
}

// handleMemberRegister registers a member with an invitation code, or
// with a unit's join code (then name and an optional member number are
// given), and returns a player token: the member plays as that player.
func (s *Server) handleMemberRegister(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Invite   string `json:"invite"`
		JoinCode string `json:"join_code"`
		Name     string `json:"name"`
		Number   string `json:"number"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be JSON {invite} or {join_code, name, number?}"))
		return
	}
	ctx, now := r.Context(), s.clock.Now()
	secret, hash := token.New()
	p := store.Player{ID: "p-" + uuid.NewString(), Rating: 1500, CreatedAt: now}
	tok := store.Token{Hash: hash, Kind: store.TokenPlayer, Subject: p.ID, CreatedAt: now}
	var m store.Member
	switch {
	case body.Invite != "":
		pending, err := s.store.MemberByInvite(ctx, token.Hash(strings.TrimSpace(body.Invite)))
		if err != nil {
			httpError(w, protocol.Errorf(protocol.CodeNotFound, "unknown or used invitation"))
			return
		}
		name := pending.Name
		if body.Name != "" {
			name = body.Name
		}
		if p.Name, err = s.cleanName(name); err != nil {
			httpError(w, err)
			return
		}
		p.Org = pending.Unit
		if m, err = s.store.RegisterMember(ctx, pending.Invite, p, tok); err != nil {
			httpError(w, protocol.Errorf(protocol.CodeNotFound, "unknown or used invitation"))
			return
		}
	case body.JoinCode != "":
		o, err := s.store.OrgByJoinCode(ctx, strings.TrimSpace(body.JoinCode))
		if err != nil {
			httpError(w, protocol.Errorf(protocol.CodeNotFound, "unknown join code"))
			return
		}
		if p.Name, err = s.cleanName(body.Name); err != nil {
			httpError(w, err)
			return
		}
		num := strings.TrimSpace(body.Number)
		if num != "" && org.CheckCode(num) != "" {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "member number %s", org.CheckCode(num)))
			return
		}
		p.Org = o.Code
		m = store.Member{ID: "m-" + uuid.NewString(), Name: p.Name, Number: num, Unit: o.Code, Player: p.ID, RegisteredAt: now, CreatedAt: now}
		if err := s.store.JoinMember(ctx, m, p, tok); err != nil {
			httpError(w, storeError(err, "join"))
			return
		}
	default:
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "give an invite or a join_code"))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": p.ID, "member": m.ID, "name": p.Name, "unit": m.Unit, "token": secret})
}

// handleMemberMove puts a member in another unit of the scope.
func (s *Server) handleMemberMove(w http.ResponseWriter, r *http.Request) {
	m, err := s.member(r, r.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	var body struct {
		Unit string `json:"unit"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Unit == "" {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be JSON {unit}"))
		return
	}
	if _, err := s.node(r, body.Unit); err != nil {
		httpError(w, err)
		return
	}
	if err := s.store.MoveMember(r.Context(), m.ID, body.Unit); err != nil {
		httpError(w, storeError(err, "move member"))
		return
	}
	m.Unit = body.Unit
	writeJSON(w, 200, infoOf(m))
}

func (s *Server) handleMemberRank(w http.ResponseWriter, r *http.Request) {
	m, err := s.member(r, r.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	s.writeRank(w, r, m)
}

func (s *Server) writeRank(w http.ResponseWriter, r *http.Request, m store.Member) {
	if out, err := s.rankOf(r, m); err != nil {
		httpError(w, err)
	} else {
		writeJSON(w, 200, out)
	}
}

// rankOf is a member's points and ranks in the period ?period= names.
func (s *Server) rankOf(r *http.Request, m store.Member) (map[string]any, error) {
	kind, key, err := s.periodOf(r)
	if err != nil {
		return nil, err
	}
	if m.Player == "" {
		return map[string]any{"period": kind, "key": key, "member": infoOf(m), "registered": false}, nil
	}
	rk, err := s.store.Rank(r.Context(), key, m.Player)
	if err != nil {
		return nil, err
	}
	return map[string]any{"period": kind, "key": key, "member": infoOf(m), "registered": true,
		"points": rk.Points, "city_rank": rk.CityRank, "city_of": rk.CityOf,
		"unit_points": rk.UnitPoints, "unit_rank": rk.UnitRank, "unit_of": rk.UnitOf}, nil
}

// soloOf is where a player stands in the solo formats: today's daily
// practice ("todo", "started" or "done", read from the store so any node
// answers alike) and their best challenge run (0 before the first).
func (s *Server) soloOf(ctx context.Context, player string) (map[string]any, error) {
	day := s.host.Day(s.clock.Now())
	state := "todo"
	rm, err := s.store.Room(ctx, gateway.DailyRoomID(player, day))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	case rm.FinishedAt.IsZero():
		state = "started"
	default:
		state = "done"
	}
	best := 0
	if b, err := s.store.ChallengeBestOf(ctx, player); err == nil {
		best = b.Best
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return map[string]any{"daily": map[string]any{"day": day, "state": state}, "challenge_best": best}, nil
}

type ledgerRow struct {
	Ref    string `json:"ref"`
	Source string `json:"source"`
	Points int64  `json:"points"`
	Paid   int64  `json:"paid"`
	Unit   string `json:"unit"`
	Day    string `json:"day"`
	At     int64  `json:"at"`
}

func (s *Server) writeLedger(w http.ResponseWriter, r *http.Request, player string) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.store.Ledger(r.Context(), player, limit)
	if err != nil {
		httpError(w, err)
		return
	}
	out := make([]ledgerRow, len(rows))
	for i, a := range rows {
		out[i] = ledgerRow{Ref: a.Ref, Source: a.Source, Points: a.Points, Paid: a.Paid, Unit: a.Unit, Day: a.Day, At: a.At.UnixMilli()}
	}
	writeJSON(w, 200, out)
}

func (s *Server) handleMemberLedger(w http.ResponseWriter, r *http.Request) {
	m, err := s.member(r, r.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	if m.Player == "" {
		writeJSON(w, 200, []ledgerRow{})
		return
	}
	s.writeLedger(w, r, m.Player)
}

// handleMe is a registered member's own standing (player token).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	t, ok := s.bearer(r)
	if !ok || t.Kind != store.TokenPlayer {
		httpError(w, protocol.Errorf(protocol.CodeUnauthenticated, "send your player token"))
		return
	}
	m, err := s.store.MemberByPlayer(r.Context(), t.Subject)
	if err != nil {
		httpError(w, protocol.Errorf(protocol.CodeNotFound, "this player is not a member of a unit"))
		return
	}
	out, err := s.rankOf(r, m)
	if err != nil {
		httpError(w, err)
		return
	}
	solo, err := s.soloOf(r.Context(), t.Subject)
	if err != nil {
		httpError(w, gateway.StoreUnavailable(err))
		return
	}
	maps.Copy(out, solo)
	writeJSON(w, 200, out)
}

// handleMyLedger is a member's own history (player token): their latest
// awards, newest first (?limit=, 1–500, default 100).
func (s *Server) handleMyLedger(w http.ResponseWriter, r *http.Request) {
	t, ok := s.bearer(r)
	if !ok || t.Kind != store.TokenPlayer {
		httpError(w, protocol.Errorf(protocol.CodeUnauthenticated, "send your player token"))
		return
	}
	if _, err := s.store.MemberByPlayer(r.Context(), t.Subject); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeNotFound, "this player is not a member of a unit"))
		return
	}
	s.writeLedger(w, r, t.Subject)
}

// boardRoot is ?org= if the scope covers it, else the scope's root.
func (s *Server) boardRoot(r *http.Request) (string, error) {
	code := r.URL.Query().Get("org")
	if code == "" {
		return scopeOf(r).root, nil
	}
	_, err := s.node(r, code)
	return code, err
}

func pageOf(r *http.Request) (offset, limit int) {
	offset, _ = strconv.Atoi(r.URL.Query().Get("offset"))
	limit, _ = strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return max(offset, 0), limit
}

// handleBoardPlayers ranks the members of a subtree (the whole city for
// the organizer without ?org=) by points in the period.
func (s *Server) handleBoardPlayers(w http.ResponseWriter, r *http.Request) {
	root, err := s.boardRoot(r)
	if err != nil {
		httpError(w, err)
		return
	}
	kind, key, err := s.periodOf(r)
	if err != nil {
		httpError(w, err)
		return
	}
	offset, limit := pageOf(r)
	list, err := s.store.TopPlayers(r.Context(), key, root, offset, limit)
	if err != nil {
		httpError(w, err)
		return
	}
	if list == nil {
		list = []store.Standing{}
	}
	type row struct {
		Rank   int    `json:"rank"`
		Player string `json:"player"`
		Name   string `json:"name"`
		Unit   string `json:"unit"`
		Points int64  `json:"points"`
	}
	out := make([]row, len(list))
	for i, st := range list {
		out[i] = row{st.Rank, st.Player, st.Name, st.Unit, st.Points}
	}
	writeJSON(w, 200, map[string]any{"period": kind, "key": key, "org": root, "players": out})
}

// handleBoardUnits ranks the children of a node (or its leaves with
// ?level=leaves) by points, points per member or participation.
func (s *Server) handleBoardUnits(w http.ResponseWriter, r *http.Request) {
	root, err := s.boardRoot(r)
	if err != nil {
		httpError(w, err)
		return
	}
	kind, key, err := s.periodOf(r)
	if err != nil {
		httpError(w, err)
		return
	}
	by := map[string]func(org.Figures) float64{"": org.ByPoints, "points": org.ByPoints,
		"per_member": org.ByPerMember, "participation": org.ByParticipation}[r.URL.Query().Get("by")]
	if by == nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "by must be points, per_member or participation"))
		return
	}
	orgs, pts, err := s.boards.Units(r.Context(), root, key)
	if err != nil {
		httpError(w, err)
		return
	}
	t := treeOf(orgs, pts)
	var codes []string
	switch {
	case r.URL.Query().Get("level") == "leaves":
		codes = t.Leaves(root)
	case root != "":
		codes = t.Children(root)
	default:
		for _, o := range orgs {
			if o.Parent == "" {
				codes = append(codes, o.Code)
			}
		}
	}
	if root == "" && len(codes) == 1 {
		codes = t.Children(codes[0]) // the city's districts
	}
	writeJSON(w, 200, map[string]any{"period": kind, "key": key, "org": root, "units": t.Rank(codes, by)})
}

// handleWeekly is the weekly ranking (通报) of the units under a node, as
// JSON or ?format=xlsx. ?date= picks the week (default this week).
func (s *Server) handleWeekly(w http.ResponseWriter, r *http.Request) {
	o, err := s.node(r, r.PathValue("code"))
	if err != nil {
		httpError(w, err)
		return
	}
	day := r.URL.Query().Get("date")
	if day == "" {
		day = s.host.Day(s.clock.Now())
	}
	week, err := store.PeriodKey(store.PeriodWeek, day)
	if err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "date must be YYYY-MM-DD"))
		return
	}
	monday, _ := time.Parse(time.DateOnly, week[1:])
	last, _ := store.PeriodKey(store.PeriodWeek, monday.AddDate(0, 0, -7).Format(time.DateOnly))
	wk, err := s.weekly(r.Context(), o.Code, week, last)
	if err != nil {
		httpError(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		writeJSON(w, 200, wk)
	case "xlsx":
		f, err := wk.Workbook()
		if err != nil {
			httpError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="leitai-weekly-`+o.Code+"-"+wk.Week+`.xlsx"`)
		_ = f.Write(w)
	default:
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "format must be json or xlsx"))
	}
}

// TopLearners is how many of each unit's best learners the weekly ranking
// names.
const TopLearners = 3

func (s *Server) weekly(ctx context.Context, root, week, last string) (org.Weekly, error) {
	this, _, err := s.tree(ctx, root, week)
	if err != nil {
		return org.Weekly{}, err
	}
	prev, _, err := s.tree(ctx, root, last)
	if err != nil {
		return org.Weekly{}, err
	}
	leaves := this.Leaves(root)
	top, err := s.store.TopMembers(ctx, week, leaves, TopLearners)
	if err != nil {
		return org.Weekly{}, err
	}
	learners := make(map[string][]org.Learner, len(top))
	for u, list := range top {
		for _, st := range list {
			learners[u] = append(learners[u], org.Learner{Player: st.Player, Name: st.Name, Points: st.Points})
		}
	}
	return org.BuildWeekly(this, prev, root, week[1:], s.cfg.ParticipationTarget, learners), nil
}
