-- heartbeat($1 job_id): the active job of either kind records a sign of
-- life. Only last_heartbeat changes: in no index (a HOT update) and in no
-- derived table, so the summary trigger finds no mirror to rewrite and the
-- counters no delta. A job that a concurrent transaction is changing is
-- waited for, then judged on its new version: a job failed meanwhile (by
-- fail_stale_jobs, say) takes no heartbeat, and the call returns false.
-- GREATEST: the time is the statement's start, and two heartbeats of one
-- job can commit in the other order than they started (the later one
-- takes the row lock first); the earlier must not move last_heartbeat
-- back behind the one already acknowledged, or fail_stale_jobs could fail
-- the job for the older sign of life (tests/tests/pg_stale.rs).
WITH e AS (
    UPDATE jobtrack.executions
    SET last_heartbeat = GREATEST(last_heartbeat, statement_timestamp())
    WHERE job_id = $1
      AND status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview')
    RETURNING 1
), v AS (
    UPDATE jobtrack.variations
    SET last_heartbeat = GREATEST(last_heartbeat, statement_timestamp())
    WHERE job_id = $1
      AND status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview')
    RETURNING 1
)
SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM v)
