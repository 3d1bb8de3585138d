-- The *_cached functions, get_cache_stats, invalidate_cache,
-- get_pool_status, get_transaction_metrics, reset_transaction_metrics.
--
-- Two expected outputs: monitoring.out with shared_preload_libraries =
-- 'jobtrack' (one cache for the whole server), monitoring_1.out without it
-- (every cached call computes, a NOTICE says so once per session, and
-- get_cache_stats() says "shared": false). The cache's counters are
-- server-wide: the test prints what changed during it.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(jobtrack.get_cache_stats()) AS k) AS keys,
       jobtrack.get_cache_stats()->'shared' AS shared;
SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast"},
  {"job_id": "e2", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast", "status": "done"}]');
-- Entries that earlier tests left in this database's cache go first, so
-- that the counts below are this test's own.
SELECT jobtrack.invalidate_cache() >= 0 AS cleared;
CREATE TEMP TABLE stats_before AS SELECT jobtrack.get_cache_stats() AS s;
CREATE FUNCTION pg_temp.cache_delta() RETURNS TABLE (requests bigint, hits bigint, misses bigint, invalidations bigint)
LANGUAGE sql AS $$
    SELECT (a.s->>'total_requests')::bigint - (b.s->>'total_requests')::bigint,
           (a.s->>'hits')::bigint - (b.s->>'hits')::bigint,
           (a.s->>'misses')::bigint - (b.s->>'misses')::bigint,
           (a.s->>'invalidations')::bigint - (b.s->>'invalidations')::bigint
    FROM (SELECT jobtrack.get_cache_stats() AS s) AS a, stats_before AS b
$$;

-- Cached and uncached agree; with the shared cache the second call of each
-- is a hit.
SELECT jobtrack.get_statistics_cached() = jobtrack.get_statistics_optimized() AS same;
SELECT jobtrack.get_statistics_cached() = jobtrack.get_statistics_optimized() AS same;
SELECT jobtrack.get_dataset_stats_cached('mnist') = jobtrack.get_dataset_stats_optimized('mnist') AS same;
SELECT jobtrack.get_dataset_stats_cached('mnist') = jobtrack.get_dataset_stats_optimized('mnist') AS same;
SELECT jobtrack.get_dataset_stats_cached(NULL) IS NULL AS strict;
SELECT (SELECT array_agg(job_id ORDER BY ordinality) FROM jobtrack.get_recent_jobs_cached() WITH ORDINALITY)
     = (SELECT array_agg(job_id ORDER BY ordinality) FROM jobtrack.get_recent_jobs_optimized() WITH ORDINALITY) AS same;
SELECT count(*) FROM jobtrack.get_recent_jobs_cached(1);
SELECT * FROM jobtrack.get_recent_jobs_cached(10001);
SELECT * FROM pg_temp.cache_delta();
-- A committed change is seen at once (and the entries it affects are
-- replaced when next stored).
SELECT jobtrack.update_execution_status('e1', 'failed');
SELECT jobtrack.get_statistics_cached()->'executions_by_status' AS by_status;
SELECT jobtrack.get_dataset_stats_cached('mnist')->'failed_jobs' AS failed_jobs;
SELECT * FROM pg_temp.cache_delta();
-- This database's entries: statistics, dataset_stats:mnist, recent_jobs:10,
-- recent_jobs:1.
SELECT jobtrack.invalidate_cache('recent_jobs');
SELECT jobtrack.invalidate_cache();
SELECT jobtrack.invalidate_cache('statistics');
SELECT * FROM pg_temp.cache_delta();
-- Settings.
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'jobtrack.%' ORDER BY name;

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
