package clusterstate

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/internal/clock"
)

// ErrPINTaken is returned by PINs.Put when another live event holds the PIN.
var ErrPINTaken = errors.New("clusterstate: PIN held by another live event")

// Event is a live stage event as the PIN directory knows it.
type Event struct {
	ID     string          `json:"id"`
	Room   string          `json:"room"`
	PIN    string          `json:"pin"`
	Title  string          `json:"title"`
	Config json.RawMessage `json:"config,omitempty"`
}

// PINs is the directory of live events by PIN and by id, shared by every
// node: a PIN created on one node resolves on all. The store decides which
// event gets a PIN (its unique index on live PINs, on SQLite and PostgreSQL
// alike, refuses a second live event with the same PIN); the directory
// refuses it too, so two entries never share a PIN.
type PINs interface {
	// Put lists e under its PIN and id; putting an event again is not an
	// error. ErrPINTaken if another event holds the PIN.
	Put(ctx context.Context, e Event) error
	// ByPIN and ByID find a live event.
	ByPIN(ctx context.Context, pin string) (Event, bool, error)
	ByID(ctx context.Context, id string) (Event, bool, error)
	// Remove retires e's PIN and id, if they are still e's.
	Remove(ctx context.Context, e Event) error
}

// LocalPINs is the in-process PIN directory.
type LocalPINs struct {
	// mu guards the following fields.
	mu    sync.Mutex
	byPIN map[string]Event
	byID  map[string]Event
}

var _ PINs = (*LocalPINs)(nil)

// NewLocalPINs makes an empty directory.
func NewLocalPINs() *LocalPINs {
	return &LocalPINs{byPIN: map[string]Event{}, byID: map[string]Event{}}
}

// Put implements PINs.
func (l *LocalPINs) Put(_ context.Context, e Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.byPIN[e.PIN]; ok && cur.ID != e.ID {
		return ErrPINTaken
	}
	l.byPIN[e.PIN] = e
	l.byID[e.ID] = e
	return nil
}

// ByPIN implements PINs.
func (l *LocalPINs) ByPIN(_ context.Context, pin string) (Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byPIN[pin]
	return e, ok, nil
}

// ByID implements PINs.
func (l *LocalPINs) ByID(_ context.Context, id string) (Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byID[id]
	return e, ok, nil
}

// Remove implements PINs.
func (l *LocalPINs) Remove(_ context.Context, e Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.byPIN[e.PIN]; ok && cur.ID == e.ID {
		delete(l.byPIN, e.PIN)
	}
	delete(l.byID, e.ID)
	return nil
}

// RedisPINs is the PIN directory in Redis: {PREFIXpin:PIN} holds the
// event's JSON and {PREFIXevent:ID} its PIN, each its own hash tag (one
// key per script). Neither expires: an entry goes when its event ends, and
// the nodes put their live events back when they start (see
// docs/architecture.md).
type RedisPINs struct {
	client redis.UniversalClient // Static after construction.
	prefix string                // Static after construction.
}

var _ PINs = (*RedisPINs)(nil)

// NewRedisPINs keeps the directory in client under prefix.
func NewRedisPINs(client redis.UniversalClient, prefix string) *RedisPINs {
	return &RedisPINs{client: client, prefix: prefix}
}

func (r *RedisPINs) pinKey(pin string) string { return "{" + r.prefix + "pin:" + pin + "}" }
func (r *RedisPINs) idKey(id string) string   { return "{" + r.prefix + "event:" + id + "}" }

// ARGV: id, json. Returns 1, or 0 if another event holds the PIN.
var pinPut = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cjson.decode(cur).id ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`)

// ARGV: id.
var pinRemove = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cjson.decode(cur).id == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`)

// Put implements PINs.
func (r *RedisPINs) Put(ctx context.Context, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ok, err := pinPut.Run(ctx, r.client, []string{r.pinKey(e.PIN)}, e.ID, b).Int()
	if err != nil {
		return unavailable(err)
	}
	if ok == 0 {
		return ErrPINTaken
	}
	return unavailable(r.client.Set(ctx, r.idKey(e.ID), e.PIN, 0).Err())
}

// ByPIN implements PINs.
func (r *RedisPINs) ByPIN(ctx context.Context, pin string) (Event, bool, error) {
	b, err := r.client.Get(ctx, r.pinKey(pin)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, unavailable(err)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, false, err
	}
	return e, true, nil
}

// ByID implements PINs.
func (r *RedisPINs) ByID(ctx context.Context, id string) (Event, bool, error) {
	pin, err := r.client.Get(ctx, r.idKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, unavailable(err)
	}
	e, ok, err := r.ByPIN(ctx, pin)
	if err != nil || !ok || e.ID != id {
		return Event{}, false, err
	}
	return e, true, nil
}

// Remove implements PINs.
func (r *RedisPINs) Remove(ctx context.Context, e Event) error {
	if err := pinRemove.Run(ctx, r.client, []string{r.pinKey(e.PIN)}, e.ID).Err(); err != nil {
		return unavailable(err)
	}
	return unavailable(r.client.Del(ctx, r.idKey(e.ID)).Err())
}

// KeepPINs puts the events live lists back in the directory every interval
// until ctx ends, so a directory that lost its data (Redis flushed or
// restarted without persistence) resolves them again within interval. The
// node running an event's room lists it. A failed Put is passed to onErr (if
// not nil) and tried at the next round. Runs in the caller's goroutine.
func KeepPINs(ctx context.Context, pins PINs, clk clock.Clock, interval time.Duration, live func() []Event, onErr func(error)) {
	if clk == nil {
		clk = clock.Real{}
	}
	t := clk.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		for _, e := range live() {
			if err := pins.Put(ctx, e); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
