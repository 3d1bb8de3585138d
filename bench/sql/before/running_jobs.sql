-- BEFORE: the jobs in an active status, as two queries merged and sorted
-- (created_at DESC, job_id DESC) by the client.
SELECT job_id, status, dataset_name, start_time, current_step, total_steps, created_at
FROM executions
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
ORDER BY created_at DESC, job_id DESC;
SELECT job_id, status, dataset_name, start_time, current_step, total_steps, created_at,
       experiment_name, variation_id
FROM variations
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
ORDER BY created_at DESC, job_id DESC;
