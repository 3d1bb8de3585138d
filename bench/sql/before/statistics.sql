-- BEFORE: the original design's statistics, as its client ran them: one
-- query per number, ten round trips, each a scan of a base table. The client
-- adds the results up (totals, success rate, averages).
-- Shared by PostgreSQL (search_path = jobtrack) and SQLite.
SELECT count(*) FROM executions;
SELECT count(*) FROM variations;
SELECT status, count(*) FROM executions GROUP BY status;
SELECT status, count(*) FROM variations GROUP BY status;
SELECT count(*) FROM executions WHERE success = true;
SELECT count(*) FROM variations WHERE success = true;
SELECT count(*) FROM executions WHERE success = false;
SELECT count(*) FROM variations WHERE success = false;
SELECT avg(duration_seconds) FROM executions WHERE duration_seconds IS NOT NULL;
SELECT avg(duration_seconds) FROM variations WHERE duration_seconds IS NOT NULL;
