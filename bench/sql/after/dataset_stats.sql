-- AFTER, plain SQL: one dataset's statistics ($1) in one query over both
-- kinds.
SELECT count(CASE WHEN j.kind = 'execution' THEN 1 END),
       count(CASE WHEN j.kind = 'variation' THEN 1 END),
       count(CASE WHEN j.success = true THEN 1 END),
       count(CASE WHEN j.success = false THEN 1 END),
       avg(j.duration_seconds), min(j.duration_seconds), max(j.duration_seconds),
       min(j.start_time), max(j.start_time)
FROM (SELECT 'execution' AS kind, success, duration_seconds, start_time
      FROM executions WHERE dataset_name = $1
      UNION ALL
      SELECT 'variation', success, duration_seconds, start_time
      FROM variations WHERE dataset_name = $1) AS j;
