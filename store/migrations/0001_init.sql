-- Leitai's first schema. Portable between SQLite and PostgreSQL: TEXT,
-- BIGINT and DOUBLE PRECISION only; times are unix milliseconds, 0 for
-- "not yet"; JSON documents are TEXT (NULL when absent).

CREATE TABLE players (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	org        TEXT NOT NULL,
	rating     DOUBLE PRECISION NOT NULL,
	points     BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);

-- Organization reports (participation rate, mean score) group by org.
CREATE INDEX players_org ON players (org);

CREATE TABLE tokens (
	hash       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE question_sets (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	question_count BIGINT NOT NULL,
	created_at     BIGINT NOT NULL,
	questions      TEXT
);

CREATE TABLE rooms (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	config      TEXT,
	created_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL DEFAULT 0
);

-- OpenRooms runs at every start to find rooms to replay.
CREATE INDEX rooms_open ON rooms (finished_at, created_at);

CREATE TABLE journal (
	room        TEXT NOT NULL REFERENCES rooms (id),
	seq         BIGINT NOT NULL,
	kind        TEXT NOT NULL,
	happened_at BIGINT NOT NULL,
	data        TEXT,
	PRIMARY KEY (room, seq)
);

CREATE TABLE results (
	room        TEXT PRIMARY KEY REFERENCES rooms (id),
	kind        TEXT NOT NULL,
	finished_at BIGINT NOT NULL,
	standings   TEXT
);

CREATE TABLE events (
	id         TEXT PRIMARY KEY,
	room       TEXT NOT NULL,
	pin        TEXT NOT NULL,
	title      TEXT NOT NULL,
	config     TEXT,
	created_at BIGINT NOT NULL,
	ended_at   BIGINT NOT NULL DEFAULT 0
);

-- A PIN names one live event at a time; ended events give their PIN back.
-- The partial index makes the rule hold under concurrent CreateEvent calls
-- (on PostgreSQL too), which a check-then-insert could not.
CREATE UNIQUE INDEX events_live_pin ON events (pin) WHERE ended_at = 0 AND pin <> '';

CREATE TABLE points_days (
	player TEXT NOT NULL REFERENCES players (id),
	day    TEXT NOT NULL,
	games  BIGINT NOT NULL,
	PRIMARY KEY (player, day)
);
