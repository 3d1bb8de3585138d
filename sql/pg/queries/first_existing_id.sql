-- The first id of a create batch ($1, in input order) that a job of either
-- kind already has. The summary table holds every job_id of both kinds.
SELECT u.job_id
FROM unnest($1::text[]) WITH ORDINALITY AS u(job_id, ord)
WHERE EXISTS (SELECT FROM jobtrack.job_summary_cache AS s WHERE s.job_id = u.job_id)
ORDER BY u.ord
LIMIT 1
