-- get_running_jobs(?1 = lim, -1 for every row) without a cursor: the jobs
-- in an active status, newest created_at first, ties on job_id descending.
-- The status lists repeat the partial indexes' WHERE clauses word for
-- word, which is what lets SQLite use those indexes. INDEXED BY, because
-- without statistics the planner may prefer seeking another index by
-- status and sorting (schema version 1 had one); the partial index holds
-- only active jobs, already in order, so the merge stops after ?1 rows.
SELECT job_id, 'execution' AS job_type, status, dataset_name, start_time,
       current_step, total_steps, NULL AS experiment_name, NULL AS variation_id,
       created_at, last_heartbeat
FROM executions INDEXED BY idx_executions_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
UNION ALL
SELECT job_id, 'variation' AS job_type, status, dataset_name, start_time,
       current_step, total_steps, experiment_name, variation_id,
       created_at, last_heartbeat
FROM variations INDEXED BY idx_variations_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
ORDER BY created_at DESC, job_id DESC
LIMIT ?1
