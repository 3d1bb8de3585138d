-- get_statistics_optimized(): counts per kind and status from the summary
-- table, an index-only scan of job_summary_cache_stats_idx.
SELECT s.job_type,
       s.status,
       count(*) AS jobs,
       count(*) FILTER (WHERE s.success) AS successful,
       count(*) FILTER (WHERE NOT s.success) AS failed,
       COALESCE(sum(s.duration_seconds), 0)::double precision AS duration_sum,
       count(s.duration_seconds) AS duration_count
FROM jobtrack.job_summary_cache AS s
GROUP BY s.job_type, s.status
