-- Writes with every write function, checks that reads (cached ones
-- included) see them and that the counters are exact, then takes them away
-- again with plain SQL, so that the data recorded under the release must
-- come back unchanged. Run twice per release by the upgrade test: with the
-- new library under the release's catalog (before ALTER EXTENSION UPDATE),
-- and after the update.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

CREATE TEMPORARY TABLE before_writes AS
SELECT jobtrack.get_statistics_optimized() AS stats,
       jobtrack.get_statistics_cached() AS cached,
       jobtrack.get_dataset_stats_optimized('ds-a') AS ds_a;

SELECT jobtrack.create_execution('{"job_id": "w-e-1", "pipeline_mode": "single",
    "dataset_name": "ds-a", "preset": "p", "total_steps": 10}');
SELECT jobtrack.batch_create_executions('[
  {"job_id": "w-e-2", "pipeline_mode": "batch", "dataset_name": "ds-w", "preset": "p"},
  {"job_id": "w-e-3", "pipeline_mode": "variations", "dataset_name": "ds-w", "preset": "q", "status": "training"}]');
SELECT jobtrack.create_variation('{"job_id": "w-v-1", "variation_id": "w1",
    "experiment_name": "w", "dataset_name": "ds-a", "preset": "p", "total_combinations": 2,
    "parameter_values": {"lr": 0.5}}');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "w-v-2", "variation_id": "w2", "experiment_name": "w", "dataset_name": "ds-w",
   "preset": "p", "total_combinations": 2}]');
SELECT jobtrack.update_execution_status('w-e-1', 'training');
SELECT jobtrack.update_progress('w-e-1', 5);
SELECT jobtrack.update_execution_status('w-e-1', 'done');
SELECT jobtrack.update_variation_status('w-v-1', 'failed', 'diverged');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "w-e-2", "status": "cancelled"}]');
SELECT jobtrack.batch_update_variation_status('[{"job_id": "w-v-2", "status": "completed"}]');
-- Nothing is that old: deletes nothing.
SELECT jobtrack.cleanup_old_jobs(3650);

DO $$
DECLARE
    b before_writes;
    now_stats jsonb := jobtrack.get_statistics_optimized();
BEGIN
    SELECT * INTO b FROM before_writes;
    IF (now_stats->>'total_jobs')::int <> (b.stats->>'total_jobs')::int + 5 THEN
        RAISE 'total_jobs % after 5 creates, % before', now_stats->>'total_jobs',
              b.stats->>'total_jobs';
    END IF;
    IF jobtrack.get_statistics_cached() <> now_stats THEN
        RAISE 'get_statistics_cached() % differs from get_statistics_optimized() %',
              jobtrack.get_statistics_cached(), now_stats;
    END IF;
    IF (jobtrack.get_dataset_stats_optimized('ds-w')->>'total_jobs')::int <> 3 THEN
        RAISE 'dataset ds-w: %', jobtrack.get_dataset_stats_optimized('ds-w');
    END IF;
    IF (jobtrack.get_dataset_stats_cached('ds-a')->>'total_jobs')::int
       <> (b.ds_a->>'total_jobs')::int + 2 THEN
        RAISE 'dataset ds-a (cached): %, before: %', jobtrack.get_dataset_stats_cached('ds-a'),
              b.ds_a;
    END IF;
    IF (SELECT count(*) FROM jobtrack.job_summary_cache WHERE job_id LIKE 'w-%') <> 5 THEN
        RAISE 'the summary does not hold the 5 new jobs';
    END IF;
    IF (SELECT success FROM jobtrack.executions WHERE job_id = 'w-e-1') IS NOT TRUE
       OR (SELECT current_step FROM jobtrack.executions WHERE job_id = 'w-e-1') <> 5 THEN
        RAISE 'w-e-1 is not done with current_step 5';
    END IF;
    IF EXISTS (SELECT FROM jobtrack.verify_statistics()) THEN
        RAISE 'verify_statistics() is not empty after the writes';
    END IF;
END
$$;

DELETE FROM jobtrack.executions WHERE job_id LIKE 'w-%';
DELETE FROM jobtrack.variations WHERE job_id LIKE 'w-%';

DO $$
DECLARE
    b before_writes;
BEGIN
    SELECT * INTO b FROM before_writes;
    IF jobtrack.get_statistics_optimized() <> b.stats
       OR jobtrack.get_statistics_cached() <> b.cached THEN
        RAISE 'statistics after the writes were taken away: %, cached %; before: %',
              jobtrack.get_statistics_optimized(), jobtrack.get_statistics_cached(), b.stats;
    END IF;
    IF EXISTS (SELECT FROM jobtrack.verify_statistics()) THEN
        RAISE 'verify_statistics() is not empty after the writes were taken away';
    END IF;
END
$$;
