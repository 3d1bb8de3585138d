-- One prune_jobs batch, step 3: the chosen variations deleted; the delete
-- triggers keep the summary and the counters.
DELETE FROM variations
WHERE job_id IN (SELECT job_id FROM temp.job_prune_batch WHERE job_type = 'variation')
