-- get_dataset_stats_optimized($1 dataset_name): one row. Counts and
-- duration sums per kind come from the counters (a range scan of the
-- dataset's few rows in job_counters_key_idx); the extremes from the summary table, each the
-- first or last entry of the dataset in job_summary_cache_dataset_duration_idx
-- or job_summary_cache_dataset_start_idx — logarithmic, not a scan. One
-- statement, so every part is read from one snapshot.
SELECT COALESCE(sum(c.jobs) FILTER (WHERE c.job_type = 'execution'), 0)::bigint AS executions,
       COALESCE(sum(c.successful) FILTER (WHERE c.job_type = 'execution'), 0)::bigint,
       COALESCE(sum(c.failed) FILTER (WHERE c.job_type = 'execution'), 0)::bigint,
       COALESCE(sum(c.duration_count) FILTER (WHERE c.job_type = 'execution'), 0)::bigint,
       COALESCE(sum(c.duration_micros_sum) FILTER (WHERE c.job_type = 'execution'), 0)::bigint,
       COALESCE(sum(c.jobs) FILTER (WHERE c.job_type = 'variation'), 0)::bigint AS variations,
       COALESCE(sum(c.successful) FILTER (WHERE c.job_type = 'variation'), 0)::bigint,
       COALESCE(sum(c.failed) FILTER (WHERE c.job_type = 'variation'), 0)::bigint,
       COALESCE(sum(c.duration_count) FILTER (WHERE c.job_type = 'variation'), 0)::bigint,
       COALESCE(sum(c.duration_micros_sum) FILTER (WHERE c.job_type = 'variation'), 0)::bigint,
       (SELECT s.duration_seconds FROM jobtrack.job_summary_cache AS s
        WHERE s.dataset_name = $1 AND s.duration_seconds IS NOT NULL
        ORDER BY s.duration_seconds LIMIT 1) AS min_duration,
       (SELECT s.duration_seconds FROM jobtrack.job_summary_cache AS s
        WHERE s.dataset_name = $1 AND s.duration_seconds IS NOT NULL
        ORDER BY s.duration_seconds DESC LIMIT 1) AS max_duration,
       (SELECT s.start_time FROM jobtrack.job_summary_cache AS s
        WHERE s.dataset_name = $1 AND s.start_time IS NOT NULL
        ORDER BY s.start_time LIMIT 1) AS first_run,
       (SELECT s.start_time FROM jobtrack.job_summary_cache AS s
        WHERE s.dataset_name = $1 AND s.start_time IS NOT NULL
        ORDER BY s.start_time DESC LIMIT 1) AS last_run
FROM jobtrack.job_counters AS c
WHERE c.dataset_name = $1
