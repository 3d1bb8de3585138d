-- Whole jobs out and back in: import_jobs stores records of either kind
-- with every column as given (nothing stamped or derived), all or none;
-- export_jobs returns them again, every column, oldest created_at first,
-- ties on job_id, optionally from a time on; the summary table and the
-- counters follow as for any insert; bad input is refused naming element
-- and field with nothing applied; and export_jobs is inlined into the
-- caller's query, so that its rows stream from the two created indexes
-- (SELECT, COPY, cursors) without a Sort or a Function Scan. The round trip
-- through the SQLite library and the Rust client is tests/tests/pg_export.rs.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;
-- The records below spell their times as to_jsonb does in UTC.
SET TimeZone = 'UTC';

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

-- Every key of every record, in RECORD_COLUMNS order, of both kinds and
-- of states no create can produce (a failed job with its duration, worker
-- and heartbeat; a done variation with a parent). x-1 (a variation) and
-- x-2 (an execution) share their created_at, and so do e-late and
-- v-late: the ties go by job_id across the kinds. Parameters keep their
-- numbers as numeric does, text its escapes.
CREATE TEMPORARY TABLE input AS SELECT $json$[
  {"job_id": "x-2", "job_type": "execution", "status": "failed", "dataset_name": "mnist",
   "preset": "fast", "mode": "batch", "experiment_name": null, "variation_id": null,
   "success": false, "duration_seconds": 3600.25, "error_message": "CUDA out of memory\n at step 40",
   "output_path": "/models/x-2", "total_steps": 100, "current_step": 40,
   "start_time": "2026-01-01T00:00:00+00:00", "created_at": "2026-01-01T00:00:00+00:00",
   "updated_at": "2026-01-01T01:00:00.25+00:00", "last_heartbeat": "2026-01-01T00:59:59.999999+00:00",
   "end_time": "2026-01-01T01:00:00.25+00:00", "total_combinations": null,
   "varied_parameters": null, "parameter_values": null, "parent_experiment_id": null,
   "worker": "gpu-7"},
  {"job_id": "x-1", "job_type": "variation", "status": "done", "dataset_name": "mnist",
   "preset": "fast", "mode": "variations", "experiment_name": "sweep", "variation_id": "lr=0.1",
   "success": true, "duration_seconds": 1e-06, "error_message": null,
   "output_path": "/models/x-1", "total_steps": 10, "current_step": 10,
   "start_time": "2026-01-01T00:00:00+00:00", "created_at": "2026-01-01T00:00:00+00:00",
   "updated_at": "2026-01-01T00:00:00.000001+00:00", "last_heartbeat": null,
   "end_time": "2026-01-01T00:00:00.000001+00:00", "total_combinations": 12,
   "varied_parameters": {"lr": [0.1, 0.01, 1e-7], "layers": {"n": [2, 4]}},
   "parameter_values": {"lr": 0.1, "seed": 123456789012345678901234567890, "note": "tab\tquote\"comma,"},
   "parent_experiment_id": "parent-1", "worker": "cpu-1"},
  {"job_id": "v-late", "job_type": "variation", "status": "pending", "dataset_name": "cifar",
   "preset": "slow", "mode": "variations", "experiment_name": "grid", "variation_id": "a",
   "success": null, "duration_seconds": null, "error_message": null, "output_path": null,
   "total_steps": null, "current_step": null, "start_time": null,
   "created_at": "2026-03-01T12:00:00+00:00", "updated_at": "2026-03-01T12:00:00+00:00",
   "last_heartbeat": null, "end_time": null, "total_combinations": 1,
   "varied_parameters": {}, "parameter_values": {}, "parent_experiment_id": null, "worker": null},
  {"job_id": "e-late", "job_type": "execution", "status": "training", "dataset_name": "cifar",
   "preset": "slow", "mode": "single", "experiment_name": null, "variation_id": null,
   "success": null, "duration_seconds": null, "error_message": null, "output_path": null,
   "total_steps": 5, "current_step": 2, "start_time": "2026-03-01T12:00:01+00:00",
   "created_at": "2026-03-01T12:00:00+00:00", "updated_at": "2026-03-01T12:05:00+00:00",
   "last_heartbeat": "2026-03-01T12:04:00+00:00", "end_time": null, "total_combinations": null,
   "varied_parameters": null, "parameter_values": null, "parent_experiment_id": null,
   "worker": "gpu-1"},
  {"job_id": "e-first", "job_type": "execution", "status": "cancelled", "dataset_name": "mnist",
   "preset": "fast", "mode": "variations", "experiment_name": null, "variation_id": null,
   "success": null, "duration_seconds": -1.5, "error_message": "stopped by hand",
   "output_path": null, "total_steps": 0, "current_step": 0,
   "start_time": "0001-01-01T00:00:00+00:00", "created_at": "2025-12-31T23:59:59.999999+00:00",
   "updated_at": "9999-12-31T23:59:59.999999+00:00", "last_heartbeat": null,
   "end_time": "2026-01-01T00:00:00+00:00", "total_combinations": null,
   "varied_parameters": null, "parameter_values": null, "parent_experiment_id": null,
   "worker": null}
]$json$::jsonb AS jobs;

SELECT jobtrack.import_jobs(jobs) FROM input;

-- The export equals the input, record for record (as jsonb: every key,
-- every value), in the export's order.
SELECT count(*) AS records, count(*) FILTER (WHERE i.record = to_jsonb(x)) AS equal
FROM jobtrack.export_jobs() AS x
FULL JOIN (SELECT e.record FROM input, jsonb_array_elements(input.jobs) AS e(record)) AS i
     ON i.record->>'job_id' = x.job_id;
SELECT (SELECT jsonb_agg(to_jsonb(x)) FROM jobtrack.export_jobs() AS x)
       = (SELECT jsonb_agg(e.record ORDER BY (e.record->>'created_at')::timestamptz,
                                             e.record->>'job_id' COLLATE "C")
          FROM input, jsonb_array_elements(input.jobs) AS e(record)) AS export_equals_input;
-- The order: created_at, then job_id (x-1 before x-2, e-late before
-- v-late), whatever the kind.
SELECT ordinality, job_id, job_type, mode, created_at
FROM jobtrack.export_jobs() WITH ORDINALITY
ORDER BY ordinality;

-- since: the jobs created at or after it (the bound included); NULL,
-- -infinity or a time before every job: all; after every job or infinity:
-- none.
SELECT job_id FROM jobtrack.export_jobs('2026-01-01 00:00:00+00');
SELECT job_id FROM jobtrack.export_jobs('2026-01-01 00:00:00.000001+00');
SELECT job_id FROM jobtrack.export_jobs(since => '2026-03-01 12:00:00+00');
SELECT count(*) FROM jobtrack.export_jobs(NULL);
SELECT count(*) FROM jobtrack.export_jobs('-infinity');
SELECT count(*) FROM jobtrack.export_jobs('0001-01-01 00:00:00+00');
SELECT count(*) FROM jobtrack.export_jobs('2026-03-01 12:00:00.000001+00');
SELECT count(*) FROM jobtrack.export_jobs('infinity');

-- The rows stream to COPY; CSV with its header (RECORD_COLUMNS), times
-- as the session's DateStyle writes them.
SET DateStyle = ISO;
COPY (SELECT * FROM jobtrack.export_jobs()) TO STDOUT WITH (FORMAT csv, HEADER);
COPY (SELECT * FROM jobtrack.export_jobs('2026-03-01 12:00:00+00')) TO STDOUT;
RESET DateStyle;

-- A record may leave out what it does not have: nulls, and {} for the
-- parameters of a variation.
SELECT jobtrack.import_jobs('[
  {"job_id": "m-e", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"},
  {"job_id": "m-v", "job_type": "variation", "status": "in_queue", "dataset_name": "d",
   "preset": "p", "mode": "variations", "experiment_name": "s", "variation_id": "v",
   "total_combinations": 3, "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]');
SELECT * FROM jobtrack.export_jobs('2026-06-01 00:00:00+00');
-- An empty array imports nothing; NULL is NULL (STRICT).
SELECT jobtrack.import_jobs('[]');
SELECT jobtrack.import_jobs(NULL) IS NULL AS null_in_null_out;

-- The summary table and the counters hold the imported jobs exactly, with
-- the statuses, successes and durations the records gave.
SELECT * FROM jobtrack.verify_statistics();
SELECT count(*) AS mismatches
FROM (SELECT job_id, 'execution' AS job_type, status, dataset_name, preset, start_time,
             duration_seconds, success, updated_at
      FROM jobtrack.executions
      UNION ALL
      SELECT job_id, 'variation', status, dataset_name, preset, start_time,
             duration_seconds, success, updated_at
      FROM jobtrack.variations
      EXCEPT
      SELECT job_id, job_type, status, dataset_name, preset, start_time,
             duration_seconds, success, last_updated
      FROM jobtrack.job_summary_cache) AS d;
SELECT jobtrack.get_statistics_optimized();
SELECT jobtrack.get_dataset_stats_optimized('mnist');

-- Errors: nothing of the call is applied (the jobs stay 7).
CREATE FUNCTION pg_temp.jobs() RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM jobtrack.executions) + (SELECT count(*) FROM jobtrack.variations)
$$;
-- An id a job of either kind has (23505, naming it; n-1 is not imported),
-- or one given twice.
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"},
  {"job_id": "x-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"},
  {"job_id": "n-1", "job_type": "variation", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "variations", "experiment_name": "s", "variation_id": "v",
   "total_combinations": 1, "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
-- A bad element: 22023 naming the element (0-based) and the field.
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"},
  {"job_id": "n-2", "job_type": "execution", "status": "finished", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "job", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "updated_at": "2026-06-01T00:00:00Z"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "yesterday",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z", "duration_seconds": 1e13}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z", "colour": "red"}]')$$);
-- An execution with a variation's column; a variation whose mode is not
-- variations.
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z", "total_combinations": 2}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "variation", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "single", "experiment_name": "s", "variation_id": "v",
   "total_combinations": 1, "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "variation", "status": "pending", "dataset_name": "d",
   "preset": "p", "mode": "variations", "experiment_name": "s",
   "total_combinations": 1, "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
-- A time in the year 10000, as PostgreSQL and as jobtrack write it: no
-- stored job has one (the schema's CHECKs say the years 1 to 9999).
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "done", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "2026-06-01T00:00:00Z",
   "updated_at": "2026-06-01T00:00:00Z", "end_time": "10000-01-01T00:00:00+00:00"}]')$$);
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[
  {"job_id": "n-1", "job_type": "execution", "status": "done", "dataset_name": "d",
   "preset": "p", "mode": "single", "created_at": "+10000-01-01T00:00:00.000000Z",
   "updated_at": "2026-06-01T00:00:00Z"}]')$$);
-- Not an array.
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('{"job_id": "n-1"}')$$);
SELECT pg_temp.jobs() AS jobs;
SELECT * FROM jobtrack.verify_statistics();

-- A read-only transaction refuses the import before reading it (25006),
-- and exports.
BEGIN READ ONLY;
SELECT * FROM pg_temp.try($$SELECT jobtrack.import_jobs('[]')$$);
SELECT count(*) FROM jobtrack.export_jobs();
COMMIT;

-- The plan: export_jobs is inlined (no Function Scan), and its rows come
-- from a Merge Append of executions_created_idx and variations_created_idx
-- read backward, already in (created_at, job_id) order (no Sort) — with a
-- constant since as the index condition, without it unfiltered, and with
-- since a parameter (a prepared statement's generic plan, a cursor) as a
-- filter. With a few rows a sequential scan and a sort cost about the
-- same; sequential scans are disabled so that the plan shows, stably, the
-- path the planner takes for a table of any size.
SELECT jobtrack.import_jobs(
    (SELECT jsonb_agg(jsonb_build_object(
                'job_id', 'g' || g, 'job_type', 'execution', 'status', 'done',
                'dataset_name', 'bulk', 'preset', 'p', 'mode', 'single',
                'created_at', '2026-07-01T00:00:00Z'::timestamptz + g * interval '1 second',
                'updated_at', '2026-07-01T00:00:00Z'::timestamptz + g * interval '1 second'))
     FROM generate_series(1, 2000) AS g));
VACUUM ANALYZE jobtrack.executions, jobtrack.variations;
SET enable_seqscan = off;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
EXPLAIN (COSTS OFF) SELECT * FROM jobtrack.export_jobs();
EXPLAIN (COSTS OFF) SELECT * FROM jobtrack.export_jobs('2026-03-01 00:00:00+00');
PREPARE export_since(timestamptz) AS SELECT * FROM jobtrack.export_jobs($1);
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE export_since('2026-03-01 00:00:00+00');
RESET plan_cache_mode;
RESET enable_seqscan;
RESET max_parallel_workers_per_gather;
RESET jit;
-- The function as declared: LANGUAGE sql, STABLE, not STRICT, not
-- SECURITY DEFINER, no SET clause — what inlining requires.
SELECT p.proname, l.lanname, p.provolatile, p.proisstrict, p.prosecdef, p.proconfig,
       p.proretset
FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
WHERE p.oid = 'jobtrack.export_jobs(timestamptz)'::regprocedure;

-- The body is parsed in the caller's search_path, but names only
-- schema-qualified objects: an operator >= on timestamptz that says yes to
-- everything, in a schema searched before pg_catalog, changes nothing in
-- it (an unqualified >= there would return all 2007 jobs), while the
-- caller's own >= is that operator (the second count: none is created at
-- or after infinity).
CREATE SCHEMA evil;
CREATE FUNCTION evil.always(timestamptz, timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR evil.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, PROCEDURE = evil.always);
SET search_path = evil, pg_catalog, public;
SELECT count(*) FROM jobtrack.export_jobs('2026-03-01 12:00:00+00');
SELECT count(*) FROM jobtrack.export_jobs('2026-03-01 12:00:00+00') WHERE created_at >= 'infinity';
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA evil CASCADE;
RESET client_min_messages;
