-- AFTER, plain SQL: one page of the active jobs after a cursor the client
-- kept from the previous page ($1 created_at, $2 job_id; $3 rows): one
-- LIMITed scan of each partial index, from the cursor on, merged. The same
-- columns as get_running_jobs (progress is left to the client).
SELECT job_id, job_type, status, dataset_name, start_time, current_step, total_steps,
       experiment_name, variation_id, created_at
FROM ((SELECT job_id, 'execution' AS job_type, status, dataset_name, start_time, current_step,
              total_steps, NULL AS experiment_name, NULL AS variation_id, created_at
       FROM executions
       WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                        'ready_for_training', 'training', 'generating_preview')
         AND (created_at, job_id) < ($1, $2)
       ORDER BY created_at DESC, job_id DESC
       LIMIT $3)
      UNION ALL
      (SELECT job_id, 'variation', status, dataset_name, start_time, current_step,
              total_steps, experiment_name, variation_id, created_at
       FROM variations
       WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                        'ready_for_training', 'training', 'generating_preview')
         AND (created_at, job_id) < ($1, $2)
       ORDER BY created_at DESC, job_id DESC
       LIMIT $3)) AS a
ORDER BY created_at DESC, job_id DESC
LIMIT $3;
