package store

import (
	"fmt"
	"time"
)

// Org is one node of the organization tree: a city, a district, a unit, a
// branch. Parent is "" for a root. Path is every code from the root down,
// each followed by '/', kept by the store. Members and Registered count the
// members whose unit is this node itself.
type Org struct {
	Code       string
	Name       string
	Parent     string
	Path       string
	Expected   int64 // the members this node is expected to have
	JoinCode   string
	Members    int64
	Registered int64
	CreatedAt  time.Time
}

// Member is a person in a unit. Player is "" until they register; Invite is
// the SHA-256 hex of their invitation code, "" once used.
type Member struct {
	ID           string
	Name         string
	Number       string // member number from the roster; "" if joined by join code
	Unit         string
	Invite       string
	Player       string
	RegisteredAt time.Time
	CreatedAt    time.Time
}

// Point sources: what an award was earned by.
const (
	SourceDuel      = "duel"
	SourceFour      = "four"
	SourceEvent     = "event"
	SourceDaily     = "daily"
	SourceChallenge = "challenge"
	SourceQualifier = "qualifier"
	SourceTeam      = "team"
)

// Sources lists every point source.
var Sources = []string{SourceDuel, SourceFour, SourceEvent, SourceDaily, SourceChallenge, SourceQualifier, SourceTeam}

// Caps is how many awards a day each source pays per player; a source that
// is missing or 0 has no cap. Awards over the cap are still recorded, with
// no points.
type Caps map[string]int

// Award is one ledger row. The caller sets Ref (unique per thing earned,
// e.g. "duel:<room>:<player>"), Player, Source, Points (what it is worth),
// Day (YYYY-MM-DD in the configured time zone) and At. The store fills in
// Unit (the member's unit at that moment, "" for a player who is no
// member), Paid, and Replay (the ref was awarded before: nothing changed,
// Paid is what the first award paid).
type Award struct {
	Ref    string
	Player string
	Source string
	Points int64
	Day    string
	At     time.Time

	Unit   string
	Paid   int64
	Replay bool
}

// Standing is a member on a leaderboard.
type Standing struct {
	Rank   int
	Player string
	Name   string
	Unit   string // the member's current unit
	Points int64
}

// UnitPoints is one unit's rollup for a period: the points earned in it
// and how many members earned anything there.
type UnitPoints struct {
	Unit   string
	Points int64
	Active int64
}

// MemberRank is a member's standing in a period.
type MemberRank struct {
	Player     string
	Unit       string
	Points     int64 // wherever earned
	CityRank   int   // among all members with points, 1 = first
	CityOf     int64 // members with points in the period
	UnitPoints int64 // earned in their current unit
	UnitRank   int
	UnitOf     int64
}

// Period kinds.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
	PeriodAll   = "all"
)

// PeriodKey is the rollup key of the period of the given kind that holds
// day (YYYY-MM-DD): the day itself, "w" and its week's Monday, "m" and its
// month, or "all".
func PeriodKey(kind, day string) (string, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "", fmt.Errorf("store: day %q is not YYYY-MM-DD", day)
	}
	switch kind {
	case PeriodDay:
		return day, nil
	case PeriodWeek:
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		return "w" + d.AddDate(0, 0, -back).Format(time.DateOnly), nil
	case PeriodMonth:
		return "m" + day[:7], nil
	case PeriodAll:
		return "all", nil
	}
	return "", fmt.Errorf("store: period %q is not day, week, month or all", kind)
}

// periodKeys are the four rollup keys an award on day adds to.
func periodKeys(day string) ([4]string, error) {
	var keys [4]string
	for i, k := range []string{PeriodDay, PeriodWeek, PeriodMonth, PeriodAll} {
		key, err := PeriodKey(k, day)
		if err != nil {
			return keys, err
		}
		keys[i] = key
	}
	return keys, nil
}
