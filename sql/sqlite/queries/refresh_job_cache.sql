-- refresh_job_cache: rebuilds the summary table from the base tables ...
DELETE FROM job_summary_cache;
INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                               start_time, duration_seconds, success, last_updated)
SELECT job_id, 'execution', status, dataset_name, preset,
       start_time, duration_seconds, success, updated_at
FROM executions;
INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                               start_time, duration_seconds, success, last_updated,
                               experiment_name, total_combinations)
SELECT job_id, 'variation', status, dataset_name, preset,
       start_time, duration_seconds, success, updated_at,
       experiment_name, total_combinations
FROM variations;
-- ... the statistics counters from their definition ...
DELETE FROM job_counters;
INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed,
                          duration_count, duration_micros_sum)
SELECT dataset_name, job_type, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM job_counters_recount;
-- ... and the experiment counters from theirs.
DELETE FROM experiment_counters;
INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful,
                                 failed, duration_count, duration_micros_sum)
SELECT experiment_name, total_combinations, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM experiment_counters_recount;
