package org

import (
	"strings"
	"testing"
)

func TestParseTreeGood(t *testing.T) {
	csv := "\xEF\xBB\xBFCode,Name,Parent,Expected\nu1,Unit 1,d1,10\nd1,District,city,0\nu2,Unit 2,d1,5\n"
	units, errs, err := ParseTree("csv", strings.NewReader(csv), func(c string) bool { return c == "city" })
	if err != nil || len(errs) > 0 {
		t.Fatalf("err %v, row errors %v", err, errs)
	}
	var order []string
	for _, u := range units {
		order = append(order, u.Code)
	}
	if strings.Join(order, ",") != "d1,u1,u2" {
		t.Fatalf("order %v, want parents first d1,u1,u2", order)
	}
	if units[1].Expected != 10 || units[1].Parent != "d1" {
		t.Fatalf("u1 = %+v", units[1])
	}
}

func TestParseTreeBadRows(t *testing.T) {
	csv := "code,name,parent,expected\n" +
		"a,A,,1\n" + // row 2 fine
		"a,A again,,1\n" + // row 3 duplicate
		"b,B,nowhere,1\n" + // row 4 unknown parent
		"c,C,d,1\n" + // row 5 cycle c->d->c
		"d,D,c,1\n" + // row 6
		"e,,a,x\n" + // row 7 no name, bad expected
		"city,City,,1\n" + // row 8 exists
		"f/g,F,,1\n" // row 9 bad code
	units, errs, err := ParseTree("csv", strings.NewReader(csv), func(c string) bool { return c == "city" })
	if err != nil {
		t.Fatal(err)
	}
	if units != nil {
		t.Fatalf("units imported despite errors: %v", units)
	}
	want := map[[2]any]bool{
		{3, "code"}: true, {4, "parent"}: true, {5, "parent"}: true, {6, "parent"}: true,
		{7, "name"}: true, {7, "expected"}: true, {8, "code"}: true, {9, "code"}: true,
	}
	got := map[[2]any]bool{}
	for _, e := range errs {
		got[[2]any{e.Row, e.Column}] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missing error at row %v column %v; got %v", k[0], k[1], errs)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
}

func TestParseRoster(t *testing.T) {
	csv := "姓名;编号;单位\n张三;001;u1\n李四;001;u1\n王五;003;zz\n;004;u1\n"
	_, errs, err := ParseRoster("csv", strings.NewReader(csv), func(c string) string {
		if c != "u1" {
			return "unknown unit " + c
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 3 || errs[0].Row != 3 || errs[1].Row != 4 || errs[2].Row != 5 {
		t.Fatalf("errors %v, want rows 3 (dup number), 4 (unit), 5 (name)", errs)
	}
}

func TestTreeSumAndRank(t *testing.T) {
	tr := NewTree([]Node{
		{Code: "city"},
		{Code: "d1", Parent: "city"},
		{Code: "u1", Parent: "d1", Expected: 10, Registered: 8, Active: 4, Points: 40},
		{Code: "u2", Parent: "d1", Expected: 10, Registered: 5, Active: 1, Points: 30},
		{Code: "u3", Parent: "city", Expected: 4, Registered: 4, Active: 4, Points: 4},
	})
	f := tr.Sum("city")
	if f.Expected != 24 || f.Registered != 17 || f.Active != 9 || f.Points != 74 || f.ParticipationRate != 0.5294 {
		t.Fatalf("city figures %+v", f)
	}
	w := BuildWeekly(tr, NewTree([]Node{{Code: "city"}, {Code: "d1", Parent: "city"}, {Code: "u1", Parent: "d1"}, {Code: "u2", Parent: "d1"}, {Code: "u3", Parent: "city", Registered: 4}}), "city", "2026-11-30", DefaultTarget, nil)
	if len(w.Units) != 3 || w.Units[0].Code != "u3" || w.Units[1].Code != "u1" || !w.Units[2].BelowTarget || w.Units[1].BelowTarget {
		t.Fatalf("weekly %+v", w.Units)
	}
	if w.Units[0].PerMemberRank != 3 || w.Units[2].PerMemberRank != 1 {
		t.Fatalf("per member ranks %+v", w.Units)
	}
	if _, err := w.Workbook(); err != nil {
		t.Fatal(err)
	}
}
