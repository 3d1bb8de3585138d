-- get_running_jobs($1 lim, $2 created_at, $3 job_id): the jobs in an active
-- status after the cursor, the job $3, newest created_at first, ties on
-- job_id descending, at most $1 of them (NULL: all), with their progress in
-- percent as jobtrack_core::progress computes it for SQLite (100 × current
-- / total; 0 when either is unknown or total is 0). The cursor's created_at
-- and the first page as in all_jobs.sql.
--
-- One LIMITed scan of each partial index (executions_active_idx,
-- variations_active_idx), merged: PostgreSQL reads a partial index in order
-- for a single table, but for a branch of a UNION ALL it sorts every active
-- job. The statuses repeat the partial indexes' WHERE clause, which is what
-- lets the planner use them.
WITH cursor_job AS (
    SELECT c.created_at
    FROM (SELECT e.created_at FROM jobtrack.executions AS e WHERE e.job_id = $3
          UNION ALL
          SELECT v.created_at FROM jobtrack.variations AS v WHERE v.job_id = $3) AS c
    LIMIT 1
)
SELECT a.job_id, a.job_type, a.status, a.dataset_name, a.start_time,
       a.current_step, a.total_steps,
       CASE WHEN a.total_steps > 0 AND a.current_step IS NOT NULL
            THEN 100.0::double precision * a.current_step / a.total_steps
            ELSE 0::double precision
       END AS progress,
       a.experiment_name, a.variation_id, a.last_heartbeat
FROM ((SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name,
              e.start_time, e.current_step, e.total_steps,
              NULL::text AS experiment_name, NULL::text AS variation_id, e.last_heartbeat,
              e.created_at
       FROM jobtrack.executions AS e
       WHERE e.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                          'ready_for_training', 'training', 'generating_preview')
         AND (e.created_at, e.job_id) < (COALESCE($2, (SELECT created_at FROM cursor_job)), $3 COLLATE "C")
       ORDER BY e.created_at DESC, e.job_id DESC
       LIMIT $1)
      UNION ALL
      (SELECT v.job_id, 'variation'::text, v.status, v.dataset_name,
              v.start_time, v.current_step, v.total_steps,
              v.experiment_name, v.variation_id, v.last_heartbeat, v.created_at
       FROM jobtrack.variations AS v
       WHERE v.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                          'ready_for_training', 'training', 'generating_preview')
         AND (v.created_at, v.job_id) < (COALESCE($2, (SELECT created_at FROM cursor_job)), $3 COLLATE "C")
       ORDER BY v.created_at DESC, v.job_id DESC
       LIMIT $1)) AS a
ORDER BY a.created_at DESC, a.job_id DESC
LIMIT $1
