-- get_dataset_stats_optimized(?1 = dataset_name): one row of aggregates from
-- the summary table.
SELECT COUNT(*) FILTER (WHERE job_type = 'execution') AS executions,
       COUNT(*) FILTER (WHERE job_type = 'variation') AS variations,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       TOTAL(duration_seconds) AS duration_sum,
       COUNT(duration_seconds) AS duration_count,
       MIN(duration_seconds) AS min_duration,
       MAX(duration_seconds) AS max_duration,
       MIN(start_time) AS first_run,
       MAX(start_time) AS last_run
FROM job_summary_cache
WHERE dataset_name = ?1
