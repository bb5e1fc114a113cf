// Package storetest is the contract every store.Store implementation must
// pass. SQLite and PostgreSQL both run it in store's own tests, so the two
// cannot drift apart.
package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/leitai/leitai/store"
)

// Run runs the contract suite. open must return a fresh, empty store for
// each call and arrange for it to be closed when the test ends (t.Cleanup).
// Subtests do not run in parallel, so open may share a server.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Players", testPlayers},
		{"Tokens", testTokens},
		{"ReplaceTokens", testReplaceTokens},
		{"QuestionSets", testQuestionSets},
		{"Rooms", testRooms},
		{"JournalOrder", testJournalOrder},
		{"JournalBatchAtomic", testJournalBatchAtomic},
		{"JournalLargeBatch", testJournalLargeBatch},
		{"JournalUnknownRoom", testJournalUnknownRoom},
		{"JournalConcurrent", testJournalConcurrent},
		{"FinishRoom", testFinishRoom},
		{"Events", testEvents},
		{"EventPINConcurrent", testEventPINConcurrent},
		{"EventAwards", testEventAwards},
		{"AwardPoints", testAwardPoints},
		{"AwardPointsConcurrent", testAwardPointsConcurrent},
		{"CreatePlayerWithTokens", testCreatePlayerWithTokens},
		{"CreatePlayerConcurrent", testCreatePlayerConcurrent},
		{"FinishMatch", testFinishMatch},
		{"OrgTree", testOrgTree},
		{"LedgerPeriods", testLedgerPeriods},
		{"LedgerBatch", testLedgerBatch},
		{"LedgerBatchConcurrent", testLedgerBatchConcurrent},
		{"EpochStale", testEpochStale},
		{"EpochPerRoom", testEpochPerRoom},
		{"EpochFenceConcurrent", testEpochFenceConcurrent},
		{"TournamentCreate", testTournamentCreate},
		{"TournamentAttempts", testTournamentAttempts},
		{"TournamentAttemptsConcurrent", testTournamentAttemptsConcurrent},
		{"TournamentFinishAttempt", testTournamentFinishAttempt},
		{"TournamentEntrants", testTournamentEntrants},
		{"TournamentCheckIns", testTournamentCheckIns},
		{"TournamentFireOnce", testTournamentFireOnce},
		{"TournamentRun", testTournamentRun},
		{"ChallengeBest", testChallengeBest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// t0 is a fixed instant with whole milliseconds, the precision stores keep.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func testPlayers(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := store.Player{ID: "p1", Name: "李雷", Org: "city/district/unit", Rating: 1512.5, Points: 7, CreatedAt: t0}
	must(t, s.CreatePlayer(ctx, p))
	got, err := s.Player(ctx, "p1")
	must(t, err)
	equal(t, "player", got, p)

	wantErr(t, "duplicate player", s.CreatePlayer(ctx, store.Player{ID: "p1", Name: "other"}), store.ErrExists)
	_, err = s.Player(ctx, "nobody")
	wantErr(t, "missing player", err, store.ErrNotFound)

	must(t, s.UpdateRating(ctx, "p1", 1600))
	got, err = s.Player(ctx, "p1")
	must(t, err)
	p.Rating = 1600
	equal(t, "player after rating", got, p)
	wantErr(t, "rating of missing player", s.UpdateRating(ctx, "nobody", 1), store.ErrNotFound)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.Token{Hash: "ab12", Kind: store.TokenHost, Subject: "ev1", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
	must(t, s.PutToken(ctx, tok))
	got, err := s.Token(ctx, "ab12")
	must(t, err)
	equal(t, "token", got, tok)

	wantErr(t, "duplicate token", s.PutToken(ctx, tok), store.ErrExists)
	_, err = s.Token(ctx, "ffff")
	wantErr(t, "missing token", err, store.ErrNotFound)

	must(t, s.DeleteToken(ctx, "ab12"))
	_, err = s.Token(ctx, "ab12")
	wantErr(t, "deleted token", err, store.ErrNotFound)
	wantErr(t, "deleting twice", s.DeleteToken(ctx, "ab12"), store.ErrNotFound)

	// Replacing an event's host tokens revokes them all, and only them.
	for _, h := range []string{"h1", "h2"} {
		must(t, s.PutToken(ctx, store.Token{Hash: h, Kind: store.TokenHost, Subject: "ev2", CreatedAt: t0}))
	}
	must(t, s.PutToken(ctx, store.Token{Hash: "s1", Kind: store.TokenScreen, Subject: "ev2", CreatedAt: t0}))
	must(t, s.PutToken(ctx, store.Token{Hash: "h9", Kind: store.TokenHost, Subject: "ev3", CreatedAt: t0}))
	must(t, s.ReplaceSubjectTokens(ctx, store.Token{Hash: "h3", Kind: store.TokenHost, Subject: "ev2", CreatedAt: t0}))
	for _, h := range []string{"h1", "h2"} {
		_, err = s.Token(ctx, h)
		wantErr(t, "replaced token "+h, err, store.ErrNotFound)
	}
	for _, h := range []string{"h3", "s1", "h9"} {
		_, err = s.Token(ctx, h)
		must(t, err)
	}
	// A replacement that cannot be stored leaves the old tokens in place.
	wantErr(t, "replacing with a taken hash", s.ReplaceSubjectTokens(ctx, store.Token{Hash: "h9", Kind: store.TokenHost, Subject: "ev2", CreatedAt: t0}), store.ErrExists)
	_, err = s.Token(ctx, "h3")
	must(t, err)

	// A token without expiry keeps its zero time.
	must(t, s.PutToken(ctx, store.Token{Hash: "cd34", Kind: store.TokenPlayer, Subject: "p1", CreatedAt: t0}))
	got, err = s.Token(ctx, "cd34")
	must(t, err)
	if !got.ExpiresAt.IsZero() {
		t.Errorf("zero ExpiresAt came back as %v", got.ExpiresAt)
	}
}

func testReplaceTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := store.Token{Hash: "0ld", Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: t0}
	older := store.Token{Hash: "01der", Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: t0}
	host := store.Token{Hash: "h0st", Kind: store.TokenHost, Subject: "ev1", CreatedAt: t0}
	must(t, s.PutToken(ctx, old))
	must(t, s.PutToken(ctx, older))
	must(t, s.PutToken(ctx, host))

	// Keeping the current token stores nothing new and revokes the others.
	n, err := s.ReplaceTokens(ctx, old)
	must(t, err)
	if n != 1 {
		t.Errorf("revoked %d tokens, want 1", n)
	}
	_, err = s.Token(ctx, "01der")
	wantErr(t, "the other organizer token", err, store.ErrNotFound)
	got, err := s.Token(ctx, "0ld")
	must(t, err)
	equal(t, "kept token", got, old)

	// A new token replaces the current one; other kinds are not touched.
	fresh := store.Token{Hash: "fresh", Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: t0.Add(time.Hour)}
	n, err = s.ReplaceTokens(ctx, fresh)
	must(t, err)
	if n != 1 {
		t.Errorf("revoked %d tokens, want 1", n)
	}
	_, err = s.Token(ctx, "0ld")
	wantErr(t, "the replaced organizer token", err, store.ErrNotFound)
	got, err = s.Token(ctx, "fresh")
	must(t, err)
	equal(t, "new token", got, fresh)
	_, err = s.Token(ctx, "h0st")
	must(t, err)
}

func testQuestionSets(t *testing.T, s store.Store) {
	ctx := t.Context()
	sets, err := s.QuestionSets(ctx)
	must(t, err)
	if len(sets) != 0 {
		t.Fatalf("fresh store lists %d question sets", len(sets))
	}
	a := store.QuestionSet{ID: "qa", Name: "历史", Count: 2, CreatedAt: t0,
		Questions: json.RawMessage(`[{"id":"1","text":"秦始皇?"},{"id":"2","text":"x"}]`)}
	b := store.QuestionSet{ID: "qb", Name: "Science", Count: 1, CreatedAt: t0.Add(time.Minute),
		Questions: json.RawMessage(`[{"id":"1","text":"H2O?"}]`)}
	must(t, s.SaveQuestionSet(ctx, b))
	must(t, s.SaveQuestionSet(ctx, a))

	sets, err = s.QuestionSets(ctx)
	must(t, err)
	if len(sets) != 2 || sets[0].ID != "qa" || sets[1].ID != "qb" {
		t.Fatalf("QuestionSets = %+v, want qa then qb (oldest first)", sets)
	}
	for _, q := range sets {
		if len(q.Questions) != 0 {
			t.Errorf("listing carries Questions for %s", q.ID)
		}
	}
	if sets[0].Name != a.Name || sets[0].Count != a.Count || !sets[0].CreatedAt.Equal(t0) {
		t.Errorf("listed %+v, want header of %+v", sets[0], a)
	}

	got, err := s.QuestionSet(ctx, "qa")
	must(t, err)
	equal(t, "question set", got, a)

	// Saving again under the same id replaces the set (a re-import).
	a.Name, a.Count, a.Questions = "历史 v2", 1, json.RawMessage(`[{"id":"9"}]`)
	must(t, s.SaveQuestionSet(ctx, a))
	got, err = s.QuestionSet(ctx, "qa")
	must(t, err)
	equal(t, "re-saved question set", got, a)

	_, err = s.QuestionSet(ctx, "nope")
	wantErr(t, "missing question set", err, store.ErrNotFound)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// equal fails the test unless got and want are equal once times are
// compared as instants and JSON documents as values: a store may hand back
// another time zone, or JSON re-spaced (PostgreSQL's jsonb does).
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	g, w := canon(reflect.ValueOf(got)).Interface(), canon(reflect.ValueOf(want)).Interface()
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// canon returns a copy of v with times in UTC and JSON re-encoded.
func canon(v reflect.Value) reflect.Value {
	switch {
	case v.Type() == timeType:
		return reflect.ValueOf(v.Interface().(time.Time).UTC())
	case v.Type() == rawType:
		if v.IsNil() {
			return v
		}
		var x any
		if err := json.Unmarshal(v.Bytes(), &x); err != nil {
			return v
		}
		b, _ := json.Marshal(x)
		return reflect.ValueOf(json.RawMessage(b))
	case v.Kind() == reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			out.Field(i).Set(canon(v.Field(i)))
		}
		return out
	case v.Kind() == reflect.Slice && !v.IsNil():
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(canon(v.Index(i)))
		}
		return out
	}
	return v
}
