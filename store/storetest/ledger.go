package storetest

import (
	"testing"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/org"
	"github.com/leitai/leitai/store"
)

// shanghai is the default ledger time zone. Shanghai has had no daylight
// saving since 1991, so a fixed +8 is the same zone when the host has no
// zoneinfo.
func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// orgFixture stores city → d1 → {u1, u2}, city → d2 → u3, and registered
// members a, b (u1), c (u2), d (u3) with players of the same ids.
func orgFixture(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.AddOrgs(ctx, []store.Org{
		{Code: "city", Name: "City", CreatedAt: t0},
		{Code: "d1", Name: "D1", Parent: "city", CreatedAt: t0},
		{Code: "d2", Name: "D2", Parent: "city", CreatedAt: t0},
		{Code: "u1", Name: "U1", Parent: "d1", Expected: 4, JoinCode: "J1", CreatedAt: t0},
		{Code: "u2", Name: "U2", Parent: "d1", Expected: 2, CreatedAt: t0},
		{Code: "u3", Name: "U3", Parent: "d2", Expected: 2, CreatedAt: t0},
	}))
	for _, m := range []struct{ id, unit string }{{"a", "u1"}, {"b", "u1"}, {"c", "u2"}, {"d", "u3"}} {
		must(t, s.JoinMember(ctx, store.Member{ID: "m-" + m.id, Name: m.id, Number: "n" + m.id, Unit: m.unit, RegisteredAt: t0, CreatedAt: t0},
			store.Player{ID: m.id, Name: m.id, CreatedAt: t0}))
	}
}

func testOrgTree(t *testing.T, s store.Store) {
	ctx := t.Context()
	orgFixture(t, s)
	u1, err := s.Org(ctx, "u1")
	must(t, err)
	if u1.Path != "city/d1/u1/" || u1.Members != 2 || u1.Registered != 2 || u1.Expected != 4 {
		t.Fatalf("u1 = %+v", u1)
	}
	sub, err := s.Orgs(ctx, "d1")
	must(t, err)
	if len(sub) != 3 || sub[0].Code != "d1" {
		t.Fatalf("subtree of d1 = %+v", sub)
	}
	j, err := s.OrgByJoinCode(ctx, "J1")
	must(t, err)
	if j.Code != "u1" {
		t.Fatalf("join code J1 is %s", j.Code)
	}
	// Refused: unknown parent (nothing of the batch stored), duplicate
	// code, a move under its own subtree.
	err = s.AddOrgs(ctx, []store.Org{{Code: "x1", Name: "x", Parent: "city"}, {Code: "x2", Name: "x", Parent: "nowhere"}})
	wantErr(t, "unknown parent", err, store.ErrNotFound)
	_, err = s.Org(ctx, "x1")
	wantErr(t, "unit of a refused batch", err, store.ErrNotFound)
	wantErr(t, "duplicate code", s.AddOrgs(ctx, []store.Org{{Code: "u1", Name: "again", Parent: "d2"}}), store.ErrExists)
	wantErr(t, "cycle", s.MoveOrg(ctx, "d1", "u1"), store.ErrInvalid)
	wantErr(t, "onto itself", s.MoveOrg(ctx, "d1", "d1"), store.ErrInvalid)
	wantErr(t, "unknown new parent", s.MoveOrg(ctx, "u1", "nowhere"), store.ErrNotFound)
	// A move carries the subtree.
	must(t, s.MoveOrg(ctx, "d1", "d2"))
	u1, _ = s.Org(ctx, "u1")
	if u1.Path != "city/d2/d1/u1/" {
		t.Fatalf("after moving d1 under d2, u1's path is %s", u1.Path)
	}
	must(t, s.MoveOrg(ctx, "d1", "city"))
	// Members: counters follow a move; an invitation is used once.
	must(t, s.AddMembers(ctx, []store.Member{{ID: "m-e", Name: "e", Number: "ne", Unit: "u2", Invite: "hash-e", CreatedAt: t0}}))
	wantErr(t, "duplicate member number", s.AddMembers(ctx, []store.Member{{ID: "m-f", Name: "f", Number: "ne", Unit: "u2", Invite: "hash-f"}}), store.ErrExists)
	m, err := s.RegisterMember(ctx, "hash-e", store.Player{ID: "e", Name: "e", CreatedAt: t0})
	must(t, err)
	if m.Player != "e" || m.Unit != "u2" {
		t.Fatalf("registered %+v", m)
	}
	_, err = s.RegisterMember(ctx, "hash-e", store.Player{ID: "e2", Name: "e", CreatedAt: t0})
	wantErr(t, "invitation used twice", err, store.ErrNotFound)
	must(t, s.MoveMember(ctx, "m-e", "u3"))
	u2, _ := s.Org(ctx, "u2")
	u3, _ := s.Org(ctx, "u3")
	if u2.Members != 1 || u2.Registered != 1 || u3.Members != 2 || u3.Registered != 2 {
		t.Fatalf("after a move: u2 %+v, u3 %+v", u2, u3)
	}
	wantErr(t, "move to an unknown unit", s.MoveMember(ctx, "m-e", "nowhere"), store.ErrNotFound)
}

// testLedgerPeriods awards on a fake clock across a week and a month
// boundary in Asia/Shanghai, moves a member, and checks every rollup and
// leaderboard against figures worked out by hand.
func testLedgerPeriods(t *testing.T, s store.Store) {
	ctx := t.Context()
	orgFixture(t, s)
	loc := shanghai(t)
	caps := store.Caps{store.SourceDuel: 2, store.SourceDaily: 1}
	// Sunday 29 November 2026, 23:59:59 in Shanghai.
	clk := clock.NewFake(time.Date(2026, 11, 29, 23, 59, 59, 0, loc))
	award := func(ref, player, source string, points, wantPaid int64) {
		t.Helper()
		now := clk.Now()
		out, err := s.Award(ctx, caps, []store.Award{{Ref: ref, Player: player, Source: source, Points: points, Day: now.In(loc).Format(time.DateOnly), At: now}})
		must(t, err)
		if out[0].Paid != wantPaid {
			t.Fatalf("award %s paid %d, want %d", ref, out[0].Paid, wantPaid)
		}
	}
	award("1", "a", store.SourceDuel, 5, 5)
	award("2", "b", store.SourceDuel, 2, 2)
	clk.Advance(time.Second) // Monday 30 November 00:00: a new day and week, same month
	award("3", "a", store.SourceDuel, 5, 5)
	award("4", "a", store.SourceDuel, 5, 5)
	award("5", "a", store.SourceDuel, 5, 0) // third duel of the day: capped
	award("6", "c", store.SourceEvent, 10, 10)
	award("7", "d", store.SourceFour, 6, 6)
	award("3", "a", store.SourceDuel, 5, 5) // a retried request: a replay
	must(t, s.MoveMember(ctx, "m-a", "u3"))
	clk.Advance(24 * time.Hour) // Tuesday 1 December: same week, a new month
	award("8", "a", store.SourceDaily, 3, 3)
	award("9", "a", store.SourceDaily, 3, 0)

	want := map[string]map[string]store.UnitPoints{
		"2026-11-29":  {"u1": {Points: 7, Active: 2}},
		"2026-11-30":  {"u1": {Points: 10, Active: 1}, "u2": {Points: 10, Active: 1}, "u3": {Points: 6, Active: 1}},
		"2026-12-01":  {"u3": {Points: 3, Active: 1}},
		"w2026-11-23": {"u1": {Points: 7, Active: 2}},
		"w2026-11-30": {"u1": {Points: 10, Active: 1}, "u2": {Points: 10, Active: 1}, "u3": {Points: 9, Active: 2}},
		"m2026-11":    {"u1": {Points: 17, Active: 2}, "u2": {Points: 10, Active: 1}, "u3": {Points: 6, Active: 1}},
		"m2026-12":    {"u3": {Points: 3, Active: 1}},
		"all":         {"u1": {Points: 17, Active: 2}, "u2": {Points: 10, Active: 1}, "u3": {Points: 9, Active: 2}},
	}
	for period, units := range want {
		got, err := s.UnitPoints(ctx, period)
		must(t, err)
		if len(got) != len(units) {
			t.Fatalf("%s: %+v, want %+v", period, got, units)
		}
		for _, u := range got {
			w := units[u.Unit]
			if u.Points != w.Points || u.Active != w.Active {
				t.Errorf("%s %s: points %d active %d, want %d %d", period, u.Unit, u.Points, u.Active, w.Points, w.Active)
			}
		}
	}
	// Three levels: units, districts, the city (this week).
	orgs, err := s.Orgs(ctx, "")
	must(t, err)
	pts, err := s.UnitPoints(ctx, "w2026-11-30")
	must(t, err)
	by := map[string]store.UnitPoints{}
	for _, p := range pts {
		by[p.Unit] = p
	}
	nodes := make([]org.Node, len(orgs))
	for i, o := range orgs {
		nodes[i] = org.Node{Code: o.Code, Parent: o.Parent, Expected: o.Expected, Members: o.Members, Registered: o.Registered, Points: by[o.Code].Points, Active: by[o.Code].Active}
	}
	tree := org.NewTree(nodes)
	for code, w := range map[string][3]int64{ // points, active, registered
		"u1": {10, 1, 1}, "u3": {9, 2, 2}, "d1": {20, 2, 2}, "d2": {9, 2, 2}, "city": {29, 4, 4},
	} {
		f := tree.Sum(code)
		if f.Points != w[0] || f.Active != w[1] || f.Registered != w[2] {
			t.Errorf("%s this week: %+v, want points %d active %d registered %d", code, f, w[0], w[1], w[2])
		}
	}
	if f := tree.Sum("d1"); f.ParticipationRate != 1 || f.PointsPerMember != 10 {
		t.Errorf("d1 rates %+v", f)
	}

	// Leaderboards.
	top, err := s.TopPlayers(ctx, "w2026-11-30", "", 0, 10)
	must(t, err)
	if len(top) != 3 || top[0].Player != "a" || top[0].Points != 13 || top[0].Unit != "u3" || top[1].Player != "c" || top[2].Points != 6 {
		t.Fatalf("city board this week: %+v", top)
	}
	top, err = s.TopPlayers(ctx, "w2026-11-30", "d1", 0, 10)
	must(t, err)
	if len(top) != 2 || top[0].Player != "c" || top[1].Points != 10 || top[1].Rank != 1 || top[1].Player != "a" {
		t.Fatalf("d1 board this week (a's points earned in d1 only; a tie with c, listed by id descending): %+v", top)
	}
	top, err = s.TopPlayers(ctx, "all", "", 1, 1)
	must(t, err)
	if len(top) != 1 || top[0].Rank != 2 || top[0].Player != "c" {
		t.Fatalf("second page of the all-time board: %+v", top)
	}
	r, err := s.Rank(ctx, "w2026-11-30", "a")
	must(t, err)
	if r.Points != 13 || r.CityRank != 1 || r.CityOf != 3 || r.Unit != "u3" || r.UnitPoints != 3 || r.UnitRank != 2 || r.UnitOf != 2 {
		t.Fatalf("rank of a this week: %+v", r)
	}
	r, err = s.Rank(ctx, "all", "b")
	must(t, err)
	if r.Points != 2 || r.CityRank != 4 || r.CityOf != 4 || r.UnitRank != 2 {
		t.Fatalf("all-time rank of b (a 18, c 10, d 6, b 2): %+v", r)
	}
	tm, err := s.TopMembers(ctx, "w2026-11-30", []string{"u1", "u3"}, 3)
	must(t, err)
	if len(tm["u1"]) != 1 || len(tm["u3"]) != 2 || tm["u3"][0].Player != "d" {
		t.Fatalf("top members: %+v", tm)
	}
	// Only weeks have a points index on a unit's rows; the other periods
	// count and sort the unit's rows, with the same outcome.
	r, err = s.Rank(ctx, "2026-11-30", "d")
	must(t, err)
	if r.Unit != "u3" || r.UnitPoints != 6 || r.UnitRank != 1 || r.UnitOf != 1 {
		t.Fatalf("rank of d in u3 on 30 November: %+v", r)
	}
	r, err = s.Rank(ctx, "m2026-11", "a")
	must(t, err)
	if r.Points != 15 || r.Unit != "u3" || r.UnitPoints != 0 || r.UnitRank != 2 || r.UnitOf != 1 {
		t.Fatalf("rank of a in November (earned in u1, now in u3 behind d): %+v", r)
	}
	tm, err = s.TopMembers(ctx, "all", []string{"u1", "u2"}, 1)
	must(t, err)
	if len(tm["u1"]) != 1 || tm["u1"][0].Player != "a" || tm["u1"][0].Points != 15 || len(tm["u2"]) != 1 || tm["u2"][0].Player != "c" {
		t.Fatalf("all-time top member of u1 and u2: %+v", tm)
	}
	p, err := s.Player(ctx, "a")
	must(t, err)
	if p.Points != 18 {
		t.Fatalf("a has %d all-time points, want 18", p.Points)
	}
	led, err := s.Ledger(ctx, "a", 100)
	must(t, err)
	if len(led) != 6 || led[0].Ref != "9" || led[0].Paid != 0 || led[0].Points != 3 || led[0].Unit != "u3" || led[len(led)-1].Unit != "u1" {
		t.Fatalf("ledger of a: %+v", led)
	}
	// A unit that moves takes its history along: u2 under d2.
	must(t, s.MoveOrg(ctx, "u2", "d2"))
	top, err = s.TopPlayers(ctx, "w2026-11-30", "d2", 0, 10)
	must(t, err)
	if len(top) != 3 || top[0].Player != "c" {
		t.Fatalf("d2 board after u2 moved in: %+v", top)
	}
}
