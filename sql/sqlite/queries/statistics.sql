-- get_statistics_optimized: per kind and status, the counts and duration
-- sums Statistics::from_parts needs. One statement, so both kinds are read
-- from one snapshot.
SELECT 'execution' AS job_type,
       status,
       COUNT(*) AS jobs,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       TOTAL(duration_seconds) AS duration_sum,
       COUNT(duration_seconds) AS duration_count
FROM executions
GROUP BY status
UNION ALL
SELECT 'variation' AS job_type,
       status,
       COUNT(*) AS jobs,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       TOTAL(duration_seconds) AS duration_sum,
       COUNT(duration_seconds) AS duration_count
FROM variations
GROUP BY status
