-- refresh_job_cache(): rebuild the summary table and the statistics
-- counters from the base tables, after refresh_lock.sql: one counter row
-- per key.
DELETE FROM jobtrack.job_summary_cache;
INSERT INTO jobtrack.job_summary_cache
    (job_id, job_type, status, dataset_name, preset, start_time,
     duration_seconds, success, last_updated)
SELECT job_id, 'execution', status, dataset_name, preset, start_time,
       duration_seconds, success, updated_at
FROM jobtrack.executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset, start_time,
       duration_seconds, success, updated_at
FROM jobtrack.variations
ORDER BY job_id;
DELETE FROM jobtrack.job_counters;
INSERT INTO jobtrack.job_counters
    (dataset_name, job_type, status, jobs, successful, failed,
     duration_count, duration_micros_sum)
SELECT dataset_name, job_type, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM jobtrack.job_counters_recount
ORDER BY dataset_name, job_type, status;
