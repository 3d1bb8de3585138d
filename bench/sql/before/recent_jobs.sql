-- BEFORE: the $1 most recently updated jobs, as two queries merged and
-- sorted (updated_at DESC, job_id DESC) by the client.
SELECT job_id, status, dataset_name, preset, pipeline_mode, success, duration_seconds,
       error_message, output_path, total_steps, current_step, start_time, created_at, updated_at
FROM executions
ORDER BY updated_at DESC, job_id DESC
LIMIT $1;
SELECT job_id, status, dataset_name, preset, experiment_name, variation_id, success,
       duration_seconds, error_message, output_path, total_steps, current_step, start_time,
       created_at, updated_at
FROM variations
ORDER BY updated_at DESC, job_id DESC
LIMIT $1;
