-- The Job row of one id ($1), either kind: the result of create_execution
-- and create_variation. One primary-key lookup per table.
SELECT j.*
FROM jobtrack.jobs AS j
WHERE j.job_id = $1
