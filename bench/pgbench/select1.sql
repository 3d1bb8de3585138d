-- The round-trip ceiling: no call can beat it.
SELECT 1;
