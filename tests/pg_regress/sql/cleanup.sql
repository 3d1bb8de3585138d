-- cleanup_old_jobs: only terminal jobs older than `days`, failed ones kept
-- unless keep_failed is false, never an active job.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"},
  {"job_id": "e2", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "failed"},
  {"job_id": "e3", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "training"},
  {"job_id": "e4", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "done"},
  {"job_id": "e5", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "status": "cancelled"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "v1", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2, "status": "cancelled"},
  {"job_id": "v2", "variation_id": "b", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2, "status": "pending"},
  {"job_id": "v3", "variation_id": "c", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2, "status": "failed"}]');
UPDATE jobtrack.executions SET created_at = now() - interval '40 days' WHERE job_id IN ('e1', 'e2', 'e3');
UPDATE jobtrack.executions SET created_at = now() - interval '10 days' WHERE job_id = 'e5';
UPDATE jobtrack.variations SET created_at = now() - interval '40 days';

-- Defaults: 30 days, failed kept.
SELECT jobtrack.cleanup_old_jobs();
SELECT job_id FROM jobtrack.job_summary_cache ORDER BY job_id;
-- failed too.
SELECT jobtrack.cleanup_old_jobs(30, false);
-- 7 days.
SELECT jobtrack.cleanup_old_jobs(days => 7);
-- Everything terminal; the active e3 and v2 stay.
SELECT jobtrack.cleanup_old_jobs(0, false);
SELECT job_id, status FROM jobtrack.executions ORDER BY job_id;
SELECT job_id, status FROM jobtrack.variations ORDER BY job_id;
SELECT job_id FROM jobtrack.job_summary_cache ORDER BY job_id;
SELECT jobtrack.cleanup_old_jobs(0, false);

SELECT jobtrack.cleanup_old_jobs(-1);
SELECT jobtrack.cleanup_old_jobs(NULL) IS NULL AS strict;
