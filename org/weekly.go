package org

import (
	"sort"

	"github.com/xuri/excelize/v2"
)

// DefaultTarget is the participation rate a unit is expected to reach in a
// week (40 %).
const DefaultTarget = 0.4

// Learner is one of a unit's best learners of the week.
type Learner struct {
	Player string `json:"player"`
	Name   string `json:"name"`
	Points int64  `json:"points"`
}

// WeeklyUnit is one unit's line in the weekly ranking (通报).
type WeeklyUnit struct {
	Figures
	ParticipationRank int  `json:"participation_rank"`
	PerMemberRank     int  `json:"per_member_rank"`
	BelowTarget       bool `json:"below_target"`
	// Last week's figures and the change since: a positive rank change is
	// places gained.
	LastParticipationRate   float64   `json:"last_participation_rate"`
	LastPointsPerMember     float64   `json:"last_points_per_member"`
	ParticipationRankChange int       `json:"participation_rank_change"`
	PerMemberRankChange     int       `json:"per_member_rank_change"`
	Top                     []Learner `json:"top"`
}

// Weekly is the weekly ranking of the units (the leaves) under a node,
// ordered by participation rate.
type Weekly struct {
	Root   string       `json:"root"`
	Week   string       `json:"week"` // its Monday, YYYY-MM-DD
	Target float64      `json:"target"`
	Units  []WeeklyUnit `json:"units"`
}

// BuildWeekly ranks the leaves under root by participation rate and by
// points per member in this week's tree, compares with last week's (same
// nodes, last week's rollups), marks those under target and adds each
// unit's top learners.
func BuildWeekly(this, last *Tree, root, week string, target float64, top map[string][]Learner) Weekly {
	leaves := this.Leaves(root)
	w := Weekly{Root: root, Week: week, Target: target, Units: make([]WeeklyUnit, 0, len(leaves))}
	part := this.Rank(leaves, ByParticipation)
	per := rankOf(this.Rank(leaves, ByPerMember))
	lastPart := rankOf(last.Rank(leaves, ByParticipation))
	lastPer := rankOf(last.Rank(leaves, ByPerMember))
	for _, r := range part {
		lf := last.Sum(r.Code)
		u := WeeklyUnit{
			Figures:               r.Figures,
			ParticipationRank:     r.Rank,
			PerMemberRank:         per[r.Code],
			BelowTarget:           r.ParticipationRate < target,
			LastParticipationRate: lf.ParticipationRate,
			LastPointsPerMember:   lf.PointsPerMember,
			Top:                   top[r.Code],
		}
		u.ParticipationRankChange = lastPart[r.Code] - u.ParticipationRank
		u.PerMemberRankChange = lastPer[r.Code] - u.PerMemberRank
		if u.Top == nil {
			u.Top = []Learner{}
		}
		w.Units = append(w.Units, u)
	}
	return w
}

func rankOf(rs []Ranked) map[string]int {
	m := make(map[string]int, len(rs))
	for _, r := range rs {
		m[r.Code] = r.Rank
	}
	return m
}

// Workbook writes the weekly ranking as XLSX: a sheet ranked by
// participation and one ranked by points per member. Numbers are numbers
// and text is text; nothing is a formula.
func (w Weekly) Workbook() (*excelize.File, error) {
	f := excelize.NewFile()
	const a, b = "Participation", "Points per member"
	if err := f.SetSheetName("Sheet1", a); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(b); err != nil {
		return nil, err
	}
	head := []any{"rank", "code", "unit", "expected", "registered", "registration rate", "active", "participation rate",
		"below target", "points", "points per member", "rank change", "last week's rate", "top learners"}
	byPer := append([]WeeklyUnit(nil), w.Units...)
	sort.SliceStable(byPer, func(i, j int) bool { return byPer[i].PerMemberRank < byPer[j].PerMemberRank })
	for _, sh := range []struct {
		name  string
		units []WeeklyUnit
		per   bool
	}{{a, w.Units, false}, {b, byPer, true}} {
		if err := f.SetSheetRow(sh.name, "A1", &head); err != nil {
			return nil, err
		}
		for i, u := range sh.units {
			rank, change, last := u.ParticipationRank, u.ParticipationRankChange, u.LastParticipationRate
			if sh.per {
				rank, change, last = u.PerMemberRank, u.PerMemberRankChange, u.LastPointsPerMember
			}
			below := ""
			if u.BelowTarget {
				below = "yes"
			}
			names := ""
			for k, l := range u.Top {
				if k > 0 {
					names += ", "
				}
				names += l.Name
			}
			cells := []any{rank, u.Code, u.Name, u.Expected, u.Registered, u.RegistrationRate, u.Active, u.ParticipationRate,
				below, u.Points, u.PointsPerMember, change, last, names}
			cell, err := excelize.CoordinatesToCellName(1, i+2)
			if err != nil {
				return nil, err
			}
			// SetSheetRow stores strings as text, never as formulas: a
			// name starting with '=' stays a name.
			if err := f.SetSheetRow(sh.name, cell, &cells); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}
