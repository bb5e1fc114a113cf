package roomhost

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/leitai/leitai/clusterstate"
	"github.com/leitai/leitai/internal/names"
	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

// liveEvent is a running stage event.
type liveEvent struct {
	id, roomID, pin, title string
	cfg                    EventConfig
}

func (e *liveEvent) info() *protocol.EventInfo {
	return &protocol.EventInfo{ID: e.id, Room: e.roomID, PIN: e.pin, Title: e.title}
}

// eventDir maps PINs and ids to live events.
type eventDir struct {
	// mu guards the following fields.
	mu    sync.Mutex
	byPIN map[string]*liveEvent
	ids   map[string]*liveEvent
}

func newEventDir() *eventDir {
	return &eventDir{byPIN: map[string]*liveEvent{}, ids: map[string]*liveEvent{}}
}

func (d *eventDir) add(e *liveEvent) {
	d.mu.Lock()
	d.byPIN[e.pin] = e
	d.ids[e.id] = e
	d.mu.Unlock()
}

// removeRoom retires the live event played in room and returns it.
func (d *eventDir) removeRoom(room string) (*liveEvent, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, e := range d.ids {
		if e.roomID != room {
			continue
		}
		delete(d.ids, id)
		if d.byPIN[e.pin] == e {
			delete(d.byPIN, e.pin)
		}
		return e, true
	}
	return nil, false
}

func (d *eventDir) pinTaken(pin string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.byPIN[pin]
	return ok
}

func (d *eventDir) byCode(pin string) (*liveEvent, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.byPIN[pin]
	return e, ok
}

func (d *eventDir) byID(id string) (*liveEvent, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.ids[id]
	return e, ok
}

// EventConfig is the body of POST /api/v1/events, stored with the event.
type EventConfig struct {
	Title       string   `json:"title"`
	QuestionSet string   `json:"questionset,omitempty"`
	Category    string   `json:"category,omitempty"`
	Difficulty  int      `json:"difficulty,omitempty"`
	Lang        string   `json:"lang,omitempty"`
	Count       int      `json:"count"`
	TimeLimitMS int64    `json:"time_limit_ms"`
	Scoring     string   `json:"scoring,omitempty"`
	StreakBonus *bool    `json:"streak_bonus,omitempty"`
	TeamMode    string   `json:"team_mode,omitempty"`
	Teams       []string `json:"teams,omitempty"`
	AutoAdvance bool     `json:"auto_advance"`
	RevealMS    int64    `json:"reveal_ms,omitempty"`
	LateJoin    *bool    `json:"late_join,omitempty"`
}

// validate checks an event request and fills its defaults.
func (c *EventConfig) validate() error {
	bad := func(f string, a ...any) error { return protocol.Errorf(protocol.CodeBadRequest, f, a...) }
	c.Title = strings.TrimSpace(c.Title)
	if c.Title == "" || len([]rune(c.Title)) > 100 {
		return bad("title must have 1 to 100 characters")
	}
	if c.Count == 0 {
		c.Count = 10
	}
	if c.Count < 1 || c.Count > 200 {
		return bad("count must be 1 to 200")
	}
	if c.TimeLimitMS == 0 {
		c.TimeLimitMS = 20000
	}
	if c.TimeLimitMS < 3000 || c.TimeLimitMS > 600000 {
		return bad("time_limit_ms must be 3000 to 600000")
	}
	if c.Scoring == "" {
		c.Scoring = room.Speed
	}
	if !room.ValidScoring(c.Scoring) {
		return bad("scoring must be speed, race or accuracy")
	}
	switch c.TeamMode {
	case "":
		c.Teams = nil
	case "mean", "sum":
		if len(c.Teams) < 2 || len(c.Teams) > 20 {
			return bad("team mode needs 2 to 20 teams")
		}
		for i, t := range c.Teams {
			name, err := names.Check(t, "a team name", 24)
			if err != nil {
				return err
			}
			c.Teams[i] = name
		}
	default:
		return bad(`team_mode must be "", "mean" or "sum"`)
	}
	if c.RevealMS < 0 || c.RevealMS > 120000 {
		return bad("reveal_ms must be 0 to 120000")
	}
	if c.Difficulty < 0 || c.Difficulty > 3 {
		return bad("difficulty must be 0 to 3")
	}
	return nil
}

// EventCreated is the reply to POST /api/v1/events.
type EventCreated struct {
	ID          string `json:"id"`
	Room        string `json:"room"`
	PIN         string `json:"pin"`
	HostToken   string `json:"host_token"`
	ScreenToken string `json:"screen_token"`
	JoinURL     string `json:"join_url"`
	HostURL     string `json:"host_url"`
	ScreenURL   string `json:"screen_url"`
}

// newPIN picks a random six-digit PIN not used by a live event.
func (s *Host) newPIN() string {
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(900000))
		pin := itoa6(100000 + n.Int64())
		if !s.events.pinTaken(pin) {
			return pin
		}
	}
}

func itoa6(n int64) string {
	b := []byte("000000")
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

// CreateEvent draws the questions, opens the room and issues the tokens.
func (s *Host) CreateEvent(ctx context.Context, base string, c EventConfig) (*EventCreated, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.QuestionSet != "" {
		// A set imported on another node may not have reached this one's
		// bank yet: Ensure loads it from the store.
		if ok, err := s.banks.Ensure(ctx, c.QuestionSet); err != nil {
			return nil, err
		} else if !ok {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no question set %q", c.QuestionSet)
		}
	}
	qs, err := s.drawFor(nil, c.QuestionSet, c.Category, c.Lang, c.Difficulty, c.Count)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "not enough questions for that choice: %v", err).Because("not_enough_questions", nil)
	}
	now := s.clock.Now()
	ev := &liveEvent{id: "ev-" + uuid.NewString(), roomID: "r-" + uuid.NewString(), title: c.Title, cfg: c}
	streak := c.StreakBonus == nil || *c.StreakBonus
	late := c.LateJoin == nil || *c.LateJoin
	rcfg := room.Config{
		ID: ev.roomID, Kind: room.KindEvent, Title: c.Title, Questions: qs,
		TimeLimit: time.Duration(c.TimeLimitMS) * time.Millisecond, Scoring: c.Scoring, StreakBonus: streak,
		AutoAdvance: c.AutoAdvance, RevealFor: time.Duration(c.RevealMS) * time.Millisecond,
		LateJoin: late, TeamMode: c.TeamMode, Teams: c.Teams,
	}
	raw, _ := json.Marshal(c)
	for attempt := 0; ; attempt++ {
		ev.pin = s.newPIN()
		err = s.store.CreateEvent(ctx, store.Event{ID: ev.id, Room: ev.roomID, PIN: ev.pin, Title: c.Title, Config: raw, CreatedAt: now})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrExists) || attempt > 5 {
			return nil, err
		}
	}
	rcfg.PIN = ev.pin
	// The event row holds its PIN from here on: every failure below gives
	// it back, and the room is opened last, so no failure leaves a room
	// running that nobody can host.
	host, hostHash := token.New()
	screen, screenHash := token.New()
	for _, t := range []store.Token{
		{Hash: hostHash, Kind: store.TokenHost, Subject: ev.id, CreatedAt: now},
		{Hash: screenHash, Kind: store.TokenScreen, Subject: ev.id, CreatedAt: now},
	} {
		if err := s.store.PutToken(ctx, t); err != nil {
			s.releasePIN(ctx, ev)
			return nil, err
		}
	}
	if _, err := s.OpenRoom(ctx, rcfg, nil); err != nil {
		s.releasePIN(ctx, ev)
		return nil, err
	}
	s.events.add(ev)
	s.putPIN(ctx, ev)
	return &EventCreated{
		ID: ev.id, Room: ev.roomID, PIN: ev.pin, HostToken: host, ScreenToken: screen,
		JoinURL: base + "/?pin=" + ev.pin, HostURL: base + "/host?token=" + host, ScreenURL: base + "/screen?token=" + screen,
	}, nil
}

// releasePIN ends an event that could not be opened, which gives its PIN
// back. Should that fail too, the next start ends it (see restoreEvents).
func (s *Host) releasePIN(ctx context.Context, ev *liveEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.EndEvent(ctx, ev.id, s.clock.Now()); err != nil {
		s.log.Error().Err(err).Str("event", ev.id).Str("pin", ev.pin).Msg("release the PIN of an event that failed to open")
	}
}

// ReissuedLink is the reply to POST /api/v1/events/{id}/links.
type ReissuedLink struct {
	Event string `json:"event"`
	Role  string `json:"role"`
	Token string `json:"token"`
	URL   string `json:"url"`
}

// ReissueLink replaces the host or screen token of an event: the old link
// stops working for new connections, and the new one is returned once.
func (s *Host) ReissueLink(ctx context.Context, base, eventID, role string) (*ReissuedLink, error) {
	var kind, page string
	switch role {
	case "host":
		kind, page = store.TokenHost, "/host"
	case "screen":
		kind, page = store.TokenScreen, "/screen"
	default:
		return nil, protocol.Errorf(protocol.CodeBadRequest, "role must be host or screen, not %q", role)
	}
	if _, err := s.store.Event(ctx, eventID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no event %q", eventID)
		}
		return nil, err
	}
	tok, hash := token.New()
	if err := s.store.ReplaceSubjectTokens(ctx, store.Token{Hash: hash, Kind: kind, Subject: eventID, CreatedAt: s.clock.Now()}); err != nil {
		return nil, err
	}
	return &ReissuedLink{Event: eventID, Role: role, Token: tok, URL: base + page + "?token=" + tok}, nil
}

// restoreEvents re-registers the PINs of events whose rooms were restored.
func (s *Host) restoreEvents(ctx context.Context) error {
	evs, err := s.store.Events(ctx)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if !e.EndedAt.IsZero() {
			continue
		}
		if _, ok := s.rooms.Get(e.Room); !ok {
			// Its room is not running (it failed to open, or to restore, or
			// its end was not stored): end it, so its PIN is free again.
			if err := s.store.EndEvent(ctx, e.ID, s.clock.Now()); err != nil {
				s.log.Error().Err(err).Str("event", e.ID).Msg("end an event without a room")
			}
			continue
		}
		var c EventConfig
		_ = json.Unmarshal(e.Config, &c)
		ev := &liveEvent{id: e.ID, roomID: e.Room, pin: e.PIN, title: e.Title, cfg: c}
		s.events.add(ev)
		s.putPIN(ctx, ev)
	}
	return nil
}

// putPIN lists a live event of this node in the cluster's PIN directory. A
// failure is logged: KeepPINs lists it again on its next round.
func (s *Host) putPIN(ctx context.Context, ev *liveEvent) {
	if s.pins == nil {
		return
	}
	if err := s.pins.Put(ctx, ev.entry()); err != nil {
		s.log.Warn().Err(err).Str("event", ev.id).Msg("list the event's PIN in the cluster's directory")
	}
}

func (e *liveEvent) entry() clusterstate.Event {
	raw, _ := json.Marshal(e.cfg)
	return clusterstate.Event{ID: e.id, Room: e.roomID, PIN: e.pin, Title: e.title, Config: raw}
}

// liveEvents lists this node's live events for the PIN directory.
func (s *Host) liveEvents() []clusterstate.Event {
	s.events.mu.Lock()
	evs := make([]*liveEvent, 0, len(s.events.ids))
	for _, e := range s.events.ids {
		evs = append(evs, e)
	}
	s.events.mu.Unlock()
	out := make([]clusterstate.Event, len(evs))
	for i, e := range evs {
		out[i] = e.entry()
	}
	return out
}

// lookupPIN finds a live event by PIN: this node's, or through the
// cluster's directory one another node runs.
func (s *Host) lookupPIN(pin string) (*liveEvent, bool) {
	if ev, ok := s.events.byCode(pin); ok || s.pins == nil {
		if !ok {
			return s.eventByPIN(pin)
		}
		return ev, ok
	}
	if ev, ok := s.remoteEvent(func(ctx context.Context) (clusterstate.Event, bool, error) { return s.pins.ByPIN(ctx, pin) }); ok {
		return ev, ok
	}
	return s.eventByPIN(pin) // the directory lost it (Redis lost its data): the store has it
}

// lookupEvent finds a live event by id, like lookupPIN.
func (s *Host) lookupEvent(id string) (*liveEvent, bool) {
	if ev, ok := s.events.byID(id); ok || s.pins == nil {
		if !ok {
			return s.eventByID(id)
		}
		return ev, ok
	}
	if ev, ok := s.remoteEvent(func(ctx context.Context) (clusterstate.Event, bool, error) { return s.pins.ByID(ctx, id) }); ok {
		return ev, ok
	}
	return s.eventByID(id)
}

func (s *Host) remoteEvent(find func(context.Context) (clusterstate.Event, bool, error)) (*liveEvent, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e, ok, err := find(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("look up an event in the cluster's PIN directory")
	}
	if !ok || err != nil {
		return nil, false
	}
	ev := &liveEvent{id: e.ID, roomID: e.Room, pin: e.PIN, title: e.Title}
	_ = json.Unmarshal(e.Config, &ev.cfg)
	return ev, true
}

// eventFinished retires an event's PIN, ends it in the store and pays its
// points. The points come last: for a hall of thousands they are many
// transactions, and the event's end must not wait behind them.
func (s *Host) eventFinished(ctx context.Context, res *room.Result) {
	defer s.awardEvent(ctx, res)
	ev, ok := s.events.removeRoom(res.Room)
	if !ok {
		return
	}
	id := ev.id
	if s.pins != nil {
		if err := s.pins.Remove(ctx, ev.entry()); err != nil {
			s.log.Warn().Err(err).Str("event", id).Msg("retire the event's PIN from the cluster's directory")
		}
	}
	if err := s.store.EndEvent(ctx, id, res.At); err != nil {
		s.log.Error().Err(err).Str("event", id).Msg("end event")
	}
}

// PINInfo is what anyone may learn from a PIN before joining.
type PINInfo struct {
	Title    string   `json:"title"`
	TeamMode string   `json:"team_mode"`
	Teams    []string `json:"teams"`
	LateJoin bool     `json:"late_join"`
}

// EventByPIN returns what a PIN tells before joining.
func (s *Host) EventByPIN(pin string) (PINInfo, bool) {
	ev, ok := s.lookupPIN(pin)
	if !ok {
		return PINInfo{}, false
	}
	return PINInfo{Title: ev.title, TeamMode: ev.cfg.TeamMode, Teams: append([]string{}, ev.cfg.Teams...), LateJoin: ev.cfg.LateJoin == nil || *ev.cfg.LateJoin}, true
}

// EventRoom returns the room of the live event with this PIN.
func (s *Host) EventRoom(pin string) (string, bool) {
	ev, ok := s.lookupPIN(pin)
	if !ok {
		return "", false
	}
	return ev.roomID, true
}

// Event returns the room and the public description of a live event.
func (s *Host) Event(id string) (string, *protocol.EventInfo, bool) {
	ev, ok := s.lookupEvent(id)
	if !ok {
		return "", nil, false
	}
	return ev.roomID, ev.info(), true
}

// EventReport answers the results export: the stored room's config and
// journal folded into a report.
func (s *Host) EventReport(ctx context.Context, ev store.Event) (*room.Report, error) {
	entries, err := s.store.Journal(ctx, ev.Room)
	if err != nil {
		return nil, err
	}
	cfg, err := s.roomConfig(ctx, ev.Room)
	if err != nil {
		return nil, err
	}
	return room.BuildReport(cfg, entries)
}

// roomConfig loads a room's stored configuration.
func (s *Host) roomConfig(ctx context.Context, id string) (room.Config, error) {
	var cfg room.Config
	if r, ok := s.rooms.Get(id); ok {
		return r.Config(), nil
	}
	rec, err := s.store.Room(ctx, id)
	if err != nil {
		return cfg, err
	}
	err = json.Unmarshal(rec.Config, &cfg)
	return cfg, err
}

// In a cluster an event's room may run on another node: an event this
// node does not know is looked up in the store, which every node shares.
// On a single node the directory is complete.

func (s *Host) eventByPIN(pin string) (*liveEvent, bool) {
	if ev, ok := s.events.byCode(pin); ok || s.cl == nil {
		return ev, ok
	}
	return s.storedEvent(func(e store.Event) bool { return e.PIN == pin })
}

func (s *Host) eventByID(id string) (*liveEvent, bool) {
	if ev, ok := s.events.byID(id); ok || s.cl == nil {
		return ev, ok
	}
	ctx, cancel := context.WithTimeout(s.runCtx, 5*time.Second)
	defer cancel()
	e, err := s.store.Event(ctx, id)
	if err != nil || !e.EndedAt.IsZero() {
		return nil, false
	}
	return storedLive(e), true
}

func storedLive(e store.Event) *liveEvent {
	var c EventConfig
	_ = json.Unmarshal(e.Config, &c)
	return &liveEvent{id: e.ID, roomID: e.Room, pin: e.PIN, title: e.Title, cfg: c}
}

// storedEvent returns the live event in the store that match picks.
func (s *Host) storedEvent(match func(store.Event) bool) (*liveEvent, bool) {
	ctx, cancel := context.WithTimeout(s.runCtx, 5*time.Second)
	defer cancel()
	evs, err := s.store.Events(ctx)
	if err != nil {
		return nil, false
	}
	for _, e := range evs {
		if e.EndedAt.IsZero() && match(e) {
			return storedLive(e), true
		}
	}
	return nil, false
}

// registerEvent lists the live event played in roomID, a room this node
// has just taken over, in the node's directory.
func (s *Host) registerEvent(ctx context.Context, roomID string) {
	evs, err := s.store.Events(ctx)
	if err != nil {
		return
	}
	for _, e := range evs {
		if e.Room == roomID && e.EndedAt.IsZero() {
			s.events.add(storedLive(e))
		}
	}
}
