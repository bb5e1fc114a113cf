package match

import "math"

// K is the Elo factor for a duel.
const K = 32

// Elo returns the new ratings of players after a match, given each one's
// rating and finishing rank (1 is best; equal ranks draw). A match of more
// than two is scored as every pair's duel, with K shared among the
// opponents so a four-player race moves a rating about as much as a duel.
func Elo(ratings []float64, ranks []int) []float64 {
	n := len(ratings)
	out := make([]float64, n)
	copy(out, ratings)
	if n < 2 {
		return out
	}
	k := K / float64(n-1)
	for i := 0; i < n; i++ {
		delta := 0.0
		for j := 0; j < n; j++ {
			if i == j {
				continue
			}
			expected := 1 / (1 + math.Pow(10, (ratings[j]-ratings[i])/400))
			actual := 0.5
			if ranks[i] < ranks[j] {
				actual = 1
			} else if ranks[i] > ranks[j] {
				actual = 0
			}
			delta += k * (actual - expected)
		}
		out[i] = math.Round((ratings[i]+delta)*10) / 10
	}
	return out
}

// Points are the profile points (积分) a finished match is worth by rank.
var Points = map[string][]int64{
	ModeDuel: {5, 2},
	ModeFour: {6, 4, 3, 2},
	ModeTeam: {5, 2}, // by the team's rank
}

// PointsFor returns the points for finishing at rank (1-based) in mode.
func PointsFor(mode string, rank int) int64 {
	p := Points[mode]
	if rank < 1 || len(p) == 0 {
		return 0
	}
	if rank > len(p) {
		return p[len(p)-1]
	}
	return p[rank-1]
}
