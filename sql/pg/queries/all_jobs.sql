-- get_all_jobs_optimized($1 lim, $2 created_at, $3 job_id): the jobs after
-- the cursor, the job $3, newest created_at first, ties on job_id
-- descending; a Merge Append of executions_created_idx and
-- variations_created_idx (through the Job view), each scan starting at the
-- cursor, that stops after $1 rows. $2 NULL: the cursor's created_at is
-- looked up here, by one primary-key probe per table (an InitPlan run once,
-- only then); no row when $3 names no job, which the caller then tells from
-- an empty page. The first page is the page after ('infinity', ''), which
-- every job precedes: created_at is checked to lie in the years 1 to 9999.
WITH cursor_job AS (
    SELECT c.created_at
    FROM (SELECT e.created_at FROM jobtrack.executions AS e WHERE e.job_id = $3
          UNION ALL
          SELECT v.created_at FROM jobtrack.variations AS v WHERE v.job_id = $3) AS c
    LIMIT 1
)
SELECT j.*
FROM jobtrack.jobs AS j
WHERE (j.created_at, j.job_id)
      < (COALESCE($2, (SELECT created_at FROM cursor_job)), $3 COLLATE "C")
ORDER BY j.created_at DESC, j.job_id DESC
LIMIT $1
