-- Team tournaments: each unit's team, as its admin picked it. players is
-- the JSON array of player ids.

CREATE TABLE tournament_teams (
	tournament TEXT NOT NULL REFERENCES tournaments (id),
	unit       TEXT NOT NULL,
	players    TEXT NOT NULL,
	set_at     BIGINT NOT NULL,
	PRIMARY KEY (tournament, unit)
);
