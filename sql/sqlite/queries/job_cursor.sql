-- The key of a pagination cursor ?1 = after, a job_id: its created_at,
-- looked up by primary key in the base table of either kind (the cursor's
-- job may be of the other kind than the listed rows, or no longer active).
-- No row: the cursor names no job. A job_id is never in both kinds.
SELECT created_at FROM executions WHERE job_id = ?1
UNION ALL
SELECT created_at FROM variations WHERE job_id = ?1
