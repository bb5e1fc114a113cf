-- Fencing for cluster mode: the highest owner epoch that has written to or
-- fenced each room. A journal append from a lower epoch is refused. Rooms
-- of a single node stay at 0.

ALTER TABLE rooms ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0
