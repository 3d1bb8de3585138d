-- The Job rows of the ids in the JSON array ?1, either kind
-- (claim_next_jobs' result): one primary-key lookup per id and table.
SELECT *
FROM jobs
WHERE job_id IN (SELECT value FROM json_each(?1))
