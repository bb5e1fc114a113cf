// Package org is the organization tree's logic: reading a tree or a roster
// from CSV or XLSX with every bad row reported, checking codes, parents and
// cycles, and adding up a subtree's figures (registration, participation,
// points) for leaderboards and the weekly ranking. It holds no state; the
// store keeps the tree and the web package serves it.
package org

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unit is a node of the tree as imported: a city, district, unit or branch.
type Unit struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Parent   string `json:"parent"`
	Expected int64  `json:"expected"`
}

var treeColumns = map[string]string{
	"code": "code", "编码": "code", "代码": "code",
	"name": "name", "名称": "name",
	"parent": "parent", "上级": "parent", "上级编码": "parent",
	"expected": "expected", "应有人数": "expected", "应参学人数": "expected",
}

// CheckCode returns why code cannot be a node's code, or "".
func CheckCode(code string) string {
	switch {
	case code == "":
		return "is empty"
	case utf8.RuneCountInString(code) > 64:
		return "is longer than 64 characters"
	case strings.ContainsAny(code, "/%_\\"):
		return "may not contain / % _ or \\"
	case strings.IndexFunc(code, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "may not contain spaces"
	}
	return ""
}

// CheckName returns why name cannot be a node's or member's name, or "".
func CheckName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case utf8.RuneCountInString(name) > 100:
		return "is longer than 100 characters"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "may not contain control characters"
	}
	return ""
}

// ParseTree reads units from a CSV or XLSX file with the columns code,
// name, parent and expected (any order, case-insensitive; 编码, 名称, 上级,
// 应有人数 also read). A parent is a code in the file or one of existing
// (the codes already stored); "" makes a root. Every bad row is reported:
// a bad or duplicate code, a code already stored, a missing name, an
// expected count that is not a whole number from 0, an unknown parent, a
// cycle. The units come back parents first, so they can be stored in
// order; with row errors, no units.
func ParseTree(format string, r io.Reader, existing func(code string) bool) ([]Unit, []RowError, error) {
	rows, err := readTable(format, r)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, []RowError{{Row: 1, Message: "the file is empty: want a header row code, name, parent, expected"}}, nil
	}
	col, errs := header(rows[0], treeColumns, []string{"code", "name"})
	if len(errs) > 0 {
		return nil, errs, nil
	}
	var units []Unit
	rowOf := map[string]int{}
	for _, rw := range rows[1:] {
		u := Unit{Code: cell(rw, col, "code"), Name: cell(rw, col, "name"), Parent: cell(rw, col, "parent")}
		bad := false
		fail := func(column, msg string) {
			errs, bad = append(errs, RowError{Row: rw.num, Column: column, Message: msg}), true
		}
		if why := CheckCode(u.Code); why != "" {
			fail("code", "code "+why)
		} else if r, dup := rowOf[u.Code]; dup {
			fail("code", "code "+u.Code+" is also on row "+strconv.Itoa(r))
		} else if existing != nil && existing(u.Code) {
			fail("code", "code "+u.Code+" exists already")
		}
		if why := CheckName(u.Name); why != "" {
			fail("name", "name "+why)
		}
		if e := cell(rw, col, "expected"); e != "" {
			n, err := strconv.ParseInt(e, 10, 64)
			if err != nil || n < 0 || n > 10_000_000 {
				fail("expected", "expected "+strconv.Quote(e)+" is not a whole number from 0 to 10000000")
			}
			u.Expected = n
		}
		if u.Parent == u.Code && u.Code != "" {
			fail("parent", "a unit cannot be its own parent")
		}
		if !bad {
			rowOf[u.Code] = rw.num
			units = append(units, u)
		}
	}
	// Parents: known, and no cycles among the new units.
	byCode := map[string]Unit{}
	for _, u := range units {
		byCode[u.Code] = u
	}
	for _, u := range units {
		if u.Parent == "" || (existing != nil && existing(u.Parent)) {
			continue
		}
		if _, ok := byCode[u.Parent]; !ok {
			if _, badRow := rowOf[u.Parent]; !badRow {
				errs = append(errs, RowError{Row: rowOf[u.Code], Column: "parent", Message: "unknown parent " + u.Parent})
			}
		}
	}
	ordered, cyc := order(units, byCode)
	for _, code := range cyc {
		errs = append(errs, RowError{Row: rowOf[code], Column: "parent", Message: "parent chain of " + code + " comes back to it (a cycle)"})
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	return ordered, nil, nil
}

// order sorts units so each comes after its parent; units on a cycle are
// returned as cyc instead.
func order(units []Unit, byCode map[string]Unit) (ordered []Unit, cyc []string) {
	state := map[string]int{} // 0 new, 1 on the stack, 2 done
	onCycle := map[string]bool{}
	var visit func(code string) bool
	visit = func(code string) bool {
		u, ok := byCode[code]
		if !ok {
			return true // stored already, or unknown (reported elsewhere)
		}
		switch state[code] {
		case 1:
			return false
		case 2:
			return !onCycle[code]
		}
		state[code] = 1
		ok = visit(u.Parent)
		state[code] = 2
		if !ok {
			onCycle[code] = true
			return false
		}
		ordered = append(ordered, u)
		return true
	}
	for _, u := range units {
		visit(u.Code)
	}
	for _, u := range units {
		if onCycle[u.Code] {
			cyc = append(cyc, u.Code)
		}
	}
	return ordered, cyc
}

// RosterRow is one member of an imported roster.
type RosterRow struct {
	Name   string `json:"name"`
	Number string `json:"number"`
	Unit   string `json:"unit"`
}

var rosterColumns = map[string]string{
	"name": "name", "姓名": "name",
	"number": "number", "member number": "number", "编号": "number", "工号": "number",
	"unit": "unit", "单位": "unit", "单位编码": "unit",
}

// ParseRoster reads members from a CSV or XLSX file with the columns name,
// number (the member number, unique) and unit (a unit's code). Every bad
// row is reported: a missing name or number, a number given twice, a unit
// that unit does not accept (unknown, or outside the importer's subtree:
// unit returns why, or ""). With row errors, no rows.
func ParseRoster(format string, r io.Reader, unit func(code string) string) ([]RosterRow, []RowError, error) {
	rows, err := readTable(format, r)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, []RowError{{Row: 1, Message: "the file is empty: want a header row name, number, unit"}}, nil
	}
	col, errs := header(rows[0], rosterColumns, []string{"name", "number", "unit"})
	if len(errs) > 0 {
		return nil, errs, nil
	}
	var out []RosterRow
	seen := map[string]int{}
	for _, rw := range rows[1:] {
		m := RosterRow{Name: cell(rw, col, "name"), Number: cell(rw, col, "number"), Unit: cell(rw, col, "unit")}
		n := len(errs)
		if why := CheckName(m.Name); why != "" {
			errs = append(errs, RowError{Row: rw.num, Column: "name", Message: "name " + why})
		}
		if why := CheckCode(m.Number); why != "" {
			errs = append(errs, RowError{Row: rw.num, Column: "number", Message: "member number " + why})
		} else if r, dup := seen[m.Number]; dup {
			errs = append(errs, RowError{Row: rw.num, Column: "number", Message: "member number " + m.Number + " is also on row " + strconv.Itoa(r)})
		}
		if m.Unit == "" {
			errs = append(errs, RowError{Row: rw.num, Column: "unit", Message: "unit is empty"})
		} else if why := unit(m.Unit); why != "" {
			errs = append(errs, RowError{Row: rw.num, Column: "unit", Message: why})
		}
		if len(errs) == n {
			seen[m.Number] = rw.num
			out = append(out, m)
		}
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	return out, nil, nil
}
