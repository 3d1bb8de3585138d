-- create_execution, create_variation, batch_create_executions,
-- batch_create_variations: good and bad input.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

-- Clock-dependent values of a job as booleans (true = not null).
CREATE FUNCTION pg_temp.shape(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_object_agg(k, CASE WHEN k IN ('created_at', 'updated_at', 'start_time',
                                               'duration_seconds')
                                    THEN to_jsonb(v <> 'null'::jsonb) ELSE v END)
    FROM jsonb_each(j) AS e(k, v)
$$;

SELECT pg_temp.shape(jobtrack.create_execution(
    '{"job_id": "e1", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast", "total_steps": 100}'));
-- RFC 3339 UTC with microseconds and Z.
SELECT j->>'created_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS rfc3339,
       j->>'created_at' = j->>'updated_at' AS same
FROM (SELECT jobtrack.create_execution(
    '{"job_id": "e2", "pipeline_mode": "batch", "dataset_name": "mnist", "preset": "fast", "status": "training"}') AS j) AS t;
SELECT job_id, status, start_time IS NOT NULL AS started, end_time IS NULL AS no_end,
       created_at = updated_at AS fresh
FROM jobtrack.executions WHERE job_id = 'e2';
-- Initial terminal status: success from the status, end_time set, no duration.
SELECT pg_temp.shape(jobtrack.create_variation(
    '{"job_id": "v1", "variation_id": "lr-0.1", "experiment_name": "sweep", "dataset_name": "mnist",
      "preset": "fast", "total_combinations": 4, "varied_parameters": {"lr": [0.1, 0.2]},
      "parameter_values": {"lr": 0.1}, "parent_experiment_id": "exp-7", "status": "failed"}'));
SELECT job_id, varied_parameters, parameter_values, parent_experiment_id, end_time IS NOT NULL AS ended
FROM jobtrack.variations WHERE job_id = 'v1';
-- completed is accepted as done.
SELECT jobtrack.create_variation(
    '{"job_id": "v2", "variation_id": "lr-0.2", "experiment_name": "sweep", "dataset_name": "mnist",
      "preset": "fast", "total_combinations": 4, "status": "completed"}')->>'status' AS status;
SELECT job_id, status, success, varied_parameters, parameter_values FROM jobtrack.variations WHERE job_id = 'v2';

-- Batches: ids in input order; a whole number written as 10.0 is accepted.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "b3", "pipeline_mode": "single", "dataset_name": "cifar", "preset": "p", "total_steps": 10.0},
  {"job_id": "b1", "pipeline_mode": "variations", "dataset_name": "cifar", "preset": "p", "status": "in_queue"},
  {"job_id": "b2", "pipeline_mode": "batch", "dataset_name": "cifar", "preset": "p"}]');
SELECT job_id, status, pipeline_mode, total_steps FROM jobtrack.executions WHERE job_id LIKE 'b%' ORDER BY job_id;
SELECT jobtrack.batch_create_variations('[
  {"job_id": "bv1", "variation_id": "a", "experiment_name": "x", "dataset_name": "cifar", "preset": "p", "total_combinations": 2},
  {"job_id": "bv2", "variation_id": "b", "experiment_name": "x", "dataset_name": "cifar", "preset": "p", "total_combinations": 2, "total_steps": 0}]');
SELECT jobtrack.batch_create_executions('[]'), jobtrack.batch_create_variations('[]');
-- NULL in, NULL out (STRICT).
SELECT jobtrack.create_execution(NULL) IS NULL AS null_in_null_out,
       jobtrack.batch_create_executions(NULL) IS NULL AS batch_null;

-- Bad input: 22023 naming the field (and element), nothing applied.
SELECT count(*) AS executions_before FROM jobtrack.executions;
SELECT jobtrack.create_execution('[]');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d"}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "sweep", "dataset_name": "d", "preset": "p"}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "finished"}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "stauts": "done"}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "", "preset": "p"}');
SELECT jobtrack.create_execution('{"job_id": 7, "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}');
SELECT jobtrack.create_execution(jsonb_build_object('job_id', repeat('x', 65), 'pipeline_mode', 'single', 'dataset_name', 'd', 'preset', 'p'));
SELECT jobtrack.create_execution(jsonb_build_object('job_id', 'x', 'pipeline_mode', 'single', 'dataset_name', repeat('d', 256), 'preset', 'p'));
SELECT jobtrack.create_execution(jsonb_build_object('job_id', 'x', 'pipeline_mode', 'single', 'dataset_name', 'd', 'preset', repeat('p', 101)));
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": "10"}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": -3}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": 2.5}');
SELECT jobtrack.create_execution('{"job_id": "x", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": 3000000000}');
SELECT jobtrack.create_variation('{"job_id": "x", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 0}');
SELECT jobtrack.create_variation('{"job_id": "x", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p"}');
SELECT jobtrack.create_variation('{"job_id": "x", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2, "parameter_values": [1]}');
SELECT jobtrack.create_variation('{"job_id": "x", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2, "parent_experiment_id": ""}');
SELECT jobtrack.batch_create_executions('{"job_id": "x"}');
SELECT jobtrack.batch_create_executions('[{"job_id": "y1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}, 7]');
SELECT jobtrack.batch_create_executions('[
  {"job_id": "y1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "y2", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "y3", "pipeline_mode": "single", "preset": "p"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "y4", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2},
  {"job_id": "y5", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": -1}]');

-- Duplicates: 23505 naming the id — within the batch, against the same kind,
-- against the other kind; nothing applied.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "z1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "z1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
SELECT jobtrack.create_execution('{"job_id": "e1", "pipeline_mode": "single", "dataset_name": "other", "preset": "p"}');
SELECT jobtrack.batch_create_executions('[
  {"job_id": "z2", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "v1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "z3", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2},
  {"job_id": "b2", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2}]');
SELECT count(*) AS executions_after FROM jobtrack.executions;
SELECT count(*) AS variations_after FROM jobtrack.variations;
SELECT job_id FROM jobtrack.job_summary_cache WHERE job_id IN ('x', 'y1', 'y2', 'y4', 'z1', 'z2', 'z3') ORDER BY job_id;

-- Strings are data, never SQL: stored and returned literally.
SELECT jobtrack.batch_create_executions($json$[
  {"job_id": "x'); DROP TABLE jobtrack.executions; --", "pipeline_mode": "single",
   "dataset_name": "'; DELETE FROM jobtrack.variations; --", "preset": "\"quoted\" preset"}]$json$);
SELECT jobtrack.create_variation($json$
  {"job_id": "vé-☃", "variation_id": "\\x00", "experiment_name": "Robert'); DROP TABLE students;--",
   "dataset_name": "'; DELETE FROM jobtrack.variations; --", "preset": "p", "total_combinations": 1,
   "parameter_values": {"q": "'; SELECT 1; --"}}$json$)->>'experiment_name' AS experiment_name;
SELECT job_id, dataset_name, preset FROM jobtrack.executions WHERE job_id LIKE 'x%' ORDER BY job_id;
SELECT job_id, variation_id, dataset_name, parameter_values FROM jobtrack.variations WHERE job_id = 'vé-☃';
SELECT count(*) AS variations_intact FROM jobtrack.variations;
-- 64 characters (not bytes) are allowed.
SELECT char_length(j->>'job_id') AS chars, octet_length(j->>'job_id') AS bytes
FROM (SELECT jobtrack.create_execution(jsonb_build_object('job_id', repeat('é', 64),
        'pipeline_mode', 'single', 'dataset_name', 'd', 'preset', 'p')) AS j) AS t;
