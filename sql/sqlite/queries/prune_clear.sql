-- One prune_jobs batch, last step (and first, after a batch that failed
-- halfway on this connection): the working table emptied.
DELETE FROM temp.job_prune_batch
