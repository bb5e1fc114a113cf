-- Tournaments: a qualifier's attempts, the seeded entrants, knockout rounds
-- at scheduled times and the matches of each fired round. Portable between
-- SQLite and PostgreSQL as 0001: times are unix milliseconds (0 for "not
-- yet"), documents are JSON in TEXT.

CREATE TABLE tournaments (
	id         TEXT PRIMARY KEY,
	title      TEXT NOT NULL,
	config     TEXT,
	created_at BIGINT NOT NULL
);

-- One row per knockout round; state moves scheduled -> started -> finished
-- by conditional UPDATEs only, which is what makes a round fire once.
CREATE TABLE tournament_rounds (
	tournament  TEXT NOT NULL REFERENCES tournaments (id),
	num         BIGINT NOT NULL,
	starts_at   BIGINT NOT NULL,
	state       TEXT NOT NULL,
	fired_at    BIGINT NOT NULL DEFAULT 0,
	finished_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (tournament, num)
);

-- The scheduler asks for rounds that are due or running.
CREATE INDEX tournament_rounds_state ON tournament_rounds (state, starts_at);

CREATE TABLE tournament_attempts (
	tournament  TEXT NOT NULL REFERENCES tournaments (id),
	player      TEXT NOT NULL,
	num         BIGINT NOT NULL,
	score       BIGINT NOT NULL,
	total_ms    BIGINT NOT NULL,
	finished_at BIGINT NOT NULL,
	PRIMARY KEY (tournament, player, num)
);

CREATE TABLE tournament_entrants (
	tournament TEXT NOT NULL REFERENCES tournaments (id),
	player     TEXT NOT NULL,
	seed       BIGINT NOT NULL,
	PRIMARY KEY (tournament, player)
);

CREATE UNIQUE INDEX tournament_entrants_seed ON tournament_entrants (tournament, seed);

CREATE TABLE tournament_checkins (
	tournament TEXT NOT NULL REFERENCES tournaments (id),
	round      BIGINT NOT NULL,
	player     TEXT NOT NULL,
	at         BIGINT NOT NULL,
	PRIMARY KEY (tournament, round, player)
);

-- seats is the JSON array of player ids by seat ("" for an empty seat);
-- outcome is the JSON the tournament package writes when it decides.
CREATE TABLE tournament_matches (
	tournament TEXT NOT NULL REFERENCES tournaments (id),
	round      BIGINT NOT NULL,
	slot       BIGINT NOT NULL,
	seats      TEXT NOT NULL,
	state      TEXT NOT NULL,
	room       TEXT NOT NULL DEFAULT '',
	outcome    TEXT,
	PRIMARY KEY (tournament, round, slot)
);
