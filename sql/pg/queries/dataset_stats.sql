-- get_dataset_stats_optimized($1 dataset_name): aggregates of one dataset
-- from the summary table, through job_summary_cache_dataset_idx.
SELECT count(*) FILTER (WHERE s.job_type = 'execution') AS executions,
       count(*) FILTER (WHERE s.job_type = 'variation') AS variations,
       count(*) FILTER (WHERE s.success) AS successful,
       count(*) FILTER (WHERE NOT s.success) AS failed,
       COALESCE(sum(s.duration_seconds), 0)::double precision AS duration_sum,
       count(s.duration_seconds) AS duration_count,
       min(s.duration_seconds) AS min_duration,
       max(s.duration_seconds) AS max_duration,
       min(s.start_time) AS first_run,
       max(s.start_time) AS last_run
FROM jobtrack.job_summary_cache AS s
WHERE s.dataset_name = $1
