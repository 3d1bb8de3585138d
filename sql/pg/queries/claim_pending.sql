-- claim_next_jobs, step 1: up to $1 pending jobs of either kind, the oldest
-- created_at first (ties on job_id), locked for the claiming transaction.
--
-- FOR UPDATE SKIP LOCKED: a job another claim (or any writer) holds is
-- passed over, never waited for, so concurrent claims never get the same
-- job and never queue behind each other; a job changed since the snapshot
-- is judged again on its new version (still pending?). Each kind's arm
-- locks up to $1 jobs in created_at order from its active index (a pending
-- job is an active one) and the merge keeps the $1 oldest; the jobs an arm
-- locked beyond those stay locked, and so passed over by other claims,
-- until this transaction ends. Lock order: the claim never waits, so it can
-- take no part in a deadlock.
WITH e AS (
    SELECT 'execution'::text AS job_type, x.job_id, x.created_at
    FROM jobtrack.executions AS x
    WHERE x.status = 'pending'
    ORDER BY x.created_at, x.job_id
    LIMIT $1
    FOR UPDATE OF x SKIP LOCKED
), v AS (
    SELECT 'variation'::text AS job_type, x.job_id, x.created_at
    FROM jobtrack.variations AS x
    WHERE x.status = 'pending'
    ORDER BY x.created_at, x.job_id
    LIMIT $1
    FOR UPDATE OF x SKIP LOCKED
)
SELECT c.job_type, c.job_id
FROM (SELECT * FROM e UNION ALL SELECT * FROM v) AS c
ORDER BY c.created_at, c.job_id
LIMIT $1
