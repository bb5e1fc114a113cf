package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/leitai/leitai/store"
)

// testLedgerBatch awards several batches, each in one call: a ref twice
// in one batch, a cap reached inside a batch and again by a later one,
// replays of an earlier batch, a player who is no member, a new month
// inside the batch, a member moving up the ranking; and a batch naming an
// unknown player, which writes nothing. Outcomes, rollups, ranks and the
// rank histogram are checked against figures worked out by hand.
func testLedgerBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	orgFixture(t, s)
	must(t, s.CreatePlayer(ctx, store.Player{ID: "x", Name: "x", CreatedAt: t0}))
	caps := store.Caps{store.SourceDuel: 2}
	mon, tue := "2026-11-30", "2026-12-01"
	aw := func(ref, player, source, day string, points int64) store.Award {
		return store.Award{Ref: ref, Player: player, Source: source, Points: points, Day: day, At: t0}
	}
	check := func(name string, batch []store.Award, paid []int64, replay []bool) {
		t.Helper()
		out, err := s.Award(ctx, caps, batch)
		must(t, err)
		if len(out) != len(batch) {
			t.Fatalf("%s: %d outcomes for %d awards", name, len(out), len(batch))
		}
		for i, a := range out {
			if a.Ref != batch[i].Ref || a.Paid != paid[i] || a.Replay != replay[i] {
				t.Fatalf("%s: award %d = %+v, want ref %s paid %d replay %v", name, i, a, batch[i].Ref, paid[i], replay[i])
			}
		}
	}
	check("first batch", []store.Award{
		aw("r1", "a", store.SourceDuel, mon, 5),
		aw("r2", "a", store.SourceDuel, mon, 4),
		aw("r1", "a", store.SourceDuel, mon, 5), // the same ref again: a replay
		aw("r3", "a", store.SourceDuel, mon, 7), // the third duel of the day: capped
		aw("r4", "b", store.SourceDuel, mon, 3),
		aw("r5", "c", store.SourceEvent, mon, 10),
		aw("r6", "x", store.SourceDuel, mon, 2), // no member: no rollups
		aw("r7", "b", store.SourceDaily, tue, 1),
	}, []int64{5, 4, 5, 0, 3, 10, 2, 1}, []bool{false, false, true, false, false, false, false, false})
	check("second batch", []store.Award{
		aw("r3", "a", store.SourceDuel, mon, 7),
		aw("r8", "a", store.SourceDuel, mon, 1), // capped by the first batch's awards
		aw("r9", "d", store.SourceFour, mon, 6),
		aw("r4", "b", store.SourceDuel, mon, 3),
		aw("r12", "b", store.SourceDuel, mon, 2), // b's second duel: paid, b moves from 4 to 6
	}, []int64{0, 0, 6, 3, 2}, []bool{true, false, false, true, false})
	_, err := s.Award(ctx, caps, []store.Award{aw("r10", "a", store.SourceFour, mon, 2), aw("r11", "ghost", store.SourceFour, mon, 2)})
	wantErr(t, "a batch with an unknown player", err, store.ErrNotFound)

	for player, want := range map[string]int64{"a": 9, "b": 6, "c": 10, "d": 6, "x": 2} {
		p, err := s.Player(ctx, player)
		must(t, err)
		if p.Points != want {
			t.Fatalf("player %s has %d points, want %d", player, p.Points, want)
		}
	}
	led, err := s.Ledger(ctx, "a", 10)
	must(t, err)
	if len(led) != 4 {
		t.Fatalf("a's ledger has %d rows, want r1, r2, r3, r8 (the refused batch wrote none): %+v", len(led), led)
	}
	want := map[string]map[string]store.UnitPoints{
		mon:           {"u1": {Points: 14, Active: 2}, "u2": {Points: 10, Active: 1}, "u3": {Points: 6, Active: 1}},
		tue:           {"u1": {Points: 1, Active: 1}},
		"w2026-11-30": {"u1": {Points: 15, Active: 2}, "u2": {Points: 10, Active: 1}, "u3": {Points: 6, Active: 1}},
		"m2026-11":    {"u1": {Points: 14, Active: 2}, "u2": {Points: 10, Active: 1}, "u3": {Points: 6, Active: 1}},
		"m2026-12":    {"u1": {Points: 1, Active: 1}},
	}
	for period, units := range want {
		got, err := s.UnitPoints(ctx, period)
		must(t, err)
		if len(got) != len(units) {
			t.Fatalf("%s: units %+v, want %+v", period, got, units)
		}
		for _, u := range got {
			if w := units[u.Unit]; u.Points != w.Points || u.Active != w.Active {
				t.Fatalf("%s: unit %s = %+v, want %+v", period, u.Unit, u, w)
			}
		}
	}
	// The week: c 10, a 9, b 6 and d 6 (sharing third); x is no member.
	week := "w2026-11-30"
	for player, w := range map[string]store.MemberRank{
		"a": {Points: 9, CityRank: 2, CityOf: 4, UnitPoints: 9, UnitRank: 1, UnitOf: 2},
		"b": {Points: 6, CityRank: 3, CityOf: 4, UnitPoints: 6, UnitRank: 2, UnitOf: 2},
		"d": {Points: 6, CityRank: 3, CityOf: 4, UnitPoints: 6, UnitRank: 1, UnitOf: 1},
	} {
		r, err := s.Rank(ctx, week, player)
		must(t, err)
		if r.Points != w.Points || r.CityRank != w.CityRank || r.CityOf != w.CityOf || r.UnitPoints != w.UnitPoints || r.UnitRank != w.UnitRank || r.UnitOf != w.UnitOf {
			t.Fatalf("rank of %s = %+v, want %+v", player, r, w)
		}
	}
	for offset, wantRank := range []int{1, 2, 3, 3} {
		page, err := s.TopPlayers(ctx, week, "", offset, 1)
		must(t, err)
		if len(page) != 1 || page[0].Rank != wantRank {
			t.Fatalf("city page at offset %d = %+v, want rank %d", offset, page, wantRank)
		}
	}
}

// testLedgerBatchConcurrent sends the same batch from several goroutines
// at once: every ref is paid once, under the cap, and every caller is
// told the same outcome.
func testLedgerBatchConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	orgFixture(t, s)
	caps := store.Caps{store.SourceDuel: 3}
	var batch []store.Award
	for i := range 10 {
		batch = append(batch, store.Award{Ref: fmt.Sprintf("c%d", i), Player: "c", Source: store.SourceDuel, Points: int64(i + 1), Day: "2026-12-03", At: t0})
	}
	const callers = 4
	outs := make([][]store.Award, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[g], errs[g] = s.Award(ctx, caps, batch)
		}()
	}
	wg.Wait()
	var sum int64
	fresh := 0
	for g := range callers {
		must(t, errs[g])
		for i, a := range outs[g] {
			if a.Paid != outs[0][i].Paid {
				t.Fatalf("caller %d told %s paid %d, caller 0 %d", g, a.Ref, a.Paid, outs[0][i].Paid)
			}
			if !a.Replay {
				fresh++
			}
		}
	}
	for _, a := range outs[0] {
		sum += a.Paid
	}
	// The first three refs (by the batch's order) are paid: 1 + 2 + 3.
	p, err := s.Player(ctx, "c")
	must(t, err)
	if fresh != len(batch) || sum != 6 || p.Points != 6 {
		t.Fatalf("%d fresh outcomes (want %d), %d paid as told, player has %d; want 6", fresh, len(batch), sum, p.Points)
	}
	day, err := s.UnitPoints(ctx, "2026-12-03")
	must(t, err)
	if len(day) != 1 || day[0].Points != 6 || day[0].Active != 1 {
		t.Fatalf("u2's day: %+v, want 6 points, 1 active", day)
	}

	// Many calls at once, one of them naming an unknown player: that one
	// fails, alone, whichever calls end up committed together.
	const many = 16
	errs = make([]error, many)
	for g := range many {
		wg.Add(1)
		go func() {
			defer wg.Done()
			player := "d"
			if g == 5 {
				player = "ghost"
			}
			_, errs[g] = s.Award(ctx, nil, []store.Award{{Ref: fmt.Sprintf("m%d", g), Player: player, Source: store.SourceFour, Points: 1, Day: "2026-12-04", At: t0}})
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if g == 5 {
			wantErr(t, "the call with an unknown player", err, store.ErrNotFound)
		} else {
			must(t, err)
		}
	}
	p, err = s.Player(ctx, "d")
	must(t, err)
	if p.Points != many-1 {
		t.Fatalf("d has %d points after %d calls of 1, want %d", p.Points, many-1, many-1)
	}
}
