package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"

	"github.com/google/uuid"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/tournament"
)

// tournamentRoutes registers the organizer's tournament API: create a
// tournament, read its bracket.
func (s *Server) tournamentRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/tournaments", s.organizer(s.handleCreateTournament))
	m.HandleFunc("GET /api/v1/tournaments/{id}/bracket", s.organizer(s.handleBracket))
	s.tournamentRunRoutes(m)
}

// tournamentIDs are what an organizer may name a tournament.
var tournamentIDs = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// tournaments returns the room host's tournament service (the one whose
// rankings the rooms keep fresh), or an error if the store does not keep
// tournaments.
func (s *Server) tournaments() (*tournament.Service, error) {
	svc := s.host.Tournaments()
	if svc == nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "this server's store does not keep tournaments")
	}
	return svc, nil
}

type createTournament struct {
	ID     string            `json:"id"` // optional; a new UUID if empty
	Title  string            `json:"title"`
	Config tournament.Config `json:"config"`
}

func (s *Server) handleCreateTournament(w http.ResponseWriter, r *http.Request) {
	svc, err := s.tournaments()
	if err != nil {
		httpError(w, err)
		return
	}
	var req createTournament
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "body must be a JSON tournament: %v", err))
		return
	}
	if req.ID == "" {
		req.ID = uuid.NewString()
	}
	if !tournamentIDs.MatchString(req.ID) {
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "id must be 1-64 letters, digits, '-' or '_'"))
		return
	}
	err = svc.Create(r.Context(), req.ID, req.Title, req.Config, s.clock.Now())
	switch {
	case errors.Is(err, tournament.ErrBadInput):
		httpError(w, protocol.Errorf(protocol.CodeBadRequest, "%v", err))
		return
	case errors.Is(err, store.ErrExists):
		httpError(w, protocol.Errorf(protocol.CodeWrongPhase, "tournament %s exists already", req.ID))
		return
	case err != nil:
		httpError(w, err)
		return
	}
	v, err := svc.Bracket(r.Context(), req.ID)
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) handleBracket(w http.ResponseWriter, r *http.Request) {
	svc, err := s.tournaments()
	if err != nil {
		httpError(w, err)
		return
	}
	v, err := svc.Bracket(r.Context(), r.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
