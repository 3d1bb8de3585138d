-- AFTER, plain SQL: the $1 most recently updated jobs of both kinds in one query, sorted
-- and cut by the server.
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset, pipeline_mode AS mode,
       NULL AS experiment_name, NULL AS variation_id, success, duration_seconds,
       error_message, output_path, total_steps, current_step, start_time, created_at, updated_at
FROM executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset, 'variations', experiment_name,
       variation_id, success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM variations
ORDER BY updated_at DESC, job_id DESC
LIMIT $1;
