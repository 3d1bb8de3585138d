-- BEFORE: one dataset's statistics, one query per number group ($1 = the
-- dataset), eight round trips; the client combines the two kinds (weighted
-- average, min/max of both).
SELECT count(*) FROM executions WHERE dataset_name = $1;
SELECT count(*) FROM variations WHERE dataset_name = $1;
SELECT count(*) FROM executions WHERE dataset_name = $1 AND success = true;
SELECT count(*) FROM variations WHERE dataset_name = $1 AND success = true;
SELECT count(*) FROM executions WHERE dataset_name = $1 AND success = false;
SELECT count(*) FROM variations WHERE dataset_name = $1 AND success = false;
SELECT avg(duration_seconds), count(duration_seconds), min(duration_seconds),
       max(duration_seconds), min(start_time), max(start_time)
FROM executions WHERE dataset_name = $1;
SELECT avg(duration_seconds), count(duration_seconds), min(duration_seconds),
       max(duration_seconds), min(start_time), max(start_time)
FROM variations WHERE dataset_name = $1;
