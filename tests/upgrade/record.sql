-- The data and statistics of database `upgraded`, as text: taken with a
-- release, again with the new library on the release's catalog, and after
-- ALTER EXTENSION UPDATE; the upgrade test diffs them. Only the columns and
-- results 0.1.0 (the oldest release) has, so that an added column or key
-- cannot hide behind a changed layout: what was there must still be there,
-- the same.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset null '<null>'
SET TimeZone = 'UTC';
SET extra_float_digits = 3;

\echo == executions
SELECT job_id, status, pipeline_mode, dataset_name, preset, total_steps, current_step,
       start_time, end_time, duration_seconds, success, error_message, output_path,
       created_at, updated_at
FROM jobtrack.executions ORDER BY job_id COLLATE "C";

\echo == variations
SELECT job_id, status, variation_id, experiment_name, dataset_name, preset,
       total_combinations, varied_parameters, parameter_values, parent_experiment_id,
       total_steps, current_step, start_time, end_time, duration_seconds, success,
       error_message, output_path, created_at, updated_at
FROM jobtrack.variations ORDER BY job_id COLLATE "C";

\echo == job_summary_cache
SELECT job_id, job_type, status, dataset_name, preset, start_time, duration_seconds,
       success, last_updated
FROM jobtrack.job_summary_cache ORDER BY job_id COLLATE "C";

-- Summed per key, whatever the layout of the rows (0.1.0: shards; later:
-- deltas, which may sum to zero until folded: such keys are left out).
\echo == job_counters, summed per key
SELECT dataset_name, job_type, status, sum(jobs), sum(successful), sum(failed),
       sum(duration_count), sum(duration_micros_sum)
FROM jobtrack.job_counters
GROUP BY dataset_name, job_type, status
HAVING (sum(jobs), sum(successful), sum(failed), sum(duration_count),
        sum(duration_micros_sum)) <> (0, 0, 0, 0, 0)
ORDER BY dataset_name COLLATE "C", job_type COLLATE "C", status COLLATE "C";

\echo == verify_statistics()
SELECT * FROM jobtrack.verify_statistics();

\echo == get_statistics_optimized()
SELECT jobtrack.get_statistics_optimized();
\echo == get_statistics_cached()
SELECT jobtrack.get_statistics_cached();

\echo == get_dataset_stats_optimized() and get_dataset_stats_cached() per dataset
SELECT d.dataset_name, jobtrack.get_dataset_stats_optimized(d.dataset_name),
       jobtrack.get_dataset_stats_cached(d.dataset_name)
FROM (SELECT dataset_name FROM jobtrack.executions
      UNION SELECT dataset_name FROM jobtrack.variations
      UNION SELECT 'ds-gone') AS d
ORDER BY d.dataset_name COLLATE "C";

-- The listings' columns of every release (0.6.0 added last_heartbeat, which
-- an older catalog does not declare).
\echo == get_all_jobs_optimized(1000)
SELECT job_id, job_type, status, dataset_name, preset, mode, experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps, current_step,
       start_time, created_at, updated_at
FROM jobtrack.get_all_jobs_optimized(1000);
\echo == get_recent_jobs_optimized(1000)
SELECT job_id, job_type, status, dataset_name, preset, mode, experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps, current_step,
       start_time, created_at, updated_at
FROM jobtrack.get_recent_jobs_optimized(1000);
\echo == get_recent_jobs_cached(5)
SELECT job_id, job_type, status, dataset_name, preset, mode, experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps, current_step,
       start_time, created_at, updated_at
FROM jobtrack.get_recent_jobs_cached(5);
\echo == get_running_jobs()
SELECT job_id, job_type, status, dataset_name, start_time, current_step, total_steps, progress,
       experiment_name, variation_id
FROM jobtrack.get_running_jobs();
