-- Heartbeats and stale jobs: heartbeat(job_id) sets last_heartbeat of an
-- active job and nothing else (updated_at, the summary table and the
-- counters stay); update_progress records one too; get_stale_jobs lists the
-- jobs in an active status but pending whose last sign of life (the later
-- of last_heartbeat and updated_at) is older than stale_after, longest
-- silent first; fail_stale_jobs fails exactly those, with the effects of a
-- status update to failed and a message naming the last sign of life; bad
-- arguments are 22023 naming them, with nothing applied. Heartbeats racing
-- fail_stale_jobs in several sessions are tested in tests/tests/pg_stale.rs.
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

-- Every job as the base tables have it, times relative to the test's start
-- as booleans: "heartbeat" whether one was recorded since, "updated"
-- whether updated_at moved from the setup's value.
CREATE FUNCTION pg_temp.jobs()
RETURNS TABLE (job_id text, status text, heartbeat boolean, updated boolean,
               ended boolean, success boolean, error_message text)
LANGUAGE sql AS $$
    SELECT job_id, status, last_heartbeat > '2024-06-01 00:00:00+00', updated_at > '2024-06-01 00:00:00+00',
           end_time IS NOT NULL, success, error_message
    FROM (SELECT job_id, status, last_heartbeat, updated_at, end_time, success, error_message
          FROM jobtrack.executions
          UNION ALL
          SELECT job_id, status, last_heartbeat, updated_at, end_time, success, error_message
          FROM jobtrack.variations) AS j
    ORDER BY job_id
$$;

-- One job of every status, all last changed on 2024-01-01 (long stale), and
-- one training job changed now (live).
SELECT jobtrack.batch_create_executions(
    '[{"job_id":"e-pending","pipeline_mode":"single","dataset_name":"d","preset":"p"},
      {"job_id":"e-queued","pipeline_mode":"single","dataset_name":"d","preset":"p","status":"in_queue"},
      {"job_id":"e-training","pipeline_mode":"single","dataset_name":"d","preset":"p","status":"training"},
      {"job_id":"e-preview","pipeline_mode":"single","dataset_name":"d","preset":"p","status":"generating_preview"},
      {"job_id":"e-done","pipeline_mode":"single","dataset_name":"d","preset":"p","status":"done"},
      {"job_id":"e-live","pipeline_mode":"single","dataset_name":"d","preset":"p","status":"training"}]');
SELECT jobtrack.batch_create_variations(
    '[{"job_id":"v-ready","variation_id":"a","experiment_name":"x","dataset_name":"d","preset":"p","total_combinations":2,"status":"ready_for_training"},
      {"job_id":"v-failed","variation_id":"b","experiment_name":"x","dataset_name":"d","preset":"p","total_combinations":2,"status":"failed"}]');
UPDATE jobtrack.executions SET updated_at = '2024-01-01 00:00:00+00', start_time = '2024-01-01 00:00:00+00'
WHERE job_id <> 'e-live';
UPDATE jobtrack.variations SET updated_at = '2024-01-01 00:00:00+00', start_time = '2024-01-01 00:00:00+00';
SELECT * FROM pg_temp.jobs();

-- Stale: every job in an active status but pending, older than the cut-off.
SELECT job_id, job_type, status, last_heartbeat FROM jobtrack.get_stale_jobs();
SELECT job_id FROM jobtrack.get_stale_jobs('1 hour');
-- A cut-off before the year 1 finds nothing to be stale.
SELECT count(*) FROM jobtrack.get_stale_jobs('100000 days');

-- A heartbeat: only last_heartbeat changes, and the job is live again.
SELECT jobtrack.heartbeat('e-queued'), jobtrack.heartbeat('v-ready');
SELECT * FROM pg_temp.jobs() WHERE job_id IN ('e-queued', 'v-ready');
SELECT job_id FROM jobtrack.get_stale_jobs();
-- The Job rows and the running jobs show it.
SELECT job_id, last_heartbeat > '2024-06-01 00:00:00+00' AS live
FROM jobtrack.get_all_jobs_optimized(100) WHERE job_id IN ('e-queued', 'e-training');
SELECT job_id, last_heartbeat > '2024-06-01 00:00:00+00' AS live
FROM jobtrack.get_running_jobs() WHERE job_id IN ('e-queued', 'v-ready', 'e-training');
-- Summary and counters untouched by it.
SELECT count(*) AS summary_rows_changed FROM jobtrack.job_summary_cache
WHERE last_updated > '2024-06-01 00:00:00+00' AND job_id <> 'e-live';
SELECT * FROM jobtrack.verify_statistics();
-- A pending job takes a heartbeat (it is active) but is never stale; a
-- finished or unknown job takes none.
SELECT jobtrack.heartbeat('e-pending') AS pending, jobtrack.heartbeat('e-done') AS done,
       jobtrack.heartbeat('v-failed') AS failed, jobtrack.heartbeat('nobody') AS unknown;
-- update_progress records a heartbeat.
SELECT jobtrack.update_progress('e-preview', 3);
SELECT * FROM pg_temp.jobs() WHERE job_id = 'e-preview';
SELECT job_id FROM jobtrack.get_stale_jobs();

-- The heartbeat of a job that is long past the cut-off again: the later of
-- last_heartbeat and updated_at counts.
UPDATE jobtrack.executions SET last_heartbeat = '2024-01-01 00:00:00+00', updated_at = now()
WHERE job_id = 'e-queued';
SELECT job_id FROM jobtrack.get_stale_jobs() WHERE job_id = 'e-queued';
UPDATE jobtrack.executions SET updated_at = '2024-01-01 00:00:00+00' WHERE job_id = 'e-queued';

-- Bad arguments: 22023 naming them, nothing applied.
SELECT * FROM pg_temp.try($$SELECT jobtrack.get_stale_jobs('0 seconds')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.get_stale_jobs('-15 minutes')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.get_stale_jobs(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.fail_stale_jobs(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.fail_stale_jobs('1000000 days')$$);
-- heartbeat is STRICT, as update_progress: NULL for a NULL id.
SELECT jobtrack.heartbeat(NULL) IS NULL AS is_null;
SELECT count(*) AS failed FROM jobtrack.executions WHERE status = 'failed';

-- Months count 30 days, as EXTRACT(EPOCH …) counts them.
SELECT count(*) FROM jobtrack.get_stale_jobs('1 month');

-- fail_stale_jobs: the stale jobs fail, with the effects of a status update
-- to failed and the default message; the rest stay as they were.
SELECT jobtrack.fail_stale_jobs('15 minutes');
SELECT * FROM pg_temp.jobs();
SELECT * FROM jobtrack.verify_statistics();
SELECT status, count(*) FROM jobtrack.job_summary_cache GROUP BY status ORDER BY status;
-- Nothing left to fail; a given message is recorded as given.
SELECT jobtrack.fail_stale_jobs('15 minutes');
UPDATE jobtrack.executions SET last_heartbeat = NULL, updated_at = '2024-01-01 00:00:00+00'
WHERE job_id = 'e-live';
SELECT jobtrack.fail_stale_jobs('1 hour', 'worker lost');
SELECT job_id, status, error_message FROM jobtrack.executions WHERE job_id = 'e-live';

-- Inside a transaction that rolls back, nothing stays.
BEGIN;
UPDATE jobtrack.executions
SET status = 'training', updated_at = '2024-01-01 00:00:00+00', last_heartbeat = NULL
WHERE job_id = 'e-pending';
SELECT jobtrack.fail_stale_jobs('1 minute');
SELECT job_id, status FROM jobtrack.executions WHERE job_id = 'e-pending';
ROLLBACK;
SELECT job_id, status FROM jobtrack.executions WHERE job_id = 'e-pending';

-- The metrics count the calls of both writes.
SELECT key, value->>'count' AS calls, value->>'success_count' AS succeeded
FROM jsonb_each(jobtrack.get_transaction_metrics())
WHERE key IN ('heartbeat', 'fail_stale_jobs') ORDER BY key;

DROP EXTENSION jobtrack;
