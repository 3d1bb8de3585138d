-- One job of either kind by ?1 = job_id, as a Job row (the Job view, one
-- primary-key lookup per table).
SELECT *
FROM jobs
WHERE job_id = ?1
