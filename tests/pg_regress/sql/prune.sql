-- prune_jobs: the jobs cleanup_old_jobs deletes, oldest created_at first
-- across both kinds, in batches of batch_size each committed on its own;
-- never an active job, failed ones kept unless keep_failed is false; the
-- summary table and the counters exact after it. The batches' commits
-- themselves (seen by other sessions while the CALL runs, kept after a
-- cancel) are tested with concurrent sessions in tests/tests/pg_prune.rs.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

-- Runs a statement and shows how it failed (SQLSTATE and message), or 'ok'.
CREATE FUNCTION pg_temp.try(statement text) RETURNS TABLE (code text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    c text;
    m text;
BEGIN
    EXECUTE statement;
    RETURN QUERY SELECT 'ok', NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS c = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
    RETURN QUERY SELECT c, m;
END
$$;

-- Every job left, of both kinds, oldest first.
CREATE FUNCTION pg_temp.jobs() RETURNS TABLE (job_id text, status text, age text)
LANGUAGE sql AS $$
    SELECT job_id, status, CASE WHEN created_at < now() - interval '30 days' THEN 'old' ELSE 'recent' END
    FROM (SELECT job_id, status, created_at FROM jobtrack.executions
          UNION ALL
          SELECT job_id, status, created_at FROM jobtrack.variations) AS j
    ORDER BY created_at, job_id
$$;

-- Rows in which the summary table and the base tables differ (0 = exact).
CREATE FUNCTION pg_temp.summary_diff() RETURNS bigint LANGUAGE sql AS $$
    WITH base AS (
        SELECT job_id, 'execution' AS job_type, status, dataset_name, preset, start_time,
               duration_seconds, success, updated_at AS last_updated
        FROM jobtrack.executions
        UNION ALL
        SELECT job_id, 'variation', status, dataset_name, preset, start_time,
               duration_seconds, success, updated_at
        FROM jobtrack.variations
    ), summary AS (
        SELECT job_id, job_type, status, dataset_name, preset, start_time,
               duration_seconds, success, last_updated
        FROM jobtrack.job_summary_cache
    )
    SELECT count(*) FROM ((TABLE base EXCEPT ALL TABLE summary)
                          UNION ALL
                          (TABLE summary EXCEPT ALL TABLE base)) AS d
$$;

-- Twelve old jobs whose created_at interleave the two kinds (e<i> and v<i>
-- alternate irregularly, oldest first: v1 e1 e2 v2 e3 v3 e4 v4 v5 e5 v6 e6),
-- two active (e3, v5) and two failed (e2, v4) among them; and two recent
-- terminal jobs, e7 (now) and v7 (10 days old).
SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"},
  {"job_id": "e2", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "failed"},
  {"job_id": "e3", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "training"},
  {"job_id": "e4", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "cancelled"},
  {"job_id": "e5", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"},
  {"job_id": "e6", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"},
  {"job_id": "e7", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "v1", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "done"},
  {"job_id": "v2", "variation_id": "b", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "cancelled"},
  {"job_id": "v3", "variation_id": "c", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "done"},
  {"job_id": "v4", "variation_id": "d", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "failed"},
  {"job_id": "v5", "variation_id": "e", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "pending"},
  {"job_id": "v6", "variation_id": "f", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "done"},
  {"job_id": "v7", "variation_id": "g", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 7, "status": "cancelled"}]');
-- Hours before "40 days ago": the larger, the older.
UPDATE jobtrack.executions AS x
SET created_at = now() - interval '40 days' - h.hours * interval '1 hour'
FROM (VALUES ('e1', 11), ('e2', 10), ('e3', 8), ('e4', 6), ('e5', 3), ('e6', 1)) AS h (job_id, hours)
WHERE x.job_id = h.job_id;
UPDATE jobtrack.variations AS x
SET created_at = now() - interval '40 days' - h.hours * interval '1 hour'
FROM (VALUES ('v1', 12), ('v2', 9), ('v3', 7), ('v4', 5), ('v5', 4), ('v6', 2)) AS h (job_id, hours)
WHERE x.job_id = h.job_id;
UPDATE jobtrack.variations SET created_at = now() - interval '10 days' WHERE job_id = 'v7';
SELECT * FROM pg_temp.jobs();

-- What cleanup_old_jobs(30) would leave, for the comparison below.
BEGIN;
SELECT jobtrack.cleanup_old_jobs(30);
SELECT string_agg(job_id, ' ' ORDER BY job_id) AS left_by_cleanup FROM pg_temp.jobs() \gset
ROLLBACK;
SELECT :'left_by_cleanup' AS left_by_cleanup;

-- One batch of 2, then one of 3, by hand: the oldest qualifying jobs of
-- either kind go first (v1 e1, then v2 v3 e4: the failed e2 and the active
-- e3 skipped), and "more" says a batch found batch_size jobs.
BEGIN;
SELECT jobtrack._prune_batch(now() - interval '30 days', true, 2, NULL) AS report \gset
SELECT :'report' AS first_batch;
SELECT * FROM pg_temp.jobs();
SELECT jobtrack._prune_batch(now() - interval '30 days', true, 3, :'report') AS second_batch;
SELECT * FROM pg_temp.jobs();
-- The last batch finds fewer than batch_size: no "more".
SELECT jobtrack._prune_batch(now() - interval '30 days', true, 4, NULL) AS last_batch;
SELECT pg_temp.summary_diff() AS summary_differences;
SELECT * FROM jobtrack.verify_statistics();
ROLLBACK;

-- The whole prune in batches of 3: 8 jobs in 3 batches (3, 3, 2), the
-- same jobs as cleanup_old_jobs(30), the summary and the counters exact.
CALL jobtrack.prune_jobs(30, true, 3);
SELECT * FROM pg_temp.jobs();
SELECT string_agg(job_id, ' ' ORDER BY job_id) = :'left_by_cleanup' AS same_as_cleanup FROM pg_temp.jobs();
SELECT pg_temp.summary_diff() AS summary_differences;
SELECT * FROM jobtrack.verify_statistics();
SELECT jobtrack.get_statistics_optimized();
-- Nothing left to prune: one batch that finds nothing.
CALL jobtrack.prune_jobs(30);

-- keep_failed false, batches of 1: e2 and v4, then a third batch that finds
-- none (the last full batch cannot know it was the last).
CALL jobtrack.prune_jobs(30, false, 1);
SELECT * FROM pg_temp.jobs();

-- Named arguments; the value passed as report is ignored.
CALL jobtrack.prune_jobs(days => 7, report => '{"batches": 99}');
-- Everything terminal (e7 and v7): only the active e3 and v5 stay.
CALL jobtrack.prune_jobs(0, false);
SELECT * FROM pg_temp.jobs();
SELECT pg_temp.summary_diff() AS summary_differences;
SELECT * FROM jobtrack.verify_statistics();
SELECT jobtrack.get_statistics_optimized();

-- No job can be created before now - 2147483647 days: no batch runs.
CALL jobtrack.prune_jobs(2147483647, false);

-- Bad arguments: 22023 naming the argument, nothing deleted.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "e8", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"}]');
UPDATE jobtrack.executions SET created_at = now() - interval '40 days' WHERE job_id = 'e8';
SELECT * FROM pg_temp.try('CALL jobtrack.prune_jobs(-1)');
SELECT * FROM pg_temp.try('CALL jobtrack.prune_jobs(NULL)');
SELECT * FROM pg_temp.try('CALL jobtrack.prune_jobs(30, NULL)');
SELECT * FROM pg_temp.try('CALL jobtrack.prune_jobs(30, true, 0)');
SELECT * FROM pg_temp.try('CALL jobtrack.prune_jobs(30, true, -5)');
SELECT * FROM pg_temp.try('CALL jobtrack.prune_jobs(30, true, NULL)');
-- A batch may delete no job cleanup_old_jobs(0) would keep.
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch('9999-01-01 00:00:00+00', true, 2, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), NULL, 2, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), true, 0, NULL)$$);
-- The report so far must be one.
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), true, 2, '{"batches": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), true, 2, '"so far"')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), true, 2, '[5, 6, 7, 8]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), true, 2,
    '{"executions_deleted": -5, "variations_deleted": 0, "cache_entries_deleted": 0, "batches": 0}')$$);
-- Figures no batch returned, too large to add to: refused, and the batch's
-- delete with them (e8 stays).
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), false, 2,
    '{"executions_deleted": 9223372036854775807, "variations_deleted": 0, "cache_entries_deleted": 0, "batches": 9223372036854775807}')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack._prune_batch(now(), true, 2,
    '{"executions_deleted": "1", "variations_deleted": 0, "cache_entries_deleted": 0, "batches": 1}')$$);
SELECT * FROM pg_temp.jobs();

-- Inside a transaction block its COMMIT is refused (2D000) and nothing of
-- the call is applied.
BEGIN;
CALL jobtrack.prune_jobs(30, false, 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM pg_temp.jobs();
SELECT * FROM jobtrack.verify_statistics();
-- And outside one it deletes e8.
CALL jobtrack.prune_jobs(30, false, 1);
SELECT * FROM pg_temp.jobs();
SELECT * FROM jobtrack.verify_statistics();
