-- One batch of prune_jobs (sql/pg/prune.sql), in a transaction of its own:
-- $1 cutoff, $2 keep_failed, $3 batch_size. Deletes the $3 jobs created
-- first among those cleanup.sql would delete (its conditions word for
-- word), of either kind; returns what it deleted and how many jobs it
-- chose (fewer than $3: the last batch).
--
-- chosen reads each kind's partial index *_cleanup_idx in created_at
-- order, stops at $3 rows and merges the two, so a batch costs its own
-- rows, not the table's. It is materialized once (a CTE referenced twice)
-- so that both kinds' deletes work on the same choice.
--
-- Then, as cleanup.sql does, the rows are locked in job_id order, the
-- order every batch update uses, before they are deleted: a batch cannot
-- deadlock with a batch update. A job a concurrent transaction has changed
-- meanwhile is judged again by FOR UPDATE on its new version, so a job
-- moved back to an active status is not deleted. A writer waits for one
-- batch at most: the procedure commits after each.
WITH chosen AS (
    SELECT c.job_type, c.job_id
    FROM ((SELECT 'execution'::text AS job_type, x.job_id, x.created_at
           FROM jobtrack.executions AS x
           WHERE x.status IN ('done', 'failed', 'cancelled')
             AND (NOT $2 OR x.status <> 'failed')
             AND x.created_at < $1::timestamptz
           ORDER BY x.created_at
           LIMIT $3)
          UNION ALL
          (SELECT 'variation'::text AS job_type, x.job_id, x.created_at
           FROM jobtrack.variations AS x
           WHERE x.status IN ('done', 'failed', 'cancelled')
             AND (NOT $2 OR x.status <> 'failed')
             AND x.created_at < $1::timestamptz
           ORDER BY x.created_at
           LIMIT $3)) AS c
    ORDER BY c.created_at
    LIMIT $3
), le AS (
    SELECT x.job_id
    FROM jobtrack.executions AS x
    WHERE x.job_id IN (SELECT chosen.job_id FROM chosen WHERE chosen.job_type = 'execution')
      AND x.status IN ('done', 'failed', 'cancelled')
      AND (NOT $2 OR x.status <> 'failed')
      AND x.created_at < $1::timestamptz
    ORDER BY x.job_id
    FOR UPDATE OF x
), lv AS (
    SELECT x.job_id
    FROM jobtrack.variations AS x
    WHERE x.job_id IN (SELECT chosen.job_id FROM chosen WHERE chosen.job_type = 'variation')
      AND x.status IN ('done', 'failed', 'cancelled')
      AND (NOT $2 OR x.status <> 'failed')
      AND x.created_at < $1::timestamptz
    ORDER BY x.job_id
    FOR UPDATE OF x
), e AS (
    DELETE FROM jobtrack.executions AS x
    USING le
    WHERE x.job_id = le.job_id
    RETURNING x.job_id
), v AS (
    DELETE FROM jobtrack.variations AS x
    USING lv
    WHERE x.job_id = lv.job_id
    RETURNING x.job_id
)
SELECT (SELECT count(*) FROM e) AS executions_deleted,
       (SELECT count(*) FROM v) AS variations_deleted,
       (SELECT count(*)
        FROM jobtrack.job_summary_cache AS s
        WHERE s.job_id IN (SELECT job_id FROM e UNION ALL SELECT job_id FROM v))
           AS cache_entries_deleted,
       (SELECT count(*) FROM chosen) AS chosen
