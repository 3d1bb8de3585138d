-- The first id of a create batch ($1, in input order) that a job of either
-- kind already has. Asked of the base tables, as the SQLite library does, so
-- that the answer holds even if someone edited the summary table by hand: a
-- semi-join probing each table's primary key.
SELECT u.job_id
FROM unnest($1::text[]) WITH ORDINALITY AS u(job_id, ord)
WHERE EXISTS (SELECT FROM (SELECT e.job_id FROM jobtrack.executions AS e
                           UNION ALL
                           SELECT v.job_id FROM jobtrack.variations AS v) AS j
              WHERE j.job_id = u.job_id)
ORDER BY u.ord
LIMIT 1
