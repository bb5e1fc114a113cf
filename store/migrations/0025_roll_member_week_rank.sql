-- A unit's rollup rows are indexed by points for weeks only. The index
-- served two reads, a unit's top learners (the weekly ranking, which asks
-- for weeks alone) and a member's rank in their unit; every award moved
-- four of its entries (day, week, month, all time), about a fifth of an
-- award's writes. A rank in a unit for another period counts the unit's
-- rows through the primary key (period, unit, player), which keeps them
-- together. The reads name the same range of periods so that both
-- databases know this index covers them.
DROP INDEX roll_member_rank;
CREATE INDEX roll_member_week_rank ON roll_member (period, unit, points, player) WHERE period >= 'w' AND period < 'x'
