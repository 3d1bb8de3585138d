-- get_dataset_stats_optimized(?1 = dataset_name): one row. Counts and
-- duration sums per kind come from the counters (a primary-key seek to the
-- dataset's few rows); the extremes from the summary table, each the first
-- or last entry of the dataset in an index — logarithmic, not a scan.
-- One statement, so every part is read from one snapshot.
SELECT coalesce(SUM(jobs) FILTER (WHERE job_type = 'execution'), 0) AS executions,
       coalesce(SUM(successful) FILTER (WHERE job_type = 'execution'), 0),
       coalesce(SUM(failed) FILTER (WHERE job_type = 'execution'), 0),
       coalesce(SUM(duration_count) FILTER (WHERE job_type = 'execution'), 0),
       coalesce(SUM(duration_micros_sum) FILTER (WHERE job_type = 'execution'), 0),
       coalesce(SUM(jobs) FILTER (WHERE job_type = 'variation'), 0) AS variations,
       coalesce(SUM(successful) FILTER (WHERE job_type = 'variation'), 0),
       coalesce(SUM(failed) FILTER (WHERE job_type = 'variation'), 0),
       coalesce(SUM(duration_count) FILTER (WHERE job_type = 'variation'), 0),
       coalesce(SUM(duration_micros_sum) FILTER (WHERE job_type = 'variation'), 0),
       (SELECT duration_seconds FROM job_summary_cache
        WHERE dataset_name = ?1 AND duration_seconds IS NOT NULL
        ORDER BY duration_seconds LIMIT 1) AS min_duration,
       (SELECT duration_seconds FROM job_summary_cache
        WHERE dataset_name = ?1 AND duration_seconds IS NOT NULL
        ORDER BY duration_seconds DESC LIMIT 1) AS max_duration,
       (SELECT start_time FROM job_summary_cache
        WHERE dataset_name = ?1 AND start_time IS NOT NULL
        ORDER BY start_time LIMIT 1) AS first_run,
       (SELECT start_time FROM job_summary_cache
        WHERE dataset_name = ?1 AND start_time IS NOT NULL
        ORDER BY start_time DESC LIMIT 1) AS last_run
FROM job_counters
WHERE dataset_name = ?1
