-- get_statistics_optimized: per kind and status, the counts and duration
-- sums Statistics::from_counters needs, summed over datasets from the
-- counters the triggers keep (schema.sql). The table holds one row per
-- (dataset, kind, status) that has jobs, however many jobs there are: this
-- is the whole cost of the statistics.
SELECT job_type,
       status,
       SUM(jobs) AS jobs,
       SUM(successful) AS successful,
       SUM(failed) AS failed,
       SUM(duration_count) AS duration_count,
       SUM(duration_micros_sum) AS duration_micros_sum
FROM job_counters
GROUP BY job_type, status
