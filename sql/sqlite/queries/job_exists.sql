-- Whether ?1 = job_id names a job of either kind. Asked of the base tables,
-- not the summary, so that the answer holds even if someone edited the
-- summary by hand.
SELECT EXISTS (SELECT 1 FROM executions WHERE job_id = ?1)
    OR EXISTS (SELECT 1 FROM variations WHERE job_id = ?1)
