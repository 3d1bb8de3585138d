-- verify_statistics(): the counters (every delta row) and a full recount of
-- the base tables (the view job_counters_recount), side by side;
-- statistics_differences in jobtrack-core adds up the rows of each key and
-- compares. One statement, so both sides are read from one snapshot. A full
-- scan by design: this is the check, not the fast path.
SELECT 'counted' AS side, c.job_type, c.dataset_name, c.status, c.jobs, c.successful,
       c.failed, c.duration_count, c.duration_micros_sum
FROM jobtrack.job_counters AS c
UNION ALL
SELECT 'actual', r.job_type, r.dataset_name, r.status, r.jobs, r.successful, r.failed,
       r.duration_count, r.duration_micros_sum
FROM jobtrack.job_counters_recount AS r
