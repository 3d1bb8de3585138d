-- BEFORE: the newest $1 jobs by created_at, as two queries (one per kind)
-- whose rows the client merges, sorts (created_at DESC, job_id DESC) and
-- cuts to $1.
SELECT job_id, status, dataset_name, preset, pipeline_mode, success, duration_seconds,
       error_message, output_path, total_steps, current_step, start_time, created_at, updated_at
FROM executions
ORDER BY created_at DESC, job_id DESC
LIMIT $1;
SELECT job_id, status, dataset_name, preset, experiment_name, variation_id, success,
       duration_seconds, error_message, output_path, total_steps, current_step, start_time,
       created_at, updated_at
FROM variations
ORDER BY created_at DESC, job_id DESC
LIMIT $1;
