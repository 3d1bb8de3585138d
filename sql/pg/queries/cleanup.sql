-- cleanup_old_jobs($1 cutoff, $2 keep_failed): delete the jobs in a terminal
-- status created before $1 (keeping failed ones when asked), in one
-- statement.
--
-- The cutoff, `days` days of 86,400 seconds before the statement's start,
-- is computed by the caller with checked arithmetic, as the SQLite library
-- computes it (`now - make_interval(days => ...)` here failed with 22008
-- for a `days` beyond the timestamp range, although every `days` up to
-- 2147483647 is valid). It is NULL when no representable timestamp is that
-- old: then nothing qualifies.
--
-- Locks first, in the order every batch update uses: le locks the
-- executions to delete in job_id order, lv then the variations; the DELETEs
-- take only rows already locked there. (Deleting straight from the index on
-- created_at would lock in created_at order and could deadlock with a batch
-- update.) The first conjunct of the predicate is the predicate of the
-- partial indexes *_cleanup_idx.
--
-- The summary rows go with the jobs, through the delete triggers;
-- cache_entries_deleted counts those rows as they stand before the triggers
-- run.
WITH le AS (
    SELECT x.job_id
    FROM jobtrack.executions AS x
    WHERE x.status IN ('done', 'failed', 'cancelled')
      AND (NOT $2 OR x.status <> 'failed')
      AND x.created_at < $1::timestamptz
    ORDER BY x.job_id
    FOR UPDATE OF x
), lv AS (
    SELECT x.job_id
    FROM jobtrack.variations AS x
    WHERE x.status IN ('done', 'failed', 'cancelled')
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
           AS cache_entries_deleted
