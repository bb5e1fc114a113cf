package web

import (
	"net/http"
	"strings"

	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/store"
)

// A leaderboard screen is projected in a hall, where anyone may photograph
// its address. Its token is therefore a kind of its own that reads the
// leaderboards of one subtree and nothing else: not the members, not the
// join codes, not the weekly ranking, and it changes nothing.

// boardMayRead reports whether a leaderboard screen token may make r.
func boardMayRead(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/leaderboard/")
}

// handleBoardToken issues a leaderboard screen token for a node of the
// caller's scope (the organizer or an admin of that subtree).
func (s *Server) handleBoardToken(w http.ResponseWriter, r *http.Request) {
	o, err := s.node(r, r.PathValue("code"))
	if err != nil {
		httpError(w, err)
		return
	}
	secret, hash := token.New()
	if err := s.store.PutToken(r.Context(), store.Token{Hash: hash, Kind: store.TokenOrgBoard, Subject: o.Code, CreatedAt: s.clock.Now()}); err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"org": o.Code, "name": o.Name, "token": secret})
}
