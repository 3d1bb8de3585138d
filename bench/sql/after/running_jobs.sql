-- AFTER, plain SQL: the jobs in an active status, both kinds in one query
-- sorted by the server.
SELECT job_id, 'execution' AS job_type, status, dataset_name, start_time, current_step,
       total_steps, NULL AS experiment_name, NULL AS variation_id, created_at
FROM executions
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
UNION ALL
SELECT job_id, 'variation', status, dataset_name, start_time, current_step, total_steps,
       experiment_name, variation_id, created_at
FROM variations
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
ORDER BY created_at DESC, job_id DESC;
