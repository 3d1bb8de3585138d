-- The *_cached functions without a shared cache, get_cache_stats,
-- invalidate_cache, get_pool_status, get_transaction_metrics,
-- reset_transaction_metrics.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

SELECT jobtrack.get_cache_stats();
SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast"},
  {"job_id": "e2", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast", "status": "done"}]');

-- The first cached call of the session says, once, that the cache is not
-- shared; every call is computed and counted as a miss.
SELECT jobtrack.get_statistics_cached() = jobtrack.get_statistics_optimized() AS same;
SELECT jobtrack.get_statistics_cached() = jobtrack.get_statistics_optimized() AS same;
SELECT jobtrack.get_dataset_stats_cached('mnist') = jobtrack.get_dataset_stats_optimized('mnist') AS same;
SELECT jobtrack.get_dataset_stats_cached(NULL) IS NULL AS strict;
SELECT (SELECT array_agg(job_id ORDER BY ordinality) FROM jobtrack.get_recent_jobs_cached() WITH ORDINALITY)
     = (SELECT array_agg(job_id ORDER BY ordinality) FROM jobtrack.get_recent_jobs_optimized() WITH ORDINALITY) AS same;
SELECT count(*) FROM jobtrack.get_recent_jobs_cached(1);
SELECT * FROM jobtrack.get_recent_jobs_cached(10001);
-- A committed change is seen at once.
SELECT jobtrack.update_execution_status('e1', 'failed');
SELECT jobtrack.get_statistics_cached()->'executions_by_status' AS by_status;
SELECT jobtrack.get_cache_stats();
SELECT jobtrack.invalidate_cache();
SELECT jobtrack.invalidate_cache('statistics');
SELECT jobtrack.get_cache_stats()->'invalidations' AS invalidations;

-- Sessions of this database: this one at least, running this statement.
SELECT p->>'backend' AS backend,
       (p->>'max_connections')::int = current_setting('max_connections')::int AS max_connections,
       (p->>'total')::int >= 1 AS total, (p->>'active')::int >= 1 AS active,
       (p->>'idle')::int >= 0 AS idle, (p->>'idle_in_transaction')::int >= 0 AS idle_in_transaction,
       (p->>'waiting')::int >= 0 AS waiting,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(p) AS k) AS keys
FROM jobtrack.get_pool_status() AS p;
BEGIN;
SELECT (jobtrack.get_pool_status()->>'total')::int >= 1 AS in_transaction;
COMMIT;

-- Transaction metrics: every write call of this session, failed ones too.
SELECT jobtrack.reset_transaction_metrics();
SELECT jobtrack.get_transaction_metrics();
SELECT jobtrack.create_execution('{"job_id": "m1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}')->>'job_id';
SELECT jobtrack.create_execution('{"job_id": "m1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}');
SELECT jobtrack.create_execution('{"job_id": "m2"}');
SELECT jobtrack.update_execution_status('m1', 'training');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "m1", "status": "done"}]');
SELECT jobtrack.update_progress('m1', -1);
-- An ERROR raised by PostgreSQL inside the call (here by a user's trigger)
-- is recorded as a failure too, before it propagates.
CREATE FUNCTION public.refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused by a user trigger';
END
$$;
CREATE TRIGGER refuse_insert BEFORE INSERT ON jobtrack.variations
    FOR EACH ROW EXECUTE FUNCTION public.refuse_insert();
SELECT jobtrack.create_variation('{"job_id": "m3", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 1}');
DROP TRIGGER refuse_insert ON jobtrack.variations;
DROP FUNCTION public.refuse_insert();
SELECT jobtrack.cleanup_old_jobs(365);
SELECT jobtrack.refresh_job_cache();
SELECT op, m->'count' AS count, m->'success_count' AS success_count, m->'success_rate' AS success_rate,
       m->'last_success' AS last_success,
       (m->>'min_duration')::float8 <= (m->>'max_duration')::float8
       AND (m->>'total_duration')::float8 >= (m->>'max_duration')::float8 AS durations,
       m->>'last_timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS rfc3339,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(m) AS k) AS keys
FROM jsonb_each(jobtrack.get_transaction_metrics()) AS e(op, m)
ORDER BY op;
SELECT jobtrack.reset_transaction_metrics();
SELECT jobtrack.get_transaction_metrics();
