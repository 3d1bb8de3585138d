-- claim_next_jobs(n, worker): up to n pending jobs of either kind, the
-- oldest created_at first (ties on job_id), moved to in_queue with the
-- effects of a status update and returned as Job rows; the worker recorded
-- in the base tables only; jobs of any other status never taken; the
-- summary table and the counters exact after it; bad arguments 22023
-- naming them, with nothing applied. Concurrent claimers (no job twice, no
-- waits, locked jobs passed over) are tested with several sessions in
-- tests/tests/pg_claim.rs.
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

-- Every job of both kinds as the base tables have it, oldest first, clock
-- values as booleans; "updated" is whether updated_at moved from the
-- setup's value.
CREATE FUNCTION pg_temp.jobs()
RETURNS TABLE (job_id text, kind text, status text, worker text, started boolean,
               ended boolean, success boolean, duration_seconds double precision,
               error_message text, updated boolean)
LANGUAGE sql AS $$
    SELECT job_id, kind, status, worker, start_time IS NOT NULL, end_time IS NOT NULL, success,
           duration_seconds, error_message, updated_at <> '2024-01-01 00:00:00+00'
    FROM (SELECT job_id, 'e' AS kind, status, worker, start_time, end_time, success,
                 duration_seconds, error_message, created_at, updated_at
          FROM jobtrack.executions
          UNION ALL
          SELECT job_id, 'v', status, worker, start_time, end_time, success,
                 duration_seconds, error_message, created_at, updated_at
          FROM jobtrack.variations) AS j
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

-- Whole rows of both base tables, for "untouched" comparisons.
CREATE FUNCTION pg_temp.snapshot() RETURNS TABLE (job_id text, row_json jsonb)
LANGUAGE sql AS $$
    SELECT job_id, to_jsonb(x) FROM jobtrack.executions AS x
    UNION ALL
    SELECT job_id, to_jsonb(x) FROM jobtrack.variations AS x
$$;

-- Twelve pending jobs p01…p12 whose created_at interleave the two kinds
-- (oldest first: v e e v e v v e, then two ties across kinds: p09 (v) and
-- p10 (e), p11 (e) and p12 (v)); and one job of every other status, each
-- older than every pending one, so that a claim taking the oldest jobs
-- whatever their status would take them first. p02 failed with a message
-- and p05 trained before they went back to pending.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "p02", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "p03", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "p05", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": 10},
  {"job_id": "p08", "pipeline_mode": "batch", "dataset_name": "d", "preset": "p"},
  {"job_id": "p10", "pipeline_mode": "single", "dataset_name": "d2", "preset": "p"},
  {"job_id": "p11", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "x-in_queue", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "in_queue"},
  {"job_id": "x-preparing", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "preparing_dataset"},
  {"job_id": "x-configuring", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "configuring_preset"},
  {"job_id": "x-ready", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "ready_for_training"},
  {"job_id": "x-training", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "training"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "p01", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 6},
  {"job_id": "p04", "variation_id": "b", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 6},
  {"job_id": "p06", "variation_id": "c", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 6},
  {"job_id": "p07", "variation_id": "d", "experiment_name": "s", "dataset_name": "d2", "preset": "p", "total_combinations": 6},
  {"job_id": "p09", "variation_id": "e", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 6},
  {"job_id": "p12", "variation_id": "f", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 6},
  {"job_id": "y-previewing", "variation_id": "g", "experiment_name": "t", "dataset_name": "d", "preset": "p", "total_combinations": 4, "status": "generating_preview"},
  {"job_id": "y-done", "variation_id": "h", "experiment_name": "t", "dataset_name": "d", "preset": "p", "total_combinations": 4, "status": "done"},
  {"job_id": "y-failed", "variation_id": "i", "experiment_name": "t", "dataset_name": "d", "preset": "p", "total_combinations": 4, "status": "failed"},
  {"job_id": "y-cancelled", "variation_id": "j", "experiment_name": "t", "dataset_name": "d", "preset": "p", "total_combinations": 4, "status": "cancelled"}]');
SELECT jobtrack.update_execution_status('p02', 'failed', 'CUDA out of memory');
SELECT jobtrack.update_execution_status('p02', 'pending');
SELECT jobtrack.update_execution_status('p05', 'training');
SELECT jobtrack.update_progress('p05', 4);
SELECT jobtrack.update_execution_status('p05', 'pending');
-- Minutes after 2024-02-01 00:00 UTC: the smaller, the older; updated_at
-- set to a value no claim can write.
UPDATE jobtrack.executions AS x
SET created_at = '2024-02-01 00:00:00+00'::timestamptz + m.minutes * interval '1 minute',
    updated_at = '2024-01-01 00:00:00+00'
FROM (VALUES ('x-in_queue', 1), ('x-preparing', 2), ('x-configuring', 3), ('x-ready', 4),
             ('x-training', 5), ('p02', 20), ('p03', 30), ('p05', 50), ('p08', 80),
             ('p10', 90), ('p11', 110)) AS m (job_id, minutes)
WHERE x.job_id = m.job_id;
UPDATE jobtrack.variations AS x
SET created_at = '2024-02-01 00:00:00+00'::timestamptz + m.minutes * interval '1 minute',
    updated_at = '2024-01-01 00:00:00+00'
FROM (VALUES ('y-previewing', 6), ('y-done', 7), ('y-failed', 8), ('y-cancelled', 9),
             ('p01', 10), ('p04', 40), ('p06', 60), ('p07', 70), ('p09', 90),
             ('p12', 110)) AS m (job_id, minutes)
WHERE x.job_id = m.job_id;
SELECT * FROM pg_temp.jobs();
CREATE TEMP TABLE others AS
SELECT * FROM pg_temp.snapshot() WHERE job_id NOT LIKE 'p%';
SELECT jobtrack.reset_transaction_metrics();

-- The result's columns are the 17 of a Job row (the jobs view): worker is
-- neither among them nor in the view.
SELECT proargnames FROM pg_proc
WHERE oid = 'jobtrack.claim_next_jobs(integer, text)'::regprocedure;
SELECT count(*) AS worker_in_jobs_view FROM pg_attribute
WHERE attrelid = 'jobtrack.jobs'::regclass AND attname = 'worker';

-- The three oldest pending jobs, across kinds, in the order claimed. Each
-- gets in_queue's effects (core's Status::InQueue.effects(): starts_clock
-- false, terminal false, success null, clears_error_message false):
-- start_time untouched (null for p01 and p03, p05's first start kept), no
-- duration, success null, p02's message kept; updated_at the claim's
-- statement time. The returned rows are the jobs view's rows.
CREATE TEMP TABLE first_claim AS
SELECT *, updated_at = statement_timestamp() AS updated_now
FROM jobtrack.claim_next_jobs(3, 'w1');
SELECT job_id, job_type, status, dataset_name, mode, experiment_name, variation_id, success,
       duration_seconds, error_message, total_steps, current_step,
       start_time IS NOT NULL AS started, created_at, updated_now
FROM first_claim;
SELECT count(*) AS same_as_jobs_view
FROM first_claim AS c JOIN jobtrack.jobs AS j
  ON (to_jsonb(c) - 'updated_now') = to_jsonb(j);
SELECT * FROM pg_temp.jobs();

-- Four more: p04 p05 p06 p07 (p05's start_time kept, its progress too).
SELECT job_id, job_type, status, success, error_message, current_step,
       start_time IS NOT NULL AS started, updated_at = statement_timestamp() AS updated_now
FROM jobtrack.claim_next_jobs(4, 'w2');

-- A claim rolled back leaves the jobs pending, no worker recorded.
BEGIN;
SELECT job_id FROM jobtrack.claim_next_jobs(2, 'rolled-back');
ROLLBACK;
SELECT job_id, status, worker FROM pg_temp.jobs() WHERE job_id IN ('p08', 'p09');

-- n larger than the pending jobs: all five left, the cross-kind ties on
-- created_at in job_id order (p09 v before p10 e, p11 e before p12 v).
SELECT job_id, job_type, status, updated_at = statement_timestamp() AS updated_now
FROM jobtrack.claim_next_jobs(100, 'w3');
-- None left: no row.
SELECT * FROM jobtrack.claim_next_jobs(100, 'w4');
SELECT * FROM pg_temp.jobs();

-- The jobs of other statuses were never touched, to the last column.
SELECT count(*) AS others, count(*) FILTER (WHERE o.row_json = s.row_json) AS unchanged
FROM others AS o LEFT JOIN pg_temp.snapshot() AS s USING (job_id);

-- The summary table and the counters are exact; the claimed jobs' summary
-- rows say in_queue.
SELECT pg_temp.summary_diff() AS summary_differences;
SELECT * FROM jobtrack.verify_statistics();
SELECT status, count(*) FROM jobtrack.job_summary_cache WHERE job_id LIKE 'p%'
GROUP BY status ORDER BY status;
SELECT jobtrack.get_statistics_optimized();

-- Bad arguments: 22023 naming the argument, nothing applied (p13 stays
-- pending without a worker).
SELECT jobtrack.batch_create_executions('[
  {"job_id": "p13", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
CREATE TEMP TABLE before_errors AS SELECT * FROM pg_temp.snapshot();
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(0, 'w')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(-1, 'w')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(10001, 'w')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(NULL, 'w')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(1, '')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(1, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(1, repeat('w', 256))$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(NULL, NULL)$$);
SELECT job_id, status, worker FROM pg_temp.jobs() WHERE job_id = 'p13';
SELECT count(*) AS jobs, count(*) FILTER (WHERE b.row_json = s.row_json) AS unchanged
FROM before_errors AS b LEFT JOIN pg_temp.snapshot() AS s USING (job_id);
SELECT * FROM jobtrack.verify_statistics();

-- The largest n and the longest worker: 255 characters, here of two bytes
-- each (the limit counts characters).
SELECT job_id, status FROM jobtrack.claim_next_jobs(10000, repeat('é', 255));
SELECT job_id, char_length(worker), octet_length(worker) FROM jobtrack.executions WHERE job_id = 'p13';

-- A job back to pending is claimed again, and the new worker replaces the
-- old; later status changes keep the worker.
SELECT jobtrack.update_variation_status('p01', 'pending');
SELECT jobtrack.update_execution_status('p02', 'training');
SELECT job_id, status FROM jobtrack.claim_next_jobs(5, 'w5');
SELECT job_id, status, worker FROM pg_temp.jobs() WHERE job_id IN ('p01', 'p02');

-- Nothing may be written in a read-only transaction: 25006, whatever the
-- arguments, and p14 stays pending.
SELECT jobtrack.batch_create_variations('[
  {"job_id": "p14", "variation_id": "k", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 6}]');
BEGIN;
SET TRANSACTION READ ONLY;
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(1, 'w')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM jobtrack.claim_next_jobs(0, '')$$);
ROLLBACK;
SELECT job_id, status, worker FROM pg_temp.jobs() WHERE job_id = 'p14';
SELECT pg_temp.summary_diff() AS summary_differences;
SELECT * FROM jobtrack.verify_statistics();

-- Every call was measured: 7 that succeeded (the rolled-back one and the
-- empty one included), 8 bad arguments and 2 read-only refusals.
SELECT m->'claim_next_jobs'->'count' AS count,
       m->'claim_next_jobs'->'success_count' AS success_count
FROM jobtrack.get_transaction_metrics() AS m;
