package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// tournaments asserts that the store under test keeps tournaments.
func tournaments(t *testing.T, s store.Store) store.Tournaments {
	t.Helper()
	ts, ok := s.(store.Tournaments)
	if !ok {
		t.Fatalf("%T does not implement store.Tournaments", s)
	}
	return ts
}

func newTournament(t *testing.T, ts store.Tournaments, id string, rounds int) {
	t.Helper()
	var rs []store.TournamentRound
	for i := 1; i <= rounds; i++ {
		rs = append(rs, store.TournamentRound{Num: i, StartsAt: t0.Add(time.Duration(i) * time.Hour)})
	}
	must(t, ts.CreateTournament(t.Context(), store.Tournament{ID: id, Title: "城市答题挑战赛", Config: json.RawMessage(`{"room_size":2}`), CreatedAt: t0}, rs))
}

func testTournamentCreate(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 2)
	got, err := ts.Tournament(ctx, "t1")
	must(t, err)
	equal(t, "tournament", got, store.Tournament{ID: "t1", Title: "城市答题挑战赛", Config: json.RawMessage(`{"room_size":2}`), CreatedAt: t0})
	rs, err := ts.TournamentRounds(ctx, "t1")
	must(t, err)
	equal(t, "rounds", rs, []store.TournamentRound{
		{Tournament: "t1", Num: 1, StartsAt: t0.Add(time.Hour), State: store.RoundScheduled},
		{Tournament: "t1", Num: 2, StartsAt: t0.Add(2 * time.Hour), State: store.RoundScheduled},
	})
	wantErr(t, "duplicate tournament", ts.CreateTournament(ctx, store.Tournament{ID: "t1", Title: "x", CreatedAt: t0}, nil), store.ErrExists)
	// A duplicate round number fails the whole create: no tournament is left.
	err = ts.CreateTournament(ctx, store.Tournament{ID: "t2", Title: "x", CreatedAt: t0},
		[]store.TournamentRound{{Num: 1, StartsAt: t0}, {Num: 1, StartsAt: t0}})
	wantErr(t, "duplicate round", err, store.ErrExists)
	_, err = ts.Tournament(ctx, "t2")
	wantErr(t, "half-created tournament", err, store.ErrNotFound)
}

func testTournamentAttempts(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 1)
	for i, score := range []int64{5, 9} {
		n, err := ts.RecordAttempt(ctx, store.Attempt{Tournament: "t1", Player: "p1", Score: score, Total: 61234 * time.Millisecond, FinishedAt: t0.Add(time.Duration(i) * time.Minute)}, 2)
		must(t, err)
		equal(t, "attempt number", n, i+1)
	}
	_, err := ts.RecordAttempt(ctx, store.Attempt{Tournament: "t1", Player: "p1", Score: 10, FinishedAt: t0}, 2)
	wantErr(t, "third of two attempts", err, store.ErrInvalid)
	_, err = ts.RecordAttempt(ctx, store.Attempt{Tournament: "t1", Player: "p2", Score: 1, Total: -time.Second, FinishedAt: t0}, 2)
	wantErr(t, "negative time", err, store.ErrInvalid)
	_, err = ts.RecordAttempt(ctx, store.Attempt{Tournament: "nope", Player: "p2", Score: 1, FinishedAt: t0}, 2)
	wantErr(t, "attempt in missing tournament", err, store.ErrNotFound)
	as, err := ts.Attempts(ctx, "t1")
	must(t, err)
	equal(t, "attempts", as, []store.Attempt{
		{Tournament: "t1", Player: "p1", Num: 1, Score: 5, Total: 61234 * time.Millisecond, FinishedAt: t0},
		{Tournament: "t1", Player: "p1", Num: 2, Score: 9, Total: 61234 * time.Millisecond, FinishedAt: t0.Add(time.Minute)},
	})
}

// testTournamentAttemptsConcurrent: concurrent attempts of one player
// never exceed the limit.
func testTournamentAttemptsConcurrent(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = ts.RecordAttempt(ctx, store.Attempt{Tournament: "t1", Player: "p1", Score: 1, FinishedAt: t0}, 3)
		}()
	}
	wg.Wait()
	as, err := ts.Attempts(ctx, "t1")
	must(t, err)
	if len(as) > 3 {
		t.Fatalf("%d attempts stored, limit 3", len(as))
	}
}

func testTournamentEntrants(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 1)
	es := []store.Entrant{{Tournament: "t1", Player: "b", Seed: 1}, {Tournament: "t1", Player: "a", Seed: 2}}
	wantErr(t, "repeated seed", ts.SetEntrants(ctx, "t1", []store.Entrant{{Player: "x", Seed: 1}, {Player: "y", Seed: 1}}), store.ErrExists)
	must(t, ts.SetEntrants(ctx, "t1", es))
	got, err := ts.Entrants(ctx, "t1")
	must(t, err)
	equal(t, "entrants", got, es)
	wantErr(t, "seeded twice", ts.SetEntrants(ctx, "t1", es), store.ErrExists)
}

func testTournamentCheckIns(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 1)
	must(t, ts.CheckIn(ctx, store.CheckIn{Tournament: "t1", Round: 1, Player: "p1", At: t0}))
	must(t, ts.CheckIn(ctx, store.CheckIn{Tournament: "t1", Round: 1, Player: "p1", At: t0.Add(time.Minute)}))
	must(t, ts.CheckIn(ctx, store.CheckIn{Tournament: "t1", Round: 2, Player: "p2", At: t0}))
	got, err := ts.CheckIns(ctx, "t1", 1)
	must(t, err)
	equal(t, "check-ins", got, []store.CheckIn{{Tournament: "t1", Round: 1, Player: "p1", At: t0}})
}

func testTournamentFireOnce(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 2)
	pending, err := ts.PendingRounds(ctx, t0.Add(90*time.Minute))
	must(t, err)
	equal(t, "pending before firing", len(pending), 1)
	ms := []store.TournamentMatch{
		{Tournament: "t1", Round: 1, Slot: 0, Seats: []string{"a", "d"}, State: "waiting"},
		{Tournament: "t1", Round: 1, Slot: 1, Seats: []string{"b", ""}, State: "decided", Outcome: json.RawMessage(`{"advance":["b"]}`)},
	}
	// Many nodes fire at once: one wins, the matches are written once.
	var wg sync.WaitGroup
	wins := make(chan bool, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := ts.FireRound(ctx, "t1", 1, t0.Add(time.Hour+time.Second), ms)
			if err != nil {
				t.Error(err)
			}
			wins <- ok
		}()
	}
	wg.Wait()
	close(wins)
	n := 0
	for ok := range wins {
		if ok {
			n++
		}
	}
	equal(t, "rounds fired", n, 1)
	_, err = ts.FireRound(ctx, "t1", 9, t0, nil)
	wantErr(t, "fire missing round", err, store.ErrNotFound)
	got, err := ts.Matches(ctx, "t1", 1)
	must(t, err)
	equal(t, "matches", got, ms)
	rs, err := ts.TournamentRounds(ctx, "t1")
	must(t, err)
	equal(t, "fired state", rs[0].State, store.RoundStarted)
	equal(t, "fired at", rs[0].FiredAt, t0.Add(time.Hour+time.Second))

	m := ms[0]
	m.State, m.Room = "playing", "room-1"
	ok, err := ts.UpdateMatch(ctx, m, "waiting")
	must(t, err)
	equal(t, "update from waiting", ok, true)
	ok, err = ts.UpdateMatch(ctx, m, "waiting")
	must(t, err)
	equal(t, "second update from waiting", ok, false)

	ok, err = ts.FinishRound(ctx, "t1", 1, t0.Add(2*time.Hour))
	must(t, err)
	equal(t, "finish", ok, true)
	ok, err = ts.FinishRound(ctx, "t1", 1, t0.Add(2*time.Hour))
	must(t, err)
	equal(t, "finish twice", ok, false)
	all, err := ts.Matches(ctx, "t1", 0)
	must(t, err)
	equal(t, "all matches", len(all), 2)
	pending, err = ts.PendingRounds(ctx, t0.Add(90*time.Minute))
	must(t, err)
	equal(t, "pending after finishing", len(pending), 0)
}

// testTournamentRun covers what running a tournament adds: the list, an
// edit until the first round fires, a player's attempts by key, many
// matches updated in one write (each only from the state named), and the
// units' teams.
func testTournamentRun(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 2)
	list, err := ts.ListTournaments(ctx)
	must(t, err)
	equal(t, "list", len(list), 1)
	edited := store.Tournament{ID: "t1", Title: "改名", Config: json.RawMessage(`{"room_size":4}`)}
	ok, err := ts.UpdateTournament(ctx, edited, []store.TournamentRound{{Num: 1, StartsAt: t0.Add(3 * time.Hour)}})
	must(t, err)
	equal(t, "edited", ok, true)
	got, err := ts.Tournament(ctx, "t1")
	must(t, err)
	equal(t, "edited title", got.Title, "改名")
	rs, err := ts.TournamentRounds(ctx, "t1")
	must(t, err)
	equal(t, "edited rounds", rs, []store.TournamentRound{{Tournament: "t1", Num: 1, StartsAt: t0.Add(3 * time.Hour), State: store.RoundScheduled}})
	_, err = ts.UpdateTournament(ctx, store.Tournament{ID: "nope", Title: "x"}, nil)
	wantErr(t, "edit a missing tournament", err, store.ErrNotFound)

	for _, p := range []string{"p2", "p1", "p2"} {
		_, err := ts.RecordAttempt(ctx, store.Attempt{Tournament: "t1", Player: p, Score: 1, FinishedAt: t0}, 5)
		must(t, err)
	}
	as, err := ts.PlayerAttempts(ctx, "t1", "p2")
	must(t, err)
	equal(t, "p2's attempts", len(as), 2)
	equal(t, "p2's second", as[1].Num, 2)

	ms := []store.TournamentMatch{
		{Tournament: "t1", Round: 1, Slot: 0, Seats: []string{"a", "b"}, State: "waiting"},
		{Tournament: "t1", Round: 1, Slot: 1, Seats: []string{"c", "d"}, State: "waiting"},
		{Tournament: "t1", Round: 1, Slot: 2, Seats: []string{"e", ""}, State: "decided"},
	}
	fired, err := ts.FireRound(ctx, "t1", 1, t0.Add(3*time.Hour), ms)
	must(t, err)
	equal(t, "fired", fired, true)
	ok, err = ts.UpdateTournament(ctx, edited, nil)
	must(t, err)
	equal(t, "edit after firing", ok, false)
	upd := []store.TournamentMatch{ms[0], ms[1], ms[2]}
	for i := range upd {
		upd[i].State, upd[i].Room = "playing", "r"
	}
	done, err := ts.UpdateMatches(ctx, upd, "waiting")
	must(t, err)
	equal(t, "updated from waiting", done, []bool{true, true, false})
	after, err := ts.Matches(ctx, "t1", 1)
	must(t, err)
	equal(t, "states", []string{after[0].State + after[0].Room, after[1].State, after[2].State}, []string{"playingr", "playing", "decided"})
	done, err = ts.UpdateMatches(ctx, nil, "waiting")
	must(t, err)
	equal(t, "nothing to update", len(done), 0)

	must(t, ts.SetTeam(ctx, store.TournamentTeam{Tournament: "t1", Unit: "u2", Players: []string{"a", "b"}, SetAt: t0}))
	must(t, ts.SetTeam(ctx, store.TournamentTeam{Tournament: "t1", Unit: "u1", Players: []string{"c"}, SetAt: t0}))
	must(t, ts.SetTeam(ctx, store.TournamentTeam{Tournament: "t1", Unit: "u1", Players: []string{"c", "d", "e"}, SetAt: t0.Add(time.Minute)}))
	teams, err := ts.Teams(ctx, "t1")
	must(t, err)
	equal(t, "teams", teams, []store.TournamentTeam{
		{Tournament: "t1", Unit: "u1", Players: []string{"c", "d", "e"}, SetAt: t0.Add(time.Minute)},
		{Tournament: "t1", Unit: "u2", Players: []string{"a", "b"}, SetAt: t0},
	})
	wantErr(t, "a team of a missing tournament", ts.SetTeam(ctx, store.TournamentTeam{Tournament: "nope", Unit: "u1", Players: []string{"a"}, SetAt: t0}), store.ErrNotFound)
}

// testTournamentFinishAttempt: an attempt and its room's end are written
// together; over the limit the attempt is refused and the room's end
// still stored; a room that does not exist writes neither.
func testTournamentFinishAttempt(t *testing.T, s store.Store) {
	ts, ctx := tournaments(t, s), t.Context()
	newTournament(t, ts, "t1", 1)
	end := func(room string) store.Result {
		return store.Result{Room: room, Kind: "qualifier", FinishedAt: t0.Add(time.Minute)}
	}
	must(t, s.CreateRoom(ctx, store.Room{ID: "a1", Kind: "qualifier", CreatedAt: t0}))
	must(t, s.CreateRoom(ctx, store.Room{ID: "a2", Kind: "qualifier", CreatedAt: t0}))
	a := store.Attempt{Tournament: "t1", Player: "p1", Score: 7, Total: 3 * time.Second, FinishedAt: t0.Add(time.Minute)}
	n, err := ts.FinishAttempt(ctx, a, 1, end("a1"))
	must(t, err)
	equal(t, "attempt number", n, 1)
	r, err := s.Result(ctx, "a1")
	must(t, err)
	equal(t, "a1's end", r.FinishedAt, t0.Add(time.Minute))
	_, err = ts.FinishAttempt(ctx, a, 1, end("a2"))
	wantErr(t, "second of one attempt", err, store.ErrInvalid)
	_, err = s.Result(ctx, "a2")
	must(t, err)
	_, err = ts.FinishAttempt(ctx, store.Attempt{Tournament: "t1", Player: "p2", Score: 1, FinishedAt: t0}, 1, end("none"))
	wantErr(t, "attempt of a room never opened", err, store.ErrNotFound)
	as, err := ts.Attempts(ctx, "t1")
	must(t, err)
	equal(t, "attempts", len(as), 1)
}
