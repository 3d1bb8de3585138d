-- The statistics counters job_counters: kept exact by the summary triggers
-- under jobtrack's functions and plain SQL alike (rollbacks, savepoints,
-- renames, TRUNCATE, session_replication_role = replica included), as
-- insert-only delta rows summed by the readers and folded by the writers,
-- checked by verify_statistics() and rebuilt by refresh_job_cache().
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

-- The counters summed per key, as the readers see them (a key whose rows
-- add up to nothing has no jobs).
CREATE FUNCTION pg_temp.counters() RETURNS TABLE (
    job_type text, dataset_name text, status text, jobs numeric, successful numeric,
    failed numeric, duration_count numeric, duration_micros_sum numeric)
LANGUAGE sql AS $$
    SELECT job_type, dataset_name, status, sum(jobs), sum(successful), sum(failed),
           sum(duration_count), sum(duration_micros_sum)
    FROM jobtrack.job_counters
    GROUP BY 1, 2, 3
    HAVING (sum(jobs), sum(successful), sum(failed), sum(duration_count),
            sum(duration_micros_sum)) <> (0, 0, 0, 0, 0)
    ORDER BY 1, 2, 3
$$;

SELECT count(*) AS differences FROM jobtrack.verify_statistics();

SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "p"},
  {"job_id": "e2", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "p", "status": "training"},
  {"job_id": "e3", "pipeline_mode": "batch", "dataset_name": "cifar", "preset": "p"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "v1", "variation_id": "a", "experiment_name": "s", "dataset_name": "mnist", "preset": "p", "total_combinations": 2},
  {"job_id": "v2", "variation_id": "b", "experiment_name": "s", "dataset_name": "mnist", "preset": "p", "total_combinations": 2, "status": "failed"}]');
-- (e2 stays active, so that no duration depends on the clock.)
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": "generating_preview"}, {"job_id": "e1", "status": "failed"}]');
SELECT * FROM pg_temp.counters();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();

-- Plain SQL: durations in whole microseconds (rounded once), a dataset
-- moved, a job renamed, a job deleted.
UPDATE jobtrack.executions SET status = 'done', success = true, duration_seconds = 1.0000004
WHERE job_id = 'e1';
UPDATE jobtrack.executions SET status = 'done', duration_seconds = 2.5, success = true
WHERE job_id = 'e2';
UPDATE jobtrack.variations SET dataset_name = 'cifar' WHERE job_id = 'v1';
UPDATE jobtrack.executions SET job_id = 'e3-renamed' WHERE job_id = 'e3';
DELETE FROM jobtrack.variations WHERE job_id = 'v2';
SELECT * FROM pg_temp.counters();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
SELECT jobtrack.get_statistics_optimized();
SELECT s - 'first_run' - 'last_run' AS mnist,
       s->>'first_run' = s->>'last_run' AS one_start,
       (s->>'first_run')::timestamptz = (SELECT start_time FROM jobtrack.executions WHERE job_id = 'e2')
           AS first_run_is_e2
FROM jobtrack.get_dataset_stats_optimized('mnist') AS s;
SELECT jobtrack.get_dataset_stats_optimized('unknown');

-- A key whose jobs are all gone is in no statistics: its rows add up to
-- zero (until a fold removes them).
SELECT sum(jobs) AS mnist_variation_jobs, count(*) > 0 AS rows_left_to_fold
FROM jobtrack.job_counters
WHERE dataset_name = 'mnist' AND job_type = 'variation';

-- An update that changes no counted column writes no counter row.
CREATE TEMP TABLE versions AS
SELECT ctid AS row_ctid, xmin::text AS row_xmin FROM jobtrack.job_counters;
SELECT jobtrack.update_progress('e1', 5);
UPDATE jobtrack.executions SET output_path = '/out', updated_at = now();
SELECT count(*) AS counter_rows_rewritten
FROM jobtrack.job_counters AS c
WHERE NOT EXISTS (SELECT FROM versions AS v
                  WHERE v.row_ctid = c.ctid AND v.row_xmin = c.xmin::text);

-- Rolled-back transactions and savepoints take their counter changes back.
BEGIN;
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset)
VALUES ('tx1', 'single', 'mnist', 'p');
SAVEPOINT s;
DELETE FROM jobtrack.executions;
SELECT count(*) AS execution_keys_inside FROM pg_temp.counters() WHERE job_type = 'execution';
ROLLBACK TO SAVEPOINT s;
UPDATE jobtrack.executions SET status = 'cancelled' WHERE job_id = 'tx1';
SELECT * FROM pg_temp.counters();
ROLLBACK;
SELECT * FROM pg_temp.counters();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();

-- Readers sum a key over its rows: the same counts spread over more rows
-- are no difference, and give the same statistics.
SELECT jobtrack.get_statistics_optimized() AS before_split \gset
INSERT INTO jobtrack.job_counters (dataset_name, job_type, status, jobs, successful,
                                   failed, duration_count, duration_micros_sum)
VALUES ('mnist', 'execution', 'done', -1, -1, 0, -1, -1000000),
       ('mnist', 'execution', 'done', 1, 1, 0, 1, 1000000);
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
SELECT jobtrack.get_statistics_optimized() = :'before_split'::jsonb AS same_statistics;

-- One statement per job, as a busy dashboard's writers do: each adds a
-- delta row, and the writers fold a key once it has more than 8, so the
-- statistics never read more than a handful of rows per key.
SELECT jobtrack.create_execution(jsonb_build_object(
           'job_id', 'f' || g, 'pipeline_mode', 'single', 'dataset_name', 'fold', 'preset', 'p'))
           IS NOT NULL AS created
FROM generate_series(1, 30) AS g \g /dev/null
SELECT count(*) <= 9 AS folded, sum(jobs) AS jobs FROM jobtrack.job_counters
WHERE dataset_name = 'fold';
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
DELETE FROM jobtrack.executions WHERE dataset_name = 'fold';

-- Damaged counters are reported, one row per key, sorted; a missing row
-- counts as zeros.
UPDATE jobtrack.job_counters SET jobs = jobs + 2, duration_micros_sum = duration_micros_sum + 7
WHERE dataset_name = 'cifar' AND job_type = 'variation';
DELETE FROM jobtrack.job_counters WHERE dataset_name = 'cifar' AND job_type = 'execution';
INSERT INTO jobtrack.job_counters (dataset_name, job_type, status, jobs, successful, failed,
                                   duration_count, duration_micros_sum)
VALUES ('ghost', 'execution', 'done', 1, 1, 0, 0, 0);
SELECT * FROM jobtrack.verify_statistics();
-- Writes go on with damaged counters (nothing refuses a negative or stray
-- row); refresh_job_cache() rebuilds them, one row per key.
SELECT jobtrack.update_execution_status('e3-renamed', 'training');
SELECT jobtrack.refresh_job_cache();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
SELECT count(*) = count(DISTINCT (dataset_name, job_type, status)) AS one_row_per_key
FROM jobtrack.job_counters;
SELECT * FROM pg_temp.counters();

-- Under session_replication_role = replica (what logical replication apply
-- runs with) the statement-level triggers do not fire; the row-level
-- trigger enabled REPLICA keeps the summary and the counters instead.
SET session_replication_role = replica;
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, status)
VALUES ('r1', 'single', 'replica', 'p', 'training'), ('r2', 'single', 'replica', 'p', 'pending');
UPDATE jobtrack.executions SET status = 'done', success = true, duration_seconds = 3
WHERE job_id = 'r1';
UPDATE jobtrack.executions SET current_step = 1 WHERE job_id = 'r2';
DELETE FROM jobtrack.executions WHERE job_id = 'r2';
-- job_id stays unique across both kinds there too.
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                 total_combinations)
VALUES ('r1', 'a', 's', 'replica', 'p', 1);
RESET session_replication_role;
SELECT * FROM pg_temp.counters() WHERE dataset_name = 'replica';
SELECT job_id, job_type, status, duration_seconds FROM jobtrack.job_summary_cache
WHERE dataset_name = 'replica';
SELECT count(*) AS differences FROM jobtrack.verify_statistics();

-- TRUNCATE drops the truncated kind's counters only.
TRUNCATE jobtrack.variations;
SELECT * FROM pg_temp.counters();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
TRUNCATE jobtrack.executions, jobtrack.variations;
SELECT count(*) AS counter_rows FROM jobtrack.job_counters;

-- Durations beyond ±1e12 s, NaN and infinity are refused: the counters sum
-- durations as whole microseconds in a bigint.
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, duration_seconds)
VALUES ('huge', 'single', 'd', 'p', 1e13);
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, duration_seconds)
VALUES ('nan', 'single', 'd', 'p', 'NaN');
SELECT count(*) AS counter_rows FROM jobtrack.job_counters;

-- Timestamps outside the years 1..9999 (UTC), which no reader could return,
-- are refused too.
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, created_at)
VALUES ('y10k', 'single', 'd', 'p', '10000-01-01 00:00:00+00');
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, start_time)
VALUES ('bc', 'single', 'd', 'p', '0001-12-31 23:00:00+00 BC');
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                 total_combinations, updated_at)
VALUES ('inf', 'a', 's', 'd', 'p', 1, 'infinity');
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, start_time, end_time)
VALUES ('edges', 'single', 'd', 'p', '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00');
SELECT job_id, start_time AT TIME ZONE 'UTC' AS start_utc FROM jobtrack.get_recent_jobs_optimized(1);
