-- get_all_jobs_optimized(?1 = lim): newest created_at first, ties on job_id
-- descending. SQLite merges the two kinds, each read in index order, and
-- stops after ?1 rows.
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, NULL AS experiment_name, NULL AS variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM executions
UNION ALL
SELECT job_id, 'variation' AS job_type, status, dataset_name, preset,
       'variations' AS mode, experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM variations
ORDER BY created_at DESC, job_id DESC
LIMIT ?1
