-- SQLite only (PostgreSQL records the version and keeps its tables): the
-- rollups and the day counters become WITHOUT ROWID tables, stored in
-- their primary key's order. An award's upsert of a rollup row then finds
-- and rewrites the row in one B-tree instead of looking its key up in the
-- primary key's index and then its row in the table; the rank indexes keep
-- the same columns. Same columns, same rows: the copy is exact. A large
-- database rewrites these tables once, at the first start with this
-- version.

CREATE TABLE roll_player_new (
	period TEXT NOT NULL,
	player TEXT NOT NULL,
	points BIGINT NOT NULL,
	awards BIGINT NOT NULL,
	PRIMARY KEY (period, player)
) WITHOUT ROWID;
INSERT INTO roll_player_new (period, player, points, awards) SELECT period, player, points, awards FROM roll_player ORDER BY period, player;
DROP TABLE roll_player;
ALTER TABLE roll_player_new RENAME TO roll_player;
CREATE INDEX roll_player_rank ON roll_player (period, points, player);

CREATE TABLE roll_member_new (
	period TEXT NOT NULL,
	unit   TEXT NOT NULL,
	player TEXT NOT NULL,
	points BIGINT NOT NULL,
	awards BIGINT NOT NULL,
	PRIMARY KEY (period, unit, player)
) WITHOUT ROWID;
INSERT INTO roll_member_new (period, unit, player, points, awards) SELECT period, unit, player, points, awards FROM roll_member ORDER BY period, unit, player;
DROP TABLE roll_member;
ALTER TABLE roll_member_new RENAME TO roll_member;
CREATE INDEX roll_member_rank ON roll_member (period, unit, points, player);

CREATE TABLE roll_unit_new (
	period TEXT NOT NULL,
	unit   TEXT NOT NULL,
	points BIGINT NOT NULL,
	active BIGINT NOT NULL,
	PRIMARY KEY (period, unit)
) WITHOUT ROWID;
INSERT INTO roll_unit_new (period, unit, points, active) SELECT period, unit, points, active FROM roll_unit ORDER BY period, unit;
DROP TABLE roll_unit;
ALTER TABLE roll_unit_new RENAME TO roll_unit;

CREATE TABLE roll_hist_new (
	period  TEXT NOT NULL,
	points  BIGINT NOT NULL,
	members BIGINT NOT NULL,
	PRIMARY KEY (period, points)
) WITHOUT ROWID;
INSERT INTO roll_hist_new (period, points, members) SELECT period, points, members FROM roll_hist ORDER BY period, points;
DROP TABLE roll_hist;
ALTER TABLE roll_hist_new RENAME TO roll_hist;

CREATE TABLE ledger_days_new (
	player TEXT NOT NULL,
	day    TEXT NOT NULL,
	source TEXT NOT NULL,
	awards BIGINT NOT NULL,
	PRIMARY KEY (player, day, source)
) WITHOUT ROWID;
INSERT INTO ledger_days_new (player, day, source, awards) SELECT player, day, source, awards FROM ledger_days ORDER BY player, day, source;
DROP TABLE ledger_days;
ALTER TABLE ledger_days_new RENAME TO ledger_days
