-- Expiry of guests and unused tokens (see SQL.Expire). Portable: BIGINT
-- unix milliseconds, 0 for "never".

-- When a token was last presented.
ALTER TABLE tokens ADD COLUMN used_at BIGINT NOT NULL DEFAULT 0;

-- When a player first joined a room (an event or a match).
ALTER TABLE players ADD COLUMN played_at BIGINT NOT NULL DEFAULT 0;

-- Players stored before this version may have played: keep them as played.
UPDATE players SET played_at = created_at WHERE played_at = 0;

-- The sweep looks up a player's tokens and the guests that never played.
CREATE INDEX tokens_subject ON tokens (subject);
CREATE INDEX players_unplayed ON players (played_at, created_at);
