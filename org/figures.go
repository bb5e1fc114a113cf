package org

import (
	"math"
	"sort"
)

// Node is a stored node with its own counts: the members whose unit is
// this node, and the rollup of what was earned in it in some period.
type Node struct {
	Code, Name, Parent string
	Expected           int64
	Members            int64
	Registered         int64
	Points             int64
	Active             int64
}

// Figures are a subtree's totals and rates for a period. Rates are
// fractions (0.4 is 40 %), rounded to four places; 0 when the divisor is.
type Figures struct {
	Code              string  `json:"code"`
	Name              string  `json:"name"`
	Parent            string  `json:"parent"`
	Expected          int64   `json:"expected"`
	Members           int64   `json:"members"`
	Registered        int64   `json:"registered"`
	Active            int64   `json:"active"`
	Points            int64   `json:"points"`
	RegistrationRate  float64 `json:"registration_rate"`  // registered / expected
	ParticipationRate float64 `json:"participation_rate"` // active / registered
	PointsPerMember   float64 `json:"points_per_member"`  // points / registered
}

// Tree adds up nodes over subtrees.
type Tree struct {
	nodes    map[string]*Node
	children map[string][]string
	order    []string
}

// NewTree builds a tree from nodes listed parents first (as the store's
// Orgs returns them). A node whose parent is not listed is a root of the
// tree.
func NewTree(nodes []Node) *Tree {
	t := &Tree{nodes: map[string]*Node{}, children: map[string][]string{}}
	for i := range nodes {
		n := &nodes[i]
		t.nodes[n.Code] = n
		t.order = append(t.order, n.Code)
	}
	for _, code := range t.order {
		p := t.nodes[code].Parent
		if _, ok := t.nodes[p]; ok {
			t.children[p] = append(t.children[p], code)
		}
	}
	return t
}

// Has reports whether code is in the tree.
func (t *Tree) Has(code string) bool { _, ok := t.nodes[code]; return ok }

// Children returns a node's children in listing order.
func (t *Tree) Children(code string) []string { return t.children[code] }

// Leaves returns the nodes under code (code included) with no children.
func (t *Tree) Leaves(code string) []string {
	var out []string
	var walk func(c string)
	walk = func(c string) {
		kids := t.children[c]
		if len(kids) == 0 {
			out = append(out, c)
		}
		for _, k := range kids {
			walk(k)
		}
	}
	if t.Has(code) {
		walk(code)
	}
	return out
}

// Sum returns the figures of the subtree under code: the expected counts,
// members, registered members, active members and points of every node in
// it. A member who moved within the period and earned in two units counts
// as active in both.
func (t *Tree) Sum(code string) Figures {
	n, ok := t.nodes[code]
	if !ok {
		return Figures{Code: code}
	}
	f := Figures{Code: n.Code, Name: n.Name, Parent: n.Parent}
	var walk func(c string)
	walk = func(c string) {
		x := t.nodes[c]
		f.Expected += x.Expected
		f.Members += x.Members
		f.Registered += x.Registered
		f.Active += x.Active
		f.Points += x.Points
		for _, k := range t.children[c] {
			walk(k)
		}
	}
	walk(code)
	f.RegistrationRate = ratio(f.Registered, f.Expected)
	f.ParticipationRate = ratio(f.Active, f.Registered)
	f.PointsPerMember = ratio(f.Points, f.Registered)
	return f
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// Ranked is a subtree's figures with its place in a ranking.
type Ranked struct {
	Figures
	Rank int `json:"rank"`
}

// Rank orders the subtrees under codes by key, highest first, then by
// code; equal keys share a rank.
func (t *Tree) Rank(codes []string, key func(Figures) float64) []Ranked {
	out := make([]Ranked, len(codes))
	for i, c := range codes {
		out[i] = Ranked{Figures: t.Sum(c)}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := key(out[i].Figures), key(out[j].Figures)
		if ki != kj {
			return ki > kj
		}
		return out[i].Code < out[j].Code
	})
	for i := range out {
		out[i].Rank = i + 1
		if i > 0 && key(out[i].Figures) == key(out[i-1].Figures) {
			out[i].Rank = out[i-1].Rank
		}
	}
	return out
}

// By points total, points per member, participation rate: ranking keys.
var (
	ByPoints        = func(f Figures) float64 { return float64(f.Points) }
	ByPerMember     = func(f Figures) float64 { return f.PointsPerMember }
	ByParticipation = func(f Figures) float64 { return f.ParticipationRate }
)
