package web

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/leitai/leitai/gateway"
	"github.com/leitai/leitai/internal/addrlimit"
	"github.com/leitai/leitai/internal/names"
	"github.com/leitai/leitai/protocol"
)

// The API's parts that serve play: PIN lookups before joining, the
// challenge leaderboard, and the per-address limits on them.

func (s *Server) handlePIN(w http.ResponseWriter, r *http.Request) {
	info, ok := s.host.EventByPIN(r.PathValue("pin"))
	if !ok {
		httpError(w, protocol.Errorf(protocol.CodeNotFound, "no live event with that PIN").Because("pin_unknown", nil))
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// cleanName checks a nickname: 1–32 characters, visible, no blocked word.
func (s *Server) cleanName(name string) (string, error) { return names.Clean(name, s.cfg.BlockedWords) }

// throttle refuses a request over its address's budget in lim with 429,
// the API's error body (rate_limited) and a Retry-After in whole seconds.
func throttle(lim *addrlimit.Limits, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d := lim.Wait(remoteIP(r)); d > 0 {
			secs := int(math.Ceil(d.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			httpError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests from your address; try again in %v", time.Duration(secs)*time.Second))
			return
		}
		h(w, r)
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ChallengeEntry is a row of the challenge leaderboard.
type ChallengeEntry struct {
	Rank   int    `json:"rank"`
	Player string `json:"player"`
	Name   string `json:"name"`
	Best   int    `json:"best"`
	At     int64  `json:"at"` // unix ms
}

// handleChallengeLeaderboard serves GET /api/v1/challenge/leaderboard
// (?limit=, 1–1000, default 100; ?player= adds that player's best).
func (s *Server) handleChallengeLeaderboard(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpError(w, protocol.Errorf(protocol.CodeBadRequest, "limit must be 1 to 1000"))
			return
		}
		limit = n
	}
	rows, err := s.store.ChallengeLeaderboard(r.Context(), limit)
	if err != nil {
		httpError(w, gateway.StoreUnavailable(err))
		return
	}
	out := struct {
		Entries []ChallengeEntry `json:"entries"`
		Me      *ChallengeEntry  `json:"me,omitempty"`
	}{Entries: []ChallengeEntry{}}
	for i, b := range rows {
		rank := i + 1
		if i > 0 && b.Best == rows[i-1].Best {
			rank = out.Entries[i-1].Rank
		}
		out.Entries = append(out.Entries, ChallengeEntry{Rank: rank, Player: b.Player, Name: b.Name, Best: b.Best, At: b.At.UnixMilli()})
	}
	if p := r.URL.Query().Get("player"); p != "" {
		if b, err := s.store.ChallengeBestOf(r.Context(), p); err == nil {
			out.Me = &ChallengeEntry{Player: b.Player, Name: b.Name, Best: b.Best, At: b.At.UnixMilli()}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
