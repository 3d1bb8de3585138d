-- verify_statistics: the counters and a full recount of the base tables
-- (the view job_counters_recount), side by side; statistics_differences in
-- jobtrack-core compares them. One statement, so both sides are read from
-- one snapshot. A full scan by design: this is the check, not the fast path.
SELECT 'counted' AS side, job_type, dataset_name, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM job_counters
UNION ALL
SELECT 'actual', job_type, dataset_name, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM job_counters_recount
