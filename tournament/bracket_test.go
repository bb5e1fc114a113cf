package tournament

import (
	"fmt"
	"slices"
	"testing"
)

func TestSeedOrder(t *testing.T) {
	for _, tc := range []struct {
		size int
		want []int
	}{
		{2, []int{1, 2}},
		{4, []int{1, 4, 2, 3}},
		{8, []int{1, 8, 4, 5, 2, 7, 3, 6}},
		{16, []int{1, 16, 8, 9, 4, 13, 5, 12, 2, 15, 7, 10, 3, 14, 6, 11}},
	} {
		if got := SeedOrder(tc.size); !slices.Equal(got, tc.want) {
			t.Errorf("SeedOrder(%d) = %v, want %v", tc.size, got, tc.want)
		}
	}
}

func TestRoundsAndSize(t *testing.T) {
	for _, tc := range []struct {
		format       string
		n, rounds, p int
	}{
		{FormatDuel, 2, 1, 2}, {FormatDuel, 3, 2, 4}, {FormatDuel, 60, 6, 64}, {FormatDuel, 64, 6, 64}, {FormatDuel, 65, 7, 128},
		{FormatFour, 2, 1, 4}, {FormatFour, 4, 1, 4}, {FormatFour, 5, 2, 8}, {FormatFour, 60, 5, 64}, {FormatFour, 130, 7, 256},
	} {
		if r, p := Rounds(tc.format, tc.n), BracketSize(tc.format, tc.n); r != tc.rounds || p != tc.p {
			t.Errorf("%s field %d: %d rounds of %d seats, want %d of %d", tc.format, tc.n, r, p, tc.rounds, tc.p)
		}
	}
}

func TestFirstRoundByes(t *testing.T) {
	rooms, err := FirstRound(FormatDuel, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{1, 0}, {4, 5}, {2, 0}, {3, 6}}
	if fmt.Sprint(rooms) != fmt.Sprint(want) {
		t.Errorf("6 in duels: %v, want %v", rooms, want)
	}
	if _, err := FirstRound(FormatDuel, 1); err == nil {
		t.Error("a bracket of 1 was laid out")
	}
}

// simulate plays the bracket with the better seed always going through and
// returns the rooms of each round as seeds (0 empty).
func simulate(t *testing.T, format string, n int) [][][]int {
	t.Helper()
	first, err := FirstRound(format, n)
	if err != nil {
		t.Fatal(err)
	}
	rounds := [][][]int{first}
	cur := first
	for len(cur) > 1 || (len(cur) == 1 && len(rounds) < Rounds(format, n)) {
		adv := make([][]string, len(cur))
		for i, room := range cur {
			var filled []int
			for _, s := range room {
				if s > 0 {
					filled = append(filled, s)
				}
			}
			slices.Sort(filled)
			for _, s := range filled[:min(advancing(format), len(filled))] {
				adv[i] = append(adv[i], fmt.Sprint(s))
			}
		}
		var next [][]int
		for _, room := range NextRound(format, adv) {
			seeds := make([]int, len(room))
			for j, p := range room {
				fmt.Sscan(p, &seeds[j])
			}
			next = append(next, seeds)
		}
		rounds = append(rounds, next)
		cur = next
	}
	return rounds
}

// TestBracketProperties: for every field 2..130, in both formats, the first
// round seats each seed once, the empty seats (byes) face the top seeds,
// and with the better seed always winning seeds 1 and 2 first meet in the
// final.
func TestBracketProperties(t *testing.T) {
	for _, format := range []string{FormatDuel, FormatFour} {
		for n := 2; n <= 130; n++ {
			first, err := FirstRound(format, n)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]int{}
			for _, room := range first {
				if len(room) != roomSize(format) {
					t.Fatalf("%s %d: room %v of the wrong size", format, n, room)
				}
				for _, s := range room {
					seen[s]++
				}
			}
			for s := 1; s <= n; s++ {
				if seen[s] != 1 {
					t.Fatalf("%s %d: seed %d seated %d times", format, n, s, seen[s])
				}
			}
			if len(seen) > n+1 {
				t.Fatalf("%s %d: seeds past the field seated: %v", format, n, seen)
			}
			byes := BracketSize(format, n) - n
			if format == FormatDuel {
				// Exactly the top `byes` seeds sit opposite an empty seat.
				for _, room := range first {
					hasBye := room[0] == 0 || room[1] == 0
					top := max(room[0], room[1])
					if room[0] != 0 && room[1] != 0 {
						top = min(room[0], room[1])
					}
					if hasBye != (top <= byes) {
						t.Fatalf("duel %d: room %v, %d byes", n, room, byes)
					}
				}
			} else {
				// Every empty seat sits in a room with a top-byes seed,
				// and no room is left with fewer than 2 when avoidable.
				for _, room := range first {
					empty, best := 0, n+1
					for _, s := range room {
						if s == 0 {
							empty++
						} else {
							best = min(best, s)
						}
					}
					if empty > 0 && best > byes {
						t.Fatalf("four %d: room %v has a bye but no top-%d seed", n, room, byes)
					}
				}
			}
			rounds := simulate(t, format, n)
			if len(rounds) != Rounds(format, n) {
				t.Fatalf("%s %d: %d rounds played, want %d", format, n, len(rounds), Rounds(format, n))
			}
			for ri, rooms := range rounds {
				for _, room := range rooms {
					if slices.Contains(room, 1) && slices.Contains(room, 2) && ri != len(rounds)-1 {
						t.Fatalf("%s %d: seeds 1 and 2 meet in round %d of %d: %v", format, n, ri+1, len(rounds), room)
					}
				}
			}
			final := rounds[len(rounds)-1]
			if len(final) != 1 || !slices.Contains(final[0], 1) || !slices.Contains(final[0], 2) {
				t.Fatalf("%s %d: final %v, want seeds 1 and 2 in it", format, n, final)
			}
		}
	}
}
