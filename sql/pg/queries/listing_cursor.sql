-- _listing_cursor($1 after): the created_at of job $1 of either kind, one
-- primary-key probe per base table.
SELECT e.created_at FROM jobtrack.executions AS e WHERE e.job_id = $1
UNION ALL
SELECT v.created_at FROM jobtrack.variations AS v WHERE v.job_id = $1
