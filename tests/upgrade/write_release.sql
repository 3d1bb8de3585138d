-- The data of the upgrade test, written by a released jobtrack (psql
-- variable `release`, e.g. `-v release=0.1.0`) in database `upgraded`: both
-- kinds, several datasets, every status, progress, status changes single
-- and batched, cleanup, the cache rebuild, and plain SQL — so that the
-- counters hold rows written by every path the release has (0.1.0: several
-- shards, refresh_job_cache()'s shard 0; 0.2.0: delta rows, folded keys;
-- both: rows that came and went). Only the API of 0.1.0, which every later
-- release keeps.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

CREATE EXTENSION jobtrack VERSION :'release';
SELECT set_config('upgrade_test.release', :'release', false);
DO $$
BEGIN
    IF (SELECT extversion FROM pg_extension WHERE extname = 'jobtrack')
       <> current_setting('upgrade_test.release') THEN
        RAISE 'jobtrack is not at %', current_setting('upgrade_test.release');
    END IF;
END
$$;

-- Executions, one batch per dataset, with every status as initial status.
SELECT jobtrack.batch_create_executions(
    (SELECT jsonb_agg(jsonb_build_object(
                'job_id', 'e-' || d || '-' || s.status,
                'pipeline_mode', (ARRAY['single', 'batch', 'variations'])[1 + s.n % 3],
                'dataset_name', 'ds-' || d,
                'preset', 'preset-' || (s.n % 4),
                'total_steps', 100 * s.n,
                'status', s.status) ORDER BY s.n)
     FROM unnest(ARRAY['pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                       'ready_for_training', 'training', 'generating_preview',
                       'done', 'failed', 'cancelled']) WITH ORDINALITY AS s(status, n)))
FROM unnest(ARRAY['a', 'b', 'c']) AS d;

-- One by one, and `completed` accepted as `done`.
SELECT jobtrack.create_execution('{"job_id": "e-single-1", "pipeline_mode": "single",
    "dataset_name": "ds-a", "preset": "fast"}');
SELECT jobtrack.create_execution('{"job_id": "e-single-2", "pipeline_mode": "batch",
    "dataset_name": "ds-b", "preset": "slow", "total_steps": 7, "status": "completed"}');

-- Variations of two sweeps, with parameters (nested, unicode), parents and
-- every status.
SELECT jobtrack.batch_create_variations(
    (SELECT jsonb_agg(jsonb_build_object(
                'job_id', 'v-' || d || '-' || s.status,
                'variation_id', 'var-' || s.n,
                'experiment_name', 'sweep-' || d,
                'dataset_name', 'ds-' || d,
                'preset', 'preset-' || (s.n % 3),
                'total_combinations', 10,
                'varied_parameters', jsonb_build_object('lr', jsonb_build_array(0.1, 0.01),
                                                        'layers', s.n),
                'parameter_values', jsonb_build_object('lr', 0.1 / s.n, 'name', 'größe-' || s.n,
                                                       'nested', jsonb_build_object('k', true)),
                'parent_experiment_id', CASE WHEN s.n % 2 = 0 THEN 'parent-' || d END,
                'total_steps', 50 * s.n,
                'status', s.status) ORDER BY s.n)
     FROM unnest(ARRAY['pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                       'ready_for_training', 'training', 'generating_preview',
                       'done', 'failed', 'cancelled']) WITH ORDINALITY AS s(status, n)))
FROM unnest(ARRAY['a', 'c']) AS d;
SELECT jobtrack.create_variation('{"job_id": "v-single-1", "variation_id": "x",
    "experiment_name": "solo", "dataset_name": "ds-b", "preset": "p",
    "total_combinations": 1}');

-- A job's life: training (start_time set), progress, done (end_time,
-- duration, success). start_time is moved back by plain SQL so that the
-- durations are far from zero and differ.
SELECT jobtrack.update_execution_status('e-single-1', 'training');
SELECT jobtrack.update_progress('e-single-1', 40);
UPDATE jobtrack.executions SET start_time = start_time - interval '95 minutes'
WHERE job_id = 'e-single-1';
SELECT jobtrack.update_execution_status('e-single-1', 'done');
SELECT jobtrack.update_variation_status('v-single-1', 'training');
UPDATE jobtrack.variations SET start_time = start_time - interval '3 hours'
WHERE job_id = 'v-single-1';
SELECT jobtrack.update_progress('v-single-1', 3);
SELECT jobtrack.update_variation_status('v-single-1', 'failed', 'CUDA out of memory');

-- Batched status changes: unknown ids skipped, a job named twice.
SELECT jobtrack.batch_update_execution_status('[
  {"job_id": "e-a-pending", "status": "training"},
  {"job_id": "e-b-pending", "status": "failed", "error_message": "disk full"},
  {"job_id": "e-c-training", "status": "cancelled"},
  {"job_id": "ghost", "status": "done"},
  {"job_id": "e-a-in_queue", "status": "training"},
  {"job_id": "e-a-in_queue", "status": "generating_preview"}]');
UPDATE jobtrack.executions SET start_time = start_time - interval '20 minutes'
WHERE job_id = 'e-a-pending';
SELECT jobtrack.batch_update_execution_status('[
  {"job_id": "e-a-pending", "status": "completed"}]');
SELECT jobtrack.batch_update_variation_status('[
  {"job_id": "v-a-in_queue", "status": "training"},
  {"job_id": "v-c-failed", "status": "pending"},
  {"job_id": "v-c-done", "status": "done"}]');
SELECT jobtrack.update_progress('v-a-in_queue', 12);
SELECT jobtrack.update_progress('e-b-training', 250);

-- The counters rebuilt (0.1.0 writes the recount to shard 0), then more
-- writes on top of it.
SELECT jobtrack.refresh_job_cache();
SELECT jobtrack.update_execution_status('e-c-pending', 'done');

-- A dataset that comes and goes, and cleanup: terminal jobs made old by
-- plain SQL; the failed one is kept by the first call.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "e-gone-1", "pipeline_mode": "single", "dataset_name": "ds-gone", "preset": "p", "status": "done"},
  {"job_id": "e-gone-2", "pipeline_mode": "single", "dataset_name": "ds-gone", "preset": "p", "status": "failed"},
  {"job_id": "e-gone-3", "pipeline_mode": "single", "dataset_name": "ds-gone", "preset": "p", "status": "cancelled"}]');
SELECT jobtrack.create_variation('{"job_id": "v-gone-1", "variation_id": "g",
    "experiment_name": "old", "dataset_name": "ds-gone", "preset": "p",
    "total_combinations": 2, "status": "done"}');
UPDATE jobtrack.executions SET created_at = now() - interval '90 days' WHERE dataset_name = 'ds-gone';
UPDATE jobtrack.variations SET created_at = now() - interval '90 days' WHERE dataset_name = 'ds-gone';
SELECT jobtrack.cleanup_old_jobs(30);
SELECT jobtrack.cleanup_old_jobs(30, false);

-- Plain SQL: insert, update, delete, as any client may.
INSERT INTO jobtrack.executions (job_id, status, pipeline_mode, dataset_name, preset,
                                 total_steps, current_step, start_time, end_time,
                                 duration_seconds, success, output_path)
VALUES ('e-sql-1', 'done', 'single', 'ds-sql', 'p', 10, 10,
        '2025-03-01 10:00:00+00', '2025-03-01 10:30:00+00', 1800, true, '/out/e-sql-1'),
       ('e-sql-2', 'failed', 'batch', 'ds-sql', 'p', NULL, NULL,
        '2025-03-02 10:00:00+00', '2025-03-02 10:00:01.5+00', 1.5, false, NULL),
       ('e-sql-3', 'training', 'single', 'ds-sql', 'q', 5, 1,
        '2025-03-03 10:00:00+00', NULL, NULL, NULL, NULL);
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                 total_combinations, varied_parameters, parameter_values)
VALUES ('v-sql-1', 'v1', 'sql-sweep', 'ds-sql', 'p', 3, '{"a": [1, 2, 3]}', '{"a": 2}');
UPDATE jobtrack.executions SET output_path = '/out/' || job_id WHERE dataset_name = 'ds-b';
UPDATE jobtrack.variations SET dataset_name = 'ds-b' WHERE job_id = 'v-c-cancelled';
DELETE FROM jobtrack.executions WHERE job_id = 'e-c-in_queue';

-- The cache and the metrics are filled by reads and writes above; read the
-- cached functions once so that entries exist.
SELECT jobtrack.get_statistics_cached() IS NOT NULL;
SELECT jobtrack.get_dataset_stats_cached('ds-a') IS NOT NULL;

-- One key written often: a status moved back and forth by plain SQL, 12
-- times (it ends where it began). 0.2.0 writes a delta row per change and
-- folds a key's rows once it has more than 8.
DO $$
BEGIN
    FOR i IN 1..12 LOOP
        UPDATE jobtrack.executions
        SET status = CASE status WHEN 'ready_for_training' THEN 'configuring_preset'
                                 ELSE 'ready_for_training' END
        WHERE job_id IN ('e-a-ready_for_training', 'e-b-ready_for_training');
    END LOOP;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM jobtrack.verify_statistics()) THEN
        RAISE 'verify_statistics() is not empty under the release';
    END IF;
END
$$;
