// Package clock gives the server its notion of time through an interface, so
// that rooms, matchmaking and timeouts run on the wall clock in production and
// on a clock the tests move by hand.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
	NewTicker(d time.Duration) Ticker
}

// Timer is a one-shot timer, like time.Timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker fires every period, like time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker returns a time.Ticker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Fake is a clock that moves only when Advance or Set is called. Timers whose
// time comes fire in order of their deadlines, each on a buffered channel, so
// a test that advances the clock never blocks on a receiver.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeTimer
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d and fires the timers that come due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.Set(target)
}

// Set moves the clock to t (never backwards) and fires the timers that come
// due, each at its own instant.
func (f *Fake) Set(t time.Time) {
	for {
		f.mu.Lock()
		sort.Slice(f.waiters, func(i, j int) bool { return f.waiters[i].when.Before(f.waiters[j].when) })
		if len(f.waiters) == 0 || f.waiters[0].when.After(t) {
			if t.After(f.now) {
				f.now = t
			}
			f.mu.Unlock()
			return
		}
		w := f.waiters[0]
		f.waiters = f.waiters[1:]
		if w.when.After(f.now) {
			f.now = w.when
		}
		now := f.now
		if w.period > 0 {
			w.when = w.when.Add(w.period)
			f.waiters = append(f.waiters, w)
		} else {
			w.active = false
		}
		f.mu.Unlock()
		select {
		case w.c <- now:
		default: // like time.Ticker, drop a tick nobody took
		}
	}
}

// Timers reports how many timers and tickers are waiting; tests use it to
// know that a goroutine has armed its timer before they advance the clock.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// TimersDue reports how many timers and tickers come due after now+from
// and no later than now+to: a test tells one goroutine's timer from the
// others (a ticker, a timer that fires and is not armed again) by when it
// is due.
func (f *Fake) TimersDue(from, to time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	lo, hi := f.now.Add(from), f.now.Add(to)
	n := 0
	for _, w := range f.waiters {
		if w.when.After(lo) && !w.when.After(hi) {
			n++
		}
	}
	return n
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time
	when   time.Time
	period time.Duration
	active bool
}

func (f *Fake) add(d, period time.Duration) *fakeTimer {
	f.mu.Lock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1), when: f.now.Add(d), period: period, active: true}
	f.waiters = append(f.waiters, t)
	f.mu.Unlock()
	if d <= 0 {
		f.Set(f.Now())
	}
	return t
}

// NewTimer makes a timer that fires when the clock reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer { return f.add(d, 0) }

// NewTicker makes a ticker that fires every d.
func (f *Fake) NewTicker(d time.Duration) Ticker { return fakeTicker{f.add(d, d)} }

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.remove()
	t.active = false
	return was
}

// remove takes the timer off the waiting list. The caller holds t.f.mu.
func (t *fakeTimer) remove() {
	for i, w := range t.f.waiters {
		if w == t {
			t.f.waiters = append(t.f.waiters[:i], t.f.waiters[i+1:]...)
			return
		}
	}
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	was := t.active
	t.remove()
	t.when = t.f.now.Add(d)
	t.active = true
	t.f.waiters = append(t.f.waiters, t)
	t.f.mu.Unlock()
	if d <= 0 {
		t.f.Set(t.f.Now())
	}
	return was
}

// fakeTicker adapts a periodic fakeTimer to the Ticker interface.
type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Stop()               { k.t.Stop() }
