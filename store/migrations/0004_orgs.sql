-- Organizations, members and the points ledger (积分). Portable between
-- SQLite and PostgreSQL like 0001. A period is a text key: a day
-- "2026-12-04", a week "w2026-11-30" (its Monday), a month "m2026-12", or
-- "all"; days are in the server's configured time zone.

-- The organization tree. parent is '' for a root; path is every code from
-- the root down, each followed by '/' ("city/d1/u7/"), so a subtree is the
-- rows whose path starts with its root's. members and registered count the
-- members whose unit is this node (not its descendants), kept up to date by
-- the roster writes so reads never count the members table.
CREATE TABLE orgs (
	code       TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	parent     TEXT NOT NULL,
	path       TEXT NOT NULL,
	expected   BIGINT NOT NULL,
	join_code  TEXT NOT NULL,
	members    BIGINT NOT NULL DEFAULT 0,
	registered BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);

CREATE INDEX orgs_parent ON orgs (parent);
CREATE UNIQUE INDEX orgs_join_code ON orgs (join_code) WHERE join_code <> '';

-- A member of a unit: from a roster (with a member number and an
-- invitation) or registered with a unit's join code. player is '' until
-- the member registers; invite is the SHA-256 hex of the invitation code,
-- '' once used or for members who joined by join code.
CREATE TABLE members (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	number        TEXT NOT NULL,
	unit          TEXT NOT NULL REFERENCES orgs (code),
	invite        TEXT NOT NULL,
	player        TEXT NOT NULL,
	registered_at BIGINT NOT NULL,
	created_at    BIGINT NOT NULL
);

CREATE UNIQUE INDEX members_number ON members (number) WHERE number <> '';
CREATE UNIQUE INDEX members_invite ON members (invite) WHERE invite <> '';
CREATE UNIQUE INDEX members_player ON members (player) WHERE player <> '';
CREATE INDEX members_unit ON members (unit);

-- Every award, once: ref names what earned it ("duel:<room>:<player>"),
-- and the primary key makes a second award of the same ref impossible.
-- unit is the member's unit when it was earned ('' for a player who is no
-- member); points is what was paid (0 over the day's cap), asked what it
-- was worth.
CREATE TABLE ledger (
	ref        TEXT PRIMARY KEY,
	player     TEXT NOT NULL,
	unit       TEXT NOT NULL,
	source     TEXT NOT NULL,
	points     BIGINT NOT NULL,
	asked      BIGINT NOT NULL,
	day        TEXT NOT NULL,
	awarded_at BIGINT NOT NULL
);

CREATE INDEX ledger_player ON ledger (player, awarded_at);

-- Awards counted per player, day and source, for the daily caps.
CREATE TABLE ledger_days (
	player TEXT NOT NULL,
	day    TEXT NOT NULL,
	source TEXT NOT NULL,
	awards BIGINT NOT NULL,
	PRIMARY KEY (player, day, source)
);

-- Rollups, written in the award's transaction so leaderboards never read
-- the ledger. roll_player: a member's points per period wherever earned;
-- roll_member: per period and unit where earned; roll_unit: per period and
-- unit, with how many members earned anything there (active).
CREATE TABLE roll_player (
	period TEXT NOT NULL,
	player TEXT NOT NULL,
	points BIGINT NOT NULL,
	awards BIGINT NOT NULL,
	PRIMARY KEY (period, player)
);

CREATE INDEX roll_player_rank ON roll_player (period, points, player);

CREATE TABLE roll_member (
	period TEXT NOT NULL,
	unit   TEXT NOT NULL,
	player TEXT NOT NULL,
	points BIGINT NOT NULL,
	awards BIGINT NOT NULL,
	PRIMARY KEY (period, unit, player)
);

CREATE INDEX roll_member_rank ON roll_member (period, unit, points, player);

CREATE TABLE roll_unit (
	period TEXT NOT NULL,
	unit   TEXT NOT NULL,
	points BIGINT NOT NULL,
	active BIGINT NOT NULL,
	PRIMARY KEY (period, unit)
);

-- How many members have each points total in a period: a member's rank in
-- the city is one plus the members above their total, a sum over a few
-- hundred rows instead of a count over every member.
CREATE TABLE roll_hist (
	period  TEXT NOT NULL,
	points  BIGINT NOT NULL,
	members BIGINT NOT NULL,
	PRIMARY KEY (period, points)
)
