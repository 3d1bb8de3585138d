-- refresh_job_cache: rebuilds the summary table from the base tables ...
DELETE FROM job_summary_cache;
INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                               start_time, duration_seconds, success, last_updated)
SELECT job_id, 'execution', status, dataset_name, preset,
       start_time, duration_seconds, success, updated_at
FROM executions;
INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                               start_time, duration_seconds, success, last_updated)
SELECT job_id, 'variation', status, dataset_name, preset,
       start_time, duration_seconds, success, updated_at
FROM variations;
-- ... and the statistics counters from their definition.
DELETE FROM job_counters;
INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed,
                          duration_count, duration_micros_sum)
SELECT dataset_name, job_type, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM job_counters_recount;
