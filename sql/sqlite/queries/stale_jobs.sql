-- get_stale_jobs: the Job rows of the jobs fail_stale_jobs would fail,
-- chosen as lock_stale.sql chooses them (?1 the cut-off, ?2 the statuses
-- that expect heartbeats, a JSON array; read from the partial active
-- indexes), the longest silent first, ties on job_id. Only the stale ids
-- come from the indexes; their rows are fetched from the Job view by
-- primary key in the table of their kind, as recent_jobs.sql does. The
-- rows are sorted apart, from the Job row's own columns: SQLite flattens
-- the view's UNION ALL into a query only while its ORDER BY names result
-- columns, and the last sign of life is none.
WITH stale AS MATERIALIZED (
    SELECT 'execution' AS job_type, job_id
    FROM executions INDEXED BY idx_executions_active
    WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview')
      AND status IN (SELECT value FROM json_each(?2))
      AND max(updated_at, coalesce(last_heartbeat, updated_at)) < ?1
    UNION ALL
    SELECT 'variation', job_id
    FROM variations INDEXED BY idx_variations_active
    WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview')
      AND status IN (SELECT value FROM json_each(?2))
      AND max(updated_at, coalesce(last_heartbeat, updated_at)) < ?1
),
stale_rows AS MATERIALIZED (
    SELECT j.*
    FROM stale AS s
    CROSS JOIN jobs AS j
    WHERE j.job_type = s.job_type AND j.job_id = s.job_id
)
SELECT *
FROM stale_rows
ORDER BY max(updated_at, coalesce(last_heartbeat, updated_at)), job_id
