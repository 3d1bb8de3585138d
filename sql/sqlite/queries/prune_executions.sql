-- One prune_jobs batch, step 3: the chosen executions deleted; the delete
-- triggers keep the summary and the counters.
DELETE FROM executions
WHERE job_id IN (SELECT job_id FROM temp.job_prune_batch WHERE job_type = 'execution')
