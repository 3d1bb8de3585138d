-- The Job rows of the ids $1, either kind (claim_next_jobs' result): one
-- primary-key lookup per id and table.
SELECT j.*
FROM jobtrack.jobs AS j
WHERE j.job_id = ANY ($1::text[])
