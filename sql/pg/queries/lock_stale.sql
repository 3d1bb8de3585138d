-- fail_stale_jobs, step 1: the jobs that expect heartbeats (every active
-- status but pending) whose last sign of life — the later of
-- last_heartbeat and updated_at (GREATEST ignores a NULL) — lies before $1,
-- locked for the failing transaction, in job_id order, with that sign of
-- life.
--
-- FOR UPDATE SKIP LOCKED: a job another transaction holds (a heartbeat
-- being written, a status change) is passed over, never waited for; the
-- next call judges it again. A job changed since the statement's snapshot
-- is judged again on its new version, so a heartbeat that committed first
-- keeps its job out. Each kind's arm reads its active index, whose
-- predicate the statuses repeat; `<> 'pending'` is core's
-- Status::expects_heartbeats.
WITH e AS (
    SELECT 'execution'::text AS job_type, x.job_id,
           GREATEST(x.last_heartbeat, x.updated_at) AS last_seen
    FROM jobtrack.executions AS x
    WHERE x.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                       'ready_for_training', 'training', 'generating_preview')
      AND x.status <> 'pending'
      AND GREATEST(x.last_heartbeat, x.updated_at) < $1
    FOR UPDATE OF x SKIP LOCKED
), v AS (
    SELECT 'variation'::text AS job_type, x.job_id,
           GREATEST(x.last_heartbeat, x.updated_at) AS last_seen
    FROM jobtrack.variations AS x
    WHERE x.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                       'ready_for_training', 'training', 'generating_preview')
      AND x.status <> 'pending'
      AND GREATEST(x.last_heartbeat, x.updated_at) < $1
    FOR UPDATE OF x SKIP LOCKED
)
SELECT s.job_type, s.job_id, s.last_seen
FROM (SELECT * FROM e UNION ALL SELECT * FROM v) AS s
ORDER BY s.job_id
