-- Errors: every bad argument is 22023 naming it (element and field inside a
-- batch), a write where nothing may be written is 25006, an oversized batch
-- 54000, and an ERROR raised by PostgreSQL under a function keeps its code,
-- message and detail. The server runs with RUST_BACKTRACE=1 in its
-- environment (with-cluster.sh): no DETAIL below may carry a Rust backtrace.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

-- Runs a statement and shows how it failed (SQLSTATE, message, detail,
-- hint), or 'ok'. A subtransaction: allowed in a read-only transaction too.
CREATE FUNCTION pg_temp.try(statement text)
RETURNS TABLE (code text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
DECLARE
    c text;
    m text;
    d text;
    h text;
BEGIN
    EXECUTE statement;
    RETURN QUERY SELECT 'ok', NULL::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS c = RETURNED_SQLSTATE, m = MESSAGE_TEXT,
                            d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN QUERY SELECT c, m, nullif(d, ''), nullif(h, '');
END
$$;

-- A batch of n executions named e<i>, with `extra` merged into element k.
CREATE FUNCTION pg_temp.executions(n integer, k integer, extra text) RETURNS text
LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('job_id', 'e' || i, 'pipeline_mode', 'single',
                                        'dataset_name', 'd', 'preset', 'p')
                     || CASE WHEN i = k THEN extra::jsonb ELSE '{}' END ORDER BY i)::text
    FROM generate_series(0, n - 1) AS i
$$;

-- A JSON value nested `levels` arrays deep.
CREATE FUNCTION pg_temp.nested(levels integer) RETURNS text LANGUAGE sql AS $$
    SELECT repeat('[', levels) || '1' || repeat(']', levels)
$$;

\x on

-- Numbers that are not an integer of the field's range, read from their
-- digits: 1e400 (not an f64), a fraction, a fraction too small for f64.
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_create_executions(%L)',
    pg_temp.executions(5, 3, '{"total_steps": 1e400}')));
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_create_executions(%L)',
    pg_temp.executions(5, 3, '{"total_steps": 2147483647.0000000001}')));
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_create_executions(%L)',
    pg_temp.executions(2, 1, '{"total_steps": -1e-400}')));
SELECT * FROM pg_temp.try($$SELECT jobtrack.create_variation('{"job_id": "v", "variation_id": "a",
    "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 1e10}')$$);
-- An integral value written as a decimal or with an exponent is that integer.
SELECT jobtrack.create_execution(
    '{"job_id": "i1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": 1.0e3}')->'total_steps' AS total_steps;

-- Nesting: a field's value may nest 64 levels, in every write function.
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_create_executions(%L)',
    pg_temp.executions(5, 3, '{"total_steps": ' || pg_temp.nested(65) || '}')));
SELECT * FROM pg_temp.try(format($$SELECT jobtrack.batch_create_variations('[{}, {}, {}, {"job_id": "v",
    "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p",
    "total_combinations": 1, "parameter_values": {"a": %s}}]')$$, pg_temp.nested(64)));
SELECT * FROM pg_temp.try(format($$SELECT jobtrack.create_variation('{"job_id": "v", "variation_id": "a",
    "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 1,
    "varied_parameters": {"a": %s}}')$$, pg_temp.nested(1000)));
SELECT * FROM pg_temp.try(format($$SELECT jobtrack.create_execution('{"job_id": %s}')$$,
    pg_temp.nested(100)));
SELECT * FROM pg_temp.try(format($$SELECT jobtrack.batch_update_variation_status('[{"job_id": "v",
    "status": "done"}, {"job_id": "w", "status": "done", "error_message": %s}]')$$,
    pg_temp.nested(200)));
-- An element that is not an object: refused by type while a parser can
-- read it, for its depth beyond that.
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_update_execution_status(%L)',
    '[{"job_id": "e0", "status": "done"}, ' || pg_temp.nested(120) || ']'));
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_update_execution_status(%L)',
    '[{"job_id": "e0", "status": "done"}, ' || pg_temp.nested(5000) || ']'));
-- As deep as allowed: accepted.
SELECT jobtrack.create_variation(format($$ {"job_id": "v-deep", "variation_id": "a",
    "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 1,
    "parameter_values": {"a": %s}} $$, pg_temp.nested(63))::jsonb)->>'job_id' AS job_id;

-- Out-of-range arguments, each named.
SELECT * FROM pg_temp.try('SELECT jobtrack.get_all_jobs_optimized(-1)');
SELECT * FROM pg_temp.try('SELECT jobtrack.get_all_jobs_optimized(10001)');
SELECT * FROM pg_temp.try('SELECT jobtrack.get_recent_jobs_optimized(-1)');
SELECT * FROM pg_temp.try('SELECT jobtrack.get_recent_jobs_cached(2147483647)');
SELECT * FROM pg_temp.try('SELECT jobtrack.cleanup_old_jobs(-2147483648)');
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_progress('i1', -1)$$);
SELECT * FROM pg_temp.try(format('SELECT jobtrack.update_execution_status(%L, %L)',
    repeat('x', 65), 'done'));
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_variation_status('v', 'finished')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_variation_status(NULL, 'done')$$);

-- Every valid `days` works; one beyond what timestamps can represent
-- deletes nothing, however old the jobs.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "old", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"}]');
UPDATE jobtrack.executions SET created_at = '0001-01-02 00:00:00+00' WHERE job_id = 'old';
SELECT jobtrack.cleanup_old_jobs(2147483647, false) AS all_days;
SELECT jobtrack.cleanup_old_jobs(3000000, false) AS before_4713_bc;
SELECT jobtrack.cleanup_old_jobs(800000, false) AS cutoff_before_year_1;
SELECT jobtrack.cleanup_old_jobs(700000, false) AS cutoff_after_year_1;

-- Nothing may be written in a read-only transaction: 25006 naming the
-- function, before the input is even looked at.
BEGIN READ ONLY;
SELECT * FROM pg_temp.try($$SELECT jobtrack.create_execution('{}')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.create_variation('{}')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.batch_create_executions('[1]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.batch_create_variations('[1]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.batch_update_execution_status('[1]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.batch_update_variation_status('[1]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_execution_status('i1', 'done')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_variation_status('v', 'nope')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_progress('i1', -1)$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.cleanup_old_jobs(-1)$$);
-- Reads work.
SELECT count(*) FROM jobtrack.get_all_jobs_optimized();
ROLLBACK;
SET default_transaction_read_only = on;
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_progress('i1', 5)$$);
RESET default_transaction_read_only;
SELECT jobtrack.update_progress('i1', 5);

-- The largest batch is 1,000,000 elements: one more is 54000, refused from
-- the jsonb's header before its text is made.
SELECT * FROM pg_temp.try(format('SELECT jobtrack.batch_update_execution_status(%L)',
    (SELECT jsonb_agg(1) FROM generate_series(1, 1000001))));

-- An ERROR of PostgreSQL under a function (here a trigger's) comes out with
-- its own code, message and detail, and no backtrace; the failed call is
-- counted.
SELECT jobtrack.reset_transaction_metrics();
CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused by a trigger' USING ERRCODE = 'check_violation',
        DETAIL = 'The trigger''s own detail.', HINT = 'The trigger''s own hint.';
END
$$;
CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON jobtrack.executions
    FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse();
SELECT * FROM pg_temp.try($$SELECT jobtrack.create_execution('{"job_id": "t1",
    "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.update_execution_status('i1', 'done')$$);
DROP TRIGGER refuse ON jobtrack.executions;
SELECT m->'create_execution'->'count' AS create_count,
       m->'create_execution'->'success_count' AS create_successes
FROM jobtrack.get_transaction_metrics() AS m;

\x off
