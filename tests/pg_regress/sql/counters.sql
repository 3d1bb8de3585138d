-- The statistics counters job_counters: kept exact by the summary triggers
-- under jobtrack's functions and plain SQL alike (rollbacks, savepoints,
-- renames, TRUNCATE included), summed over shards by the readers, checked by
-- verify_statistics() and rebuilt by refresh_job_cache().
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

-- The counters summed over shards, as the readers see them.
CREATE FUNCTION pg_temp.counters() RETURNS TABLE (
    job_type text, dataset_name text, status text, jobs numeric, successful numeric,
    failed numeric, duration_count numeric, duration_micros_sum numeric)
LANGUAGE sql AS $$
    SELECT job_type, dataset_name, status, sum(jobs), sum(successful), sum(failed),
           sum(duration_count), sum(duration_micros_sum)
    FROM jobtrack.job_counters
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
$$;

SELECT jobtrack.counter_shard() BETWEEN 0 AND 15 AS shard_in_range;
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

-- A key whose jobs are all gone leaves no counter row behind.
SELECT count(*) AS mnist_variation_rows FROM jobtrack.job_counters
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
SELECT count(*) AS execution_rows_inside FROM jobtrack.job_counters WHERE job_type = 'execution';
ROLLBACK TO SAVEPOINT s;
UPDATE jobtrack.executions SET status = 'cancelled' WHERE job_id = 'tx1';
SELECT * FROM pg_temp.counters();
ROLLBACK;
SELECT * FROM pg_temp.counters();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();

-- Readers sum a key over its shards: the same counts spread over two
-- shard rows are no difference, and give the same statistics.
SELECT jobtrack.get_statistics_optimized() AS before_split \gset
UPDATE jobtrack.job_counters SET jobs = jobs - 1, successful = successful - 1,
       duration_count = duration_count - 1, duration_micros_sum = duration_micros_sum - 1000000
WHERE dataset_name = 'mnist' AND job_type = 'execution' AND status = 'done';
INSERT INTO jobtrack.job_counters (dataset_name, job_type, status, shard, jobs, successful,
                                   failed, duration_count, duration_micros_sum)
VALUES ('mnist', 'execution', 'done', 15, 1, 1, 0, 1, 1000000)
ON CONFLICT (dataset_name, job_type, status, shard) DO UPDATE
SET jobs = job_counters.jobs + 1, successful = job_counters.successful + 1,
    duration_count = job_counters.duration_count + 1,
    duration_micros_sum = job_counters.duration_micros_sum + 1000000;
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
SELECT jobtrack.get_statistics_optimized() = :'before_split'::jsonb AS same_statistics;

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
-- row); refresh_job_cache() rebuilds them into shard 0.
SELECT jobtrack.update_execution_status('e3-renamed', 'training');
SELECT jobtrack.refresh_job_cache();
SELECT count(*) AS differences FROM jobtrack.verify_statistics();
SELECT DISTINCT shard FROM jobtrack.job_counters;
SELECT * FROM pg_temp.counters();

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
