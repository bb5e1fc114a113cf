-- When an event's points were paid: 0 until every ranked contestant of
-- its stored result has been paid through the ledger. A sweep pays the
-- events whose result is stored but whose points are not noted paid, so a
-- failure between storing the result and paying is made good later.
-- Events that ended before this version are taken as settled: the binary
-- before paid them (or lost them) at their end, and an upgrade must not
-- pay events older than the ledger. Portable between SQLite and
-- PostgreSQL as 0001: times are unix milliseconds.

ALTER TABLE events ADD COLUMN awarded_at BIGINT NOT NULL DEFAULT 0;

UPDATE events SET awarded_at = ended_at WHERE ended_at > 0;

-- The sweep reads the events still to pay, which are few; paying marks
-- them by room.
CREATE INDEX events_unawarded ON events (created_at) WHERE awarded_at = 0;
CREATE INDEX events_room ON events (room);
