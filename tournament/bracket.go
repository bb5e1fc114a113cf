package tournament

import "fmt"

// Formats: the size of a knockout room and how many of it advance.
const (
	FormatDuel = "duel" // two players, the winner advances
	FormatFour = "four" // four players, the top two advance
)

// roomSize is how many seats a room of the format has.
func roomSize(format string) int {
	if format == FormatFour {
		return 4
	}
	return 2
}

// advancing is how many of a room go on to the next round. Both formats
// halve the field each round, so a bracket's size is a power of two.
func advancing(format string) int { return roomSize(format) / 2 }

// Rounds is how many knockout rounds a field of n needs: the bracket holds
// size·2^(rounds-1) seats, the smallest such number at least n.
func Rounds(format string, n int) int {
	r, seats := 1, roomSize(format)
	for seats < n {
		seats *= 2
		r++
	}
	return r
}

// BracketSize is the number of seats of the first round for a field of n.
func BracketSize(format string, n int) int {
	return roomSize(format) << (Rounds(format, n) - 1)
}

// SeedOrder returns the standard bracket order for size seats (a power of
// two): the seed at each position, so that positions 2i and 2i+1 meet in
// the first round, 1 meets size, 2 meets size-1, and the top two seeds sit
// in opposite halves (they can meet only in the final), the top four in
// opposite quarters, and so on.
func SeedOrder(size int) []int {
	order := []int{1}
	for len(order) < size {
		n := 2 * len(order)
		next := make([]int, 0, n)
		for _, s := range order {
			next = append(next, s, n+1-s)
		}
		order = next
	}
	return order
}

// FirstRound lays out the seeds 1..n into the first round's rooms: each
// room is a list of seeds by seat, 0 for an empty seat. Empty seats are the
// seeds past n, which the standard order pairs with the top seeds: the top
// seeds get the byes.
func FirstRound(format string, n int) ([][]int, error) {
	if n < 2 {
		return nil, fmt.Errorf("a bracket needs at least 2 entrants, not %d", n)
	}
	size, per := BracketSize(format, n), roomSize(format)
	order := SeedOrder(size)
	rooms := make([][]int, 0, size/per)
	for i := 0; i < size; i += per {
		room := make([]int, per)
		for j := range per {
			if s := order[i+j]; s <= n {
				room[j] = s
			}
		}
		rooms = append(rooms, room)
	}
	return rooms, nil
}

// NextRound lays out the next round from the advancers of each room of
// this one, in room order: room i's advancers (padded with "" to the
// advancing count) fill the next round's seats from i·advancing, and each
// next room takes the seats of consecutive rooms. So the bracket's order is
// kept and the winner of rooms 2i and 2i+1 meet (duels).
func NextRound(format string, advancers [][]string) [][]string {
	per, adv := roomSize(format), advancing(format)
	var seats []string
	for _, a := range advancers {
		for j := range adv {
			if j < len(a) {
				seats = append(seats, a[j])
			} else {
				seats = append(seats, "")
			}
		}
	}
	var rooms [][]string
	for i := 0; i < len(seats); i += per {
		rooms = append(rooms, append([]string(nil), seats[i:min(i+per, len(seats))]...))
	}
	return rooms
}
