package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	qrcode "github.com/skip2/go-qrcode"
	"github.com/xuri/excelize/v2"

	"github.com/leitai/leitai/gateway"
	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/internal/version"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/roomhost"
	"github.com/leitai/leitai/store"
)

// maxUpload bounds an imported question bank.
const maxUpload = 32 << 20

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /ws", s.gw.ServeWS)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		v := version.Get()
		writeJSON(w, 200, map[string]string{"status": "ok", "version": v.Version, "commit": v.Commit})
	})
	m.HandleFunc("GET /readyz", s.handleReady)
	if s.metricsLn == nil {
		m.Handle("GET /metrics", s.metricsHandler())
	}
	m.HandleFunc("POST /api/v1/players", throttle(s.registers, s.handleRegister))
	m.HandleFunc("POST /api/v1/questionsets", s.organizer(s.upload(s.handleImport)))
	m.HandleFunc("GET /api/v1/questionsets", s.organizer(s.handleSets))
	m.HandleFunc("GET /api/v1/questionsets/{id}", s.organizer(s.handleSet))
	m.HandleFunc("POST /api/v1/events", s.organizer(s.handleCreateEvent))
	m.HandleFunc("GET /api/v1/events", s.organizer(s.handleEvents))
	m.HandleFunc("POST /api/v1/events/{id}/links", s.organizer(s.handleReissueLink))
	m.HandleFunc("GET /api/v1/pins/{pin}", throttle(s.pinLookups, s.handlePIN))
	m.HandleFunc("GET /api/v1/events/{id}/qr.png", s.handleQR)
	m.HandleFunc("GET /api/v1/events/{id}/results", s.handleResults)
	m.HandleFunc("GET /api/v1/challenge/leaderboard", s.handleChallengeLeaderboard)
	s.tournamentRoutes(m)
	s.orgRoutes(m)
	s.pages(m)
	s.mux = m
	s.handler = secure(m)
}

// apiError is the body of every HTTP error.
type apiError struct {
	Error *protocol.Error `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// httpError writes err with the status its code implies.
func httpError(w http.ResponseWriter, err error) {
	pe := gateway.ToProtocol(err)
	status := http.StatusInternalServerError
	switch pe.Code {
	case protocol.CodeBadRequest:
		status = http.StatusBadRequest
	case protocol.CodeUnauthenticated:
		status = http.StatusUnauthorized
	case protocol.CodeForbidden:
		status = http.StatusForbidden
	case protocol.CodeNotFound:
		status = http.StatusNotFound
	case protocol.CodeWrongPhase, protocol.CodeRoomFull:
		status = http.StatusConflict
	case protocol.CodeRateLimited:
		status = http.StatusTooManyRequests
	case protocol.CodeUnavailable:
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, apiError{Error: pe})
}

// bearer looks up the request's token.
func (s *Server) bearer(r *http.Request) (store.Token, bool) {
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		return store.Token{}, false
	}
	t, err := s.store.Token(r.Context(), token.Hash(strings.TrimSpace(secret)))
	if err != nil || (!t.ExpiresAt.IsZero() && s.clock.Now().After(t.ExpiresAt)) {
		return store.Token{}, false
	}
	s.expiry.MarkUsed(t.Hash)
	return t, true
}

// organizer wraps a handler that needs the organizer token.
func (s *Server) organizer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.bearer(r)
		if !ok {
			httpError(w, protocol.Errorf(protocol.CodeUnauthenticated, "send the organizer token as Authorization: Bearer <token>"))
			return
		}
		if t.Kind != store.TokenOrganizer {
			httpError(w, protocol.Errorf(protocol.CodeForbidden, "this needs the organizer token").Because("organizer_only", nil))
			return
		}
		h(w, r)
	}
}

// upload wraps a handler whose request body may be large: it gets
// TransferTimeout to arrive. Wrap it inside the token check.
func (s *Server) upload(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.transfer(w)
		h(w, r)
	}
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
		Org  string `json:"org"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be JSON {name, org?}"))
		return
	}
	name, err := s.cleanName(body.Name)
	if err != nil {
		httpError(w, err)
		return
	}
	if len([]rune(body.Org)) > 100 {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "org has at most 100 characters"))
		return
	}
	now := s.clock.Now()
	p := store.Player{ID: "p-" + uuid.NewString(), Name: name, Org: strings.TrimSpace(body.Org), Rating: 1500, CreatedAt: now}
	if err := s.store.CreatePlayer(r.Context(), p); err != nil {
		httpError(w, err)
		return
	}
	secret, hash := token.New()
	if err := s.store.PutToken(r.Context(), store.Token{Hash: hash, Kind: store.TokenPlayer, Subject: p.ID, CreatedAt: now}); err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": p.ID, "name": p.Name, "token": secret})
}

// importFormat picks the importer from ?format=, the Content-Type, or the
// name.
func importFormat(r *http.Request, name string) (string, error) {
	if f := r.URL.Query().Get("format"); f != "" {
		return questionbank.FormatOf("x." + f)
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.Contains(ct, "csv"):
		return "csv", nil
	case strings.Contains(ct, "json"):
		return "json", nil
	case strings.Contains(ct, "spreadsheetml"), strings.Contains(ct, "excel"):
		return "xlsx", nil
	}
	return questionbank.FormatOf(name)
}

func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" {
		name = "imported " + s.clock.Now().Format("2006-01-02 15:04")
	}
	format, err := importFormat(r, name)
	if err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "say the format: ?format=csv|json|xlsx or a Content-Type"))
		return
	}
	// One import at a time, the upload included: what an import may hold
	// is bounded (maxUpload and the questionbank limits), so one at a time
	// bounds what imports can take from the contests running beside them.
	if !s.importing.TryLock() {
		// The upload is not wanted: closing the connection answers at once
		// instead of first reading what is left of the body.
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "5")
		httpError(w, protocol.Errorf(protocol.CodeRateLimited, "another question bank is being imported; try again when it has finished"))
		return
	}
	defer s.importing.Unlock()
	id, n, rowErrs, err := ImportSet(r.Context(), s.store, s.bank, name, format, http.MaxBytesReader(w, r.Body, maxUpload), nil)
	if len(rowErrs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"imported": 0, "errors": rowErrs})
		return
	}
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "name": name, "imported": n})
}

// ImportSet parses a bank and, only if every row is good, stores it and adds
// it to the in-memory bank. Row errors come back with nothing stored.
func ImportSet(ctx context.Context, st store.Store, bank *questionbank.Bank, name, format string, r io.Reader, progress func(done, total int)) (string, int, []questionbank.RowError, error) {
	qs, rowErrs, err := questionbank.Parse(format, r, progress)
	if err != nil {
		return "", 0, nil, protocol.Errorf(protocol.CodeBadRequest, "cannot read the file: %v", err)
	}
	if len(rowErrs) > 0 {
		return "", 0, rowErrs, nil
	}
	if len(qs) == 0 {
		return "", 0, nil, protocol.Errorf(protocol.CodeBadRequest, "the file has no questions").Because("file_no_questions", nil)
	}
	raw, err := json.Marshal(qs)
	if err != nil {
		return "", 0, nil, err
	}
	id := "qs-" + uuid.NewString()
	if err := st.SaveQuestionSet(ctx, store.QuestionSet{ID: id, Name: name, Count: len(qs), CreatedAt: time.Now(), Questions: raw}); err != nil {
		return "", 0, nil, err
	}
	bank.Add(id, qs)
	return id, len(qs), nil, nil
}

// LoadQuestionSets adds every stored set to the bank.
func LoadQuestionSets(ctx context.Context, st store.Store, bank *questionbank.Bank) error {
	sets, err := st.QuestionSets(ctx)
	if err != nil {
		return err
	}
	for _, meta := range sets {
		set, err := st.QuestionSet(ctx, meta.ID)
		if err != nil {
			return err
		}
		var qs []questionbank.Question
		if err := json.Unmarshal(set.Questions, &qs); err != nil {
			return fmt.Errorf("question set %s: %w", meta.ID, err)
		}
		bank.Add(meta.ID, qs)
	}
	return nil
}

type setInfo struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Count     int             `json:"count"`
	CreatedAt int64           `json:"created_at"`
	Questions json.RawMessage `json:"questions,omitempty"`
}

func (s *Server) handleSets(w http.ResponseWriter, r *http.Request) {
	sets, err := s.store.QuestionSets(r.Context())
	if err != nil {
		httpError(w, err)
		return
	}
	out := []setInfo{{ID: "sample", Name: "Bundled sample bank", Count: len(s.bank.Questions("sample"))}}
	for _, q := range sets {
		out = append(out, setInfo{ID: q.ID, Name: q.Name, Count: q.Count, CreatedAt: q.CreatedAt.UnixMilli()})
	}
	writeJSON(w, 200, out)
}

func (s *Server) handleSet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "sample" {
		qs := s.bank.Questions("sample")
		raw, _ := json.Marshal(qs)
		writeJSON(w, 200, setInfo{ID: id, Name: "Bundled sample bank", Count: len(qs), Questions: raw})
		return
	}
	q, err := s.store.QuestionSet(r.Context(), id)
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, 200, setInfo{ID: q.ID, Name: q.Name, Count: q.Count, CreatedAt: q.CreatedAt.UnixMilli(), Questions: q.Questions})
}

// baseURL is where people reach this server.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleCreateEvent(w http.ResponseWriter, r *http.Request) {
	var c roomhost.EventConfig
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&c); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be a JSON event: %v", err))
		return
	}
	out, err := s.host.CreateEvent(r.Context(), s.baseURL(r), c)
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// handleReissueLink issues a new host or screen link for an event and
// revokes the old one: tokens are kept hashed, so a lost link cannot be
// shown again, only replaced.
func (s *Server) handleReissueLink(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Role string `json:"role"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&body); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be {\"role\": \"host\" or \"screen\"}: %v", err))
		return
	}
	out, err := s.host.ReissueLink(r.Context(), s.baseURL(r), r.PathValue("id"), body.Role)
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

type eventInfo struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	PIN       string `json:"pin"`
	Room      string `json:"room"`
	CreatedAt int64  `json:"created_at"`
	EndedAt   int64  `json:"ended_at,omitempty"`
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	evs, err := s.store.Events(r.Context())
	if err != nil {
		httpError(w, err)
		return
	}
	out := make([]eventInfo, 0, len(evs))
	for _, e := range evs {
		i := eventInfo{ID: e.ID, Title: e.Title, PIN: e.PIN, Room: e.Room, CreatedAt: e.CreatedAt.UnixMilli()}
		if !e.EndedAt.IsZero() {
			i.EndedAt = e.EndedAt.UnixMilli()
		}
		out = append(out, i)
	}
	writeJSON(w, 200, out)
}

func (s *Server) handleQR(w http.ResponseWriter, r *http.Request) {
	ev, err := s.store.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	png, err := qrcode.Encode(s.baseURL(r)+"/?pin="+ev.PIN, qrcode.Medium, 512)
	if err != nil {
		httpError(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(png)
}

// handleResults exports an event's standings and answers to the organizer
// or that event's host, as JSON, CSV or XLSX.
func (s *Server) handleResults(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t, ok := s.bearer(r)
	if !ok {
		httpError(w, protocol.Errorf(protocol.CodeUnauthenticated, "send the organizer or host token"))
		return
	}
	if t.Kind != store.TokenOrganizer && !(t.Kind == store.TokenHost && t.Subject == id) {
		httpError(w, protocol.Errorf(protocol.CodeForbidden, "this token cannot read these results"))
		return
	}
	s.transfer(w) // an export may be large and the reader slow
	ev, err := s.store.Event(r.Context(), id)
	if err != nil {
		httpError(w, err)
		return
	}
	rep, err := s.host.EventReport(r.Context(), ev)
	if err != nil {
		httpError(w, err)
		return
	}
	name := "leitai-" + ev.PIN + "-" + ev.CreatedAt.Format("20060102")
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		info := eventInfo{ID: ev.ID, Title: ev.Title, PIN: ev.PIN, Room: ev.Room, CreatedAt: ev.CreatedAt.UnixMilli()}
		if !ev.EndedAt.IsZero() {
			info.EndedAt = ev.EndedAt.UnixMilli()
		}
		teams := rep.Teams
		if teams == nil {
			teams = []protocol.TeamStanding{} // an event without teams has none, not null
		}
		writeJSON(w, 200, map[string]any{"event": info, "standings": rep.Standings, "teams": teams, "answers": rep.Answers})
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		_, _ = w.Write([]byte("\xEF\xBB\xBF")) // BOM, so spreadsheet programs read UTF-8
		ranks := ranksOf(rep)
		cw := csv.NewWriter(w)
		_ = cw.Write(answerHeader)
		for _, a := range rep.Answers {
			row := answerCells(a, ranks)
			for i := range row {
				row[i] = neutralise(row[i])
			}
			_ = cw.Write(row)
		}
		cw.Flush()
	case "xlsx":
		f, err := resultsWorkbook(rep)
		if err != nil {
			httpError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		_ = f.Write(w)
	default:
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "format must be json, csv or xlsx"))
	}
}

// answerHeader names the columns of an answer row. New columns go at the
// end, so scripts reading the older ones by position keep working.
var answerHeader = []string{"player_id", "name", "team", "rank", "question_index", "question_id", "answer", "correct", "elapsed_ms", "points", "question_text"}

// ranksOf maps player ids to their final rank.
func ranksOf(rep *room.Report) map[string]string {
	m := make(map[string]string, len(rep.Standings))
	for _, st := range rep.Standings {
		m[st.ID] = strconv.Itoa(st.Rank)
	}
	return m
}

func answerCells(a room.AnswerRow, ranks map[string]string) []string {
	rank := ranks[a.Player]
	return []string{a.Player, a.Name, a.Team, rank, strconv.Itoa(a.Index), a.QuestionID, a.Answer, strconv.FormatBool(a.Correct), strconv.FormatInt(a.ElapsedMS, 10), strconv.FormatInt(a.Points, 10), a.QuestionText}
}

// answerValues is answerCells for a spreadsheet: numbers and booleans keep
// their types so they sort and sum; text stays text. A player without a
// rank (kicked) gets an empty cell.
func answerValues(a room.AnswerRow, ranks map[string]int) []any {
	var rank any = ""
	if r, ok := ranks[a.Player]; ok {
		rank = r
	}
	return []any{a.Player, a.Name, a.Team, rank, a.Index, a.QuestionID, a.Answer, a.Correct, a.ElapsedMS, a.Points, a.QuestionText}
}

// neutralise keeps a cell that a spreadsheet would take for a formula as
// text, by prefixing a single quote. A cell is a formula to some spreadsheet
// when its first character is one of = + - @ (or their full-width forms), a
// tab or a carriage return, and also when that character comes after leading
// whitespace or invisible format characters, which some spreadsheets trim on
// import: "  =1+1", "\n=cmd", "\u200b@x".
func neutralise(s string) string {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\r':
			return "'" + s
		case unicode.IsSpace(r) || unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune("=+-@＝＋－＠", r):
			return "'" + s
		}
		return s
	}
	return s
}

// resultsWorkbook writes standings and answers on two sheets. Every cell is
// written as a string or number value, never as a formula.
func resultsWorkbook(rep *room.Report) (*excelize.File, error) {
	f := excelize.NewFile()
	const st, an = "Standings", "Answers"
	if err := f.SetSheetName("Sheet1", st); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(an); err != nil {
		return nil, err
	}
	set := func(sheet string, col, row int, v any) error {
		cell, err := excelize.CoordinatesToCellName(col, row)
		if err != nil {
			return err
		}
		if s, ok := v.(string); ok {
			return f.SetCellStr(sheet, cell, s)
		}
		return f.SetCellValue(sheet, cell, v)
	}
	for i, h := range []string{"rank", "player_id", "name", "team", "score"} {
		if err := set(st, i+1, 1, h); err != nil {
			return nil, err
		}
	}
	for r, s := range rep.Standings {
		for c, v := range []any{s.Rank, s.ID, s.Name, s.Team, s.Score} {
			if err := set(st, c+1, r+2, v); err != nil {
				return nil, err
			}
		}
	}
	for i, h := range answerHeader {
		if err := set(an, i+1, 1, h); err != nil {
			return nil, err
		}
	}
	ranks := make(map[string]int, len(rep.Standings))
	for _, st := range rep.Standings {
		ranks[st.ID] = st.Rank
	}
	for r, a := range rep.Answers {
		for c, v := range answerValues(a, ranks) {
			if err := set(an, c+1, r+2, v); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}
