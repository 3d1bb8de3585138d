-- Sweep progress: get_experiment_stats(experiment_name) reads the
-- experiment counters (delta rows per experiment, total_combinations and
-- status, kept by the experiment triggers of variations whoever writes)
-- and four index seeks for the extremes; the declared combinations are the
-- largest total_combinations with variations; the counters equal a recount
-- after every kind of write, plain SQL included; the plan reads no
-- variation beyond the index seeks.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;
SET TimeZone = 'UTC';

-- verify_experiment_stats() lists each key whose counters, summed, differ
-- from a recount of the variations: no row when exact.
-- An unknown experiment: zeros and nulls.
SELECT jsonb_pretty(jobtrack.get_experiment_stats('nothing'));

-- A sweep of 6 declared combinations, 5 created, and a variation of
-- another experiment.
SELECT jobtrack.batch_create_variations(
    (SELECT jsonb_agg(jsonb_build_object(
                'job_id', 'lr-' || i, 'variation_id', 'v' || i,
                'experiment_name', 'lr-sweep', 'dataset_name', 'd', 'preset', 'p',
                'total_combinations', 6, 'parameter_values', jsonb_build_object('lr', i)))
     FROM generate_series(1, 5) AS i));
SELECT jobtrack.create_variation('{"job_id": "other", "variation_id": "o",
    "experiment_name": "other", "dataset_name": "d", "preset": "p", "total_combinations": 2}') IS NOT NULL;
SELECT jobtrack.batch_update_variation_status(
    '[{"job_id": "lr-1", "status": "training"}, {"job_id": "lr-2", "status": "training"},
      {"job_id": "lr-3", "status": "training"}]');
SELECT jobtrack.update_variation_status('lr-4', 'cancelled');
-- Fixed times and durations, written with plain SQL as a user may.
UPDATE jobtrack.variations
SET status = CASE WHEN job_id = 'lr-3' THEN 'failed' ELSE 'done' END,
    success = job_id <> 'lr-3',
    start_time = timestamptz '2026-01-01 00:00:00+00' + (substr(job_id, 4)::int || ' hours')::interval,
    end_time = timestamptz '2026-01-01 00:00:00+00' + (substr(job_id, 4)::int || ' hours')::interval
               + (substr(job_id, 4)::int * 10 || ' seconds')::interval,
    duration_seconds = substr(job_id, 4)::int * 10
WHERE job_id IN ('lr-1', 'lr-2', 'lr-3');
SELECT jsonb_pretty(jobtrack.get_experiment_stats('lr-sweep'));
-- The cached read equals the direct one (without the preloaded library,
-- after a NOTICE that the cache is not shared, which this hides).
SET client_min_messages = warning;
SELECT jobtrack.get_experiment_stats_cached('lr-sweep') = jobtrack.get_experiment_stats('lr-sweep');
RESET client_min_messages;
SELECT * FROM jobtrack.verify_experiment_stats();

-- Moved to another experiment and another declared size by plain SQL: the
-- counters follow, the larger size is declared while it has a variation,
-- and not after it is deleted.
UPDATE jobtrack.variations SET experiment_name = 'lr-sweep', total_combinations = 9
WHERE job_id = 'other';
SELECT jobtrack.get_experiment_stats('lr-sweep') -> 'declared_combinations' AS declared,
       jobtrack.get_experiment_stats('lr-sweep') -> 'total_variations' AS variations,
       jobtrack.get_experiment_stats('other') -> 'total_variations' AS other;
DELETE FROM jobtrack.variations WHERE job_id = 'other';
SELECT jobtrack.get_experiment_stats('lr-sweep') -> 'declared_combinations' AS declared;
SELECT * FROM jobtrack.verify_experiment_stats();

-- Many statements on one key: its delta rows are folded, the sums stay.
SELECT count(*) > 0 FROM (
    SELECT jobtrack.update_progress('lr-5', i) FROM generate_series(1, 3) AS i) AS p;
DO $$
BEGIN
    FOR i IN 1..20 LOOP
        PERFORM jobtrack.update_variation_status('lr-5', CASE WHEN i % 2 = 0 THEN 'pending' ELSE 'training' END);
    END LOOP;
END
$$;
SELECT count(*) <= 9 AS folded FROM jobtrack.experiment_counters
WHERE experiment_name = 'lr-sweep' AND status = 'pending';
SELECT * FROM jobtrack.verify_experiment_stats();

-- Replication apply (row-level trigger) and TRUNCATE.
SET session_replication_role = replica;
UPDATE jobtrack.variations SET status = 'done', success = true WHERE job_id = 'lr-5';
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                 total_combinations)
VALUES ('lr-6', 'v6', 'lr-sweep', 'd', 'p', 6);
RESET session_replication_role;
SELECT * FROM jobtrack.verify_experiment_stats();
SELECT jobtrack.get_experiment_stats('lr-sweep') -> 'variations_by_status' AS by_status;

-- Damaged by hand, rebuilt by refresh_job_cache().
INSERT INTO jobtrack.experiment_counters VALUES ('lr-sweep', 6, 'done', 100, 0, 0, 0, 0);
SELECT experiment_name, total_combinations, status, counted_jobs - actual_jobs AS extra_jobs,
       counted_successful = actual_successful AS same_successful
FROM jobtrack.verify_experiment_stats();
SELECT jobtrack.refresh_job_cache() > 0;
SELECT * FROM jobtrack.verify_experiment_stats();

TRUNCATE jobtrack.variations;
SELECT count(*) AS counter_rows FROM jobtrack.experiment_counters;

-- The plan of the query get_experiment_stats runs: the counters' key
-- index and one seek per extreme, no scan of the variations.
\set q `cat sql/pg/queries/experiment_stats.sql`
PREPARE experiment_stats(text) AS :q;
EXPLAIN (COSTS OFF) EXECUTE experiment_stats('x');

-- Bad input: NULL gives NULL (STRICT).
SELECT jobtrack.get_experiment_stats(NULL) IS NULL;
