package questionbank

import (
	"container/list"
	"slices"
	"sync"
)

// History sizes.
const (
	// DefaultHistorySize is how many recent question ids History keeps per
	// player when NewHistory is given 0.
	DefaultHistorySize = 200
	// MaxHistoryPlayers bounds the players History remembers; past it the
	// player seen least recently is forgotten, so a long-running server's
	// memory stays bounded.
	MaxHistoryPlayers = 100_000
)

// History remembers, for each player, the last K distinct question ids the
// player was shown, so a room can avoid asking them again (see
// DrawOptions.Exclude). It lives in memory only; it is safe for concurrent
// use.
//
// Ids are interned to 4-byte numbers, so a player costs about 4·K bytes
// (under 1 KiB at the default K) plus bookkeeping; the intern table grows
// with the distinct ids ever recorded, which the banks bound.
type History struct {
	k int // Static after construction.

	mu sync.Mutex
	// mu guards the following fields.
	num     map[string]uint32        // interned id -> number
	ids     []string                 // number -> id
	players map[string]*list.Element // player -> element of lru holding *seen
	lru     *list.List               // front: most recently updated player
}

// seen is one player's recent ids, oldest first.
type seen struct {
	player string
	ids    []uint32
}

// NewHistory returns a History keeping the last k ids per player;
// k <= 0 means DefaultHistorySize.
func NewHistory(k int) *History {
	if k <= 0 {
		k = DefaultHistorySize
	}
	return &History{
		k:       k,
		num:     make(map[string]uint32),
		players: make(map[string]*list.Element),
		lru:     list.New(),
	}
}

// Seen records that each of players was shown each of ids, in order. An id
// seen again becomes the most recent; the oldest drop off past K.
func (h *History) Seen(players []string, ids []string) {
	if len(players) == 0 || len(ids) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	nums := make([]uint32, len(ids))
	for i, id := range ids {
		nums[i] = h.intern(id)
	}
	for _, p := range players {
		s := h.player(p)
		for _, n := range nums {
			if i := slices.Index(s.ids, n); i >= 0 {
				s.ids = slices.Delete(s.ids, i, i+1)
			} else if len(s.ids) == h.k {
				s.ids = slices.Delete(s.ids, 0, 1)
			}
			s.ids = append(s.ids, n)
		}
	}
}

// Recent returns the union of the recent ids of players; unknown players
// add nothing.
func (h *History) Recent(players ...string) map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]bool)
	for _, p := range players {
		if e, ok := h.players[p]; ok {
			for _, n := range e.Value.(*seen).ids {
				out[h.ids[n]] = true
			}
		}
	}
	return out
}

// Forget drops what History knows about players.
func (h *History) Forget(players ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range players {
		if e, ok := h.players[p]; ok {
			h.lru.Remove(e)
			delete(h.players, p)
		}
	}
}

// intern returns the number of id, assigning one if new. Called with mu held.
func (h *History) intern(id string) uint32 {
	if n, ok := h.num[id]; ok {
		return n
	}
	n := uint32(len(h.ids))
	h.num[id] = n
	h.ids = append(h.ids, id)
	return n
}

// player returns p's record, creating it and evicting the stalest player
// when over MaxHistoryPlayers. Called with mu held.
func (h *History) player(p string) *seen {
	if e, ok := h.players[p]; ok {
		h.lru.MoveToFront(e)
		return e.Value.(*seen)
	}
	if h.lru.Len() >= MaxHistoryPlayers {
		old := h.lru.Back()
		h.lru.Remove(old)
		delete(h.players, old.Value.(*seen).player)
	}
	s := &seen{player: p, ids: make([]uint32, 0, min(h.k, 16))}
	h.players[p] = h.lru.PushFront(s)
	return s
}
