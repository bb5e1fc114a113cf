package gateway

import (
	"slices"
	"sync"
	"time"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
)

// Roles a session can have.
const (
	rolePlayer    = "player"
	roleHost      = "host"
	roleScreen    = "screen"
	roleOrganizer = "organizer"
)

// session is a player's (or host's, or screen's) presence on this node. It
// outlives connections: a phone that drops and comes back within the grace
// window gets the same session, so rooms keep one Peer per player.
type session struct {
	srv  *Gateway
	id   string // player id; for hosts and screens a per-login id
	name string
	role string

	// mu guards the following fields.
	mu     sync.Mutex
	rating float64 // matchmaking rating, updated when a match ends
	conn   *conn
	lostAt time.Time // when the last connection dropped; zero while connected
	// rooms and written are slices, not maps: a session is in one room
	// or two, and on 15,000 sessions a map each is megabytes that every
	// garbage collection has to scan.
	rooms   []string
	written []writtenMark // the last question written, per room
	// eventID is, for hosts and screens, the one event they may act on.
	// Every login with a host token shares the host's session and sets it.
	eventID string
}

type writtenMark struct {
	room  string
	index int
	at    time.Time
	limit time.Duration // how long the question stays open, 0 if unknown
}

// mark returns the written mark of roomID, or nil. The caller holds mu.
func (s *session) mark(roomID string) *writtenMark {
	for i := range s.written {
		if s.written[i].room == roomID {
			return &s.written[i]
		}
	}
	return nil
}

var _ room.Peer = (*session)(nil)

// Send implements room.Peer.
func (s *session) Send(f *protocol.Frame) bool {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return false
	}
	return c.send(f)
}

// Connected implements room.Peer.
func (s *session) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// writtenAt is when the question (room, index) was written to the
// player's connection, if it was: the start of the player's clock.
func (s *session) writtenAt(roomID string, index int) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mark(roomID)
	if m == nil || m.index != index {
		return time.Time{}, false
	}
	return m.at, true
}

// openUntil is when the question (room, index) closes, counted from when
// it was written to the player's connection, if it was and its limit is
// known.
func (s *session) openUntil(roomID string, index int) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mark(roomID)
	if m == nil || m.index != index || m.limit <= 0 {
		return time.Time{}, false
	}
	return m.at.Add(m.limit), true
}

func (s *session) markWritten(roomID string, index int, at time.Time, limit time.Duration) {
	s.mu.Lock()
	switch m := s.mark(roomID); {
	case m == nil:
		s.written = append(s.written, writtenMark{room: roomID, index: index, at: at, limit: limit})
	case m.index != index:
		m.index, m.at, m.limit = index, at, limit
	}
	s.mu.Unlock()
}

// probe has the player's connection, if any, measure its round trip
// afresh: a contest is about to begin.
func (s *session) probe() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.probe()
	}
}

// Kick implements room.Peer.
func (s *session) Kick(reason string) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.closeWith(reasonKicked, reason)
	}
}

func (s *session) setEvent(id string) {
	s.mu.Lock()
	s.eventID = id
	s.mu.Unlock()
}

// event returns the event a host or screen session may act on.
func (s *session) event() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventID
}

func (s *session) setRating(r float64) {
	s.mu.Lock()
	s.rating = r
	s.mu.Unlock()
}

func (s *session) getRating() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rating
}

func (s *session) addRoom(id string) {
	if s.addRoomLocal(id) {
		s.srv.indexRoom(s.id, id, true)
	}
}

// addRoomLocal lists the room in the session only, and reports whether it
// was new there.
func (s *session) addRoomLocal(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.rooms, id) {
		return false
	}
	s.rooms = append(s.rooms, id)
	return true
}

// heldRoom returns the session's own copy of the room id b, or "" if the
// session is not in that room (or is nil), so that decoding an answer
// need not copy the id.
func (s *session) heldRoom(b []byte) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.rooms {
		if id == string(b) {
			return id
		}
	}
	return ""
}

func (s *session) dropRoom(id string) {
	s.mu.Lock()
	s.rooms = slices.DeleteFunc(s.rooms, func(r string) bool { return r == id })
	s.written = slices.DeleteFunc(s.written, func(m writtenMark) bool { return m.room == id })
	s.mu.Unlock()
}

func (s *session) roomIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rooms)
}

// attach makes c the session's connection and returns the one it replaces.
func (s *session) attach(c *conn) *conn {
	s.mu.Lock()
	old := s.conn
	s.conn = c
	s.lostAt = time.Time{}
	s.mu.Unlock()
	c.sess.Store(s)
	return old
}

// detach clears c if it is still the session's connection and reports
// whether it was.
func (s *session) detach(c *conn, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c {
		return false
	}
	s.conn = nil
	s.lostAt = now
	return true
}

// hub is the directory of this node's sessions, by player id.
type hub struct {
	// mu guards the following fields.
	mu       sync.Mutex
	sessions map[string]*session
}

func newHub() *hub { return &hub{sessions: map[string]*session{}} }

func (h *hub) get(id string) (*session, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sessions[id]
	return s, ok
}

// getOrAdd returns the session for id, making it with mk if there is none.
func (h *hub) getOrAdd(id string, mk func() *session) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sessions[id]; ok {
		return s
	}
	s := mk()
	h.sessions[id] = s
	return s
}

// expired removes and returns the sessions whose connection has been gone
// longer than grace.
func (h *hub) expired(now time.Time, grace time.Duration) []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*session
	for id, s := range h.sessions {
		s.mu.Lock()
		gone := s.conn == nil && !s.lostAt.IsZero() && now.Sub(s.lostAt) >= grace
		s.mu.Unlock()
		if gone {
			delete(h.sessions, id)
			out = append(out, s)
		}
	}
	return out
}

// all returns every session.
func (h *hub) all() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		out = append(out, s)
	}
	return out
}

func (h *hub) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}
