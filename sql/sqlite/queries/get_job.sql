-- One job of either kind by ?1 = job_id, as a Job row.
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, NULL AS experiment_name, NULL AS variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM executions
WHERE job_id = ?1
UNION ALL
SELECT job_id, 'variation' AS job_type, status, dataset_name, preset,
       'variations' AS mode, experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM variations
WHERE job_id = ?1
