-- Challenge runs (solo format): each player's best run, the length of the
-- longest streak of right answers in one challenge room, and the room and
-- time it was set. Portable between SQLite and PostgreSQL as 0001: times
-- are unix milliseconds.

CREATE TABLE challenge_best (
	player TEXT PRIMARY KEY REFERENCES players (id),
	best   BIGINT NOT NULL,
	room   TEXT NOT NULL,
	at     BIGINT NOT NULL
);

-- The leaderboard reads the longest runs, the earliest first among equals.
CREATE INDEX challenge_best_rank ON challenge_best (best, at);
