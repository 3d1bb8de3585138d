-- Comments on the jobtrack functions and the privileges of the ones that
-- are not for everyone, applied after they are created (pgrx
-- `extension_sql_file!(…, finalize)`).

\echo Use "CREATE EXTENSION jobtrack" to load this file. \quit

COMMENT ON FUNCTION jobtrack.create_execution(jsonb) IS
    'Creates one execution from {"job_id","pipeline_mode","dataset_name","preset","total_steps"?,"status"?}; returns the job as jsonb';
COMMENT ON FUNCTION jobtrack.create_variation(jsonb) IS
    'Creates one variation from {"job_id","variation_id","experiment_name","dataset_name","preset","total_combinations",...}; returns the job as jsonb';
COMMENT ON FUNCTION jobtrack.update_execution_status(text, text, text) IS
    'Changes the status of one execution (completed = done), with its effects on timestamps, duration, success and error_message; false when there is no such execution';
COMMENT ON FUNCTION jobtrack.update_variation_status(text, text, text) IS
    'Changes the status of one variation (completed = done), with its effects on timestamps, duration, success and error_message; false when there is no such variation';
COMMENT ON FUNCTION jobtrack.update_progress(text, integer) IS
    'Sets current_step of a job of either kind and records a heartbeat (last_heartbeat); false when there is no such job';
COMMENT ON FUNCTION jobtrack.heartbeat(text) IS
    'Records that the active job job_id of either kind is alive: sets its last_heartbeat to now (not updated_at; no statistics change); false when no active job has that id';
COMMENT ON FUNCTION jobtrack.batch_create_executions(jsonb) IS
    'Creates executions from a JSON array in one statement, all or none; returns their job_ids in input order';
COMMENT ON FUNCTION jobtrack.batch_create_variations(jsonb) IS
    'Creates variations from a JSON array in one statement, all or none; returns their job_ids in input order';
COMMENT ON FUNCTION jobtrack.batch_update_execution_status(jsonb) IS
    'Changes the status of executions from [{"job_id","status","error_message"?}], all or none; the later element wins, unknown ids are skipped; returns the number changed';
COMMENT ON FUNCTION jobtrack.batch_update_variation_status(jsonb) IS
    'Changes the status of variations from [{"job_id","status","error_message"?}], all or none; the later element wins, unknown ids are skipped; returns the number changed';
COMMENT ON FUNCTION jobtrack.import_jobs(jsonb) IS
    'Restores whole jobs of either kind from a JSON array of the records export_jobs returns, every column as given (nothing stamped or derived), all or none; returns how many';
COMMENT ON FUNCTION jobtrack.claim_next_jobs(integer, text) IS
    'Claims up to n (1..10000) pending jobs of either kind, oldest created_at first: moves them to in_queue, records worker, returns them; passes over jobs other transactions hold, never waits';
COMMENT ON FUNCTION jobtrack.fail_stale_jobs(interval, text) IS
    'Moves to failed every job in an active status but pending whose last sign of life (the later of last_heartbeat and updated_at) is older than stale_after, with error_message or one naming that time; returns how many; passes over jobs other transactions hold';
COMMENT ON FUNCTION jobtrack.cleanup_old_jobs(integer, boolean) IS
    'Deletes jobs in a terminal status created more than days days ago (keeping failed ones when keep_failed); never an active job';
COMMENT ON PROCEDURE jobtrack.prune_jobs(integer, boolean, integer, jsonb) IS
    'CALL: deletes what cleanup_old_jobs deletes, oldest first, in batches of batch_size jobs, committing after each; returns the report {executions_deleted, variations_deleted, cache_entries_deleted, batches}';
COMMENT ON FUNCTION jobtrack._prune_cutoff(integer, boolean, integer) IS
    'jobtrack internal, for prune_jobs: checks its arguments and returns the cutoff of its batches (NULL: no job can be that old)';
COMMENT ON FUNCTION jobtrack._prune_batch(timestamptz, boolean, integer, jsonb) IS
    'jobtrack internal, for prune_jobs: deletes one batch and returns the report so far, with the key more while another batch is due';
COMMENT ON FUNCTION jobtrack.refresh_job_cache() IS
    'Rebuilds the summary table job_summary_cache and the statistics counters job_counters from the base tables; returns the summary table''s row count';
COMMENT ON FUNCTION jobtrack.verify_statistics() IS
    'Differences between the statistics counters and a full recount of the base tables, one row per (job_type, dataset_name, status); empty when all is well (a full scan)';
COMMENT ON FUNCTION jobtrack.verify_experiment_stats() IS
    'Differences between the experiment counters (sweep progress) and a full recount of the variations, one row per (experiment_name, total_combinations, status); empty when all is well (a full scan)';
COMMENT ON FUNCTION jobtrack.get_statistics_optimized() IS
    'Statistics over all jobs: counts by kind and status, successes, failures, success rate, average durations; read from the counters job_counters alone';
COMMENT ON FUNCTION jobtrack.get_statistics_cached() IS
    'get_statistics_optimized() through the result cache';
COMMENT ON FUNCTION jobtrack.get_dataset_stats_optimized(text) IS
    'Statistics of the jobs of one dataset; zeros and nulls for an unknown dataset';
COMMENT ON FUNCTION jobtrack.get_dataset_stats_cached(text) IS
    'get_dataset_stats_optimized(dataset_name) through the result cache';
COMMENT ON FUNCTION jobtrack.get_experiment_stats(text) IS
    'Progress of one hyper-parameter sweep: declared combinations, variations by status, finished, progress, successes, failures, success rate, average/min/max duration, first and last run; from experiment_counters and four index seeks; zeros and nulls for an unknown experiment';
COMMENT ON FUNCTION jobtrack.get_experiment_stats_cached(text) IS
    'get_experiment_stats(experiment_name) through the result cache';
COMMENT ON FUNCTION jobtrack.get_all_jobs_optimized(integer, text) IS
    'Up to lim (0..10000) jobs of both kinds, newest created_at first, ties on job_id descending; after: the job_id of the last row of the previous page';
COMMENT ON FUNCTION jobtrack.get_recent_jobs_optimized(integer) IS
    'Up to lim (0..10000) jobs of both kinds, newest updated_at first, ties on job_id descending';
COMMENT ON FUNCTION jobtrack.get_recent_jobs_cached(integer) IS
    'get_recent_jobs_optimized(lim) through the result cache';
COMMENT ON FUNCTION jobtrack.get_running_jobs(integer, text) IS
    'Jobs in an active status with their progress, newest created_at first, ties on job_id descending: up to lim (every one when NULL) after the job_id after';
COMMENT ON FUNCTION jobtrack.get_stale_jobs(interval) IS
    'The jobs fail_stale_jobs(stale_after) would fail, the longest silent first, ties on job_id';
COMMENT ON FUNCTION jobtrack.export_jobs(timestamptz) IS
    'Every job of either kind created at or after since (all when NULL), with every column import_jobs takes back, oldest created_at first, ties on job_id; inlined into the caller''s query, so the rows stream (COPY, cursors)';
COMMENT ON FUNCTION jobtrack.get_cache_stats() IS
    'Size, counters and hit rate of the result cache; "shared" says whether a cache shared by all sessions is in effect';
COMMENT ON FUNCTION jobtrack.invalidate_cache(text) IS
    'Drops cached results whose key contains pattern (all when NULL); returns how many';
COMMENT ON FUNCTION jobtrack.get_pool_status() IS
    'Client sessions of the current database: total, active, idle, idle in transaction, waiting for a lock; max_connections';
COMMENT ON FUNCTION jobtrack.get_transaction_metrics() IS
    'Per write function: calls, successes, durations in seconds since the last reset; server-wide when the library is preloaded, else this session''s';
COMMENT ON FUNCTION jobtrack.reset_transaction_metrics() IS
    'Forgets the transaction metrics (server-wide when the library is preloaded)';
COMMENT ON FUNCTION jobtrack.summary_after_insert() IS
    'Trigger: mirrors inserted jobs into job_summary_cache and adds them to job_counters';
COMMENT ON FUNCTION jobtrack.summary_after_update() IS
    'Trigger: mirrors updated jobs into job_summary_cache and moves their counts in job_counters';
COMMENT ON FUNCTION jobtrack.summary_after_delete() IS
    'Trigger: removes deleted jobs from job_summary_cache and job_counters';
COMMENT ON FUNCTION jobtrack.summary_replica_row() IS
    'Trigger (row level, enabled REPLICA): keeps job_summary_cache and job_counters during logical replication apply and under session_replication_role = replica';
COMMENT ON FUNCTION jobtrack.summary_after_truncate() IS
    'Trigger: removes the truncated kind from job_summary_cache and job_counters';
COMMENT ON FUNCTION jobtrack.experiment_counters_after_write() IS
    'Trigger: adds inserted variations to experiment_counters, moves updated ones, removes deleted ones';
COMMENT ON FUNCTION jobtrack.experiment_counters_replica_row() IS
    'Trigger (row level, enabled REPLICA): keeps experiment_counters during logical replication apply and under session_replication_role = replica';
COMMENT ON FUNCTION jobtrack.experiment_counters_after_truncate() IS
    'Trigger: empties experiment_counters when variations are truncated';
COMMENT ON FUNCTION jobtrack._cache_note_change(text[]) IS
    'jobtrack internal, for the triggers: notes that the current transaction changed jobs (in the datasets named; NULL: any dataset), published to the shared cache just before the transaction commits';
COMMENT ON FUNCTION jobtrack._cache_note_rows() IS
    'jobtrack internal, for the triggers: notes that the current transaction changed rows of the base tables (the recent jobs show them; the statistics'' data is noted apart), published to the shared cache just before the transaction commits';
COMMENT ON FUNCTION jobtrack.cache_before_write() IS
    'Trigger: notes, before a statement writes, that the transaction changes jobs, for the shared result cache (its own cached reads compute from then on)';
COMMENT ON FUNCTION jobtrack.cache_after_summary_write() IS
    'Trigger: notes a change of the summary table, and of which datasets, for the shared result cache';
COMMENT ON FUNCTION jobtrack.cache_after_counters_write() IS
    'Trigger: notes a direct change of job_counters (not through the summary triggers) for the shared result cache';

-- Administration acts on the whole server (the shared cache and the
-- metrics are server-wide) or rewrites the derived tables: not for PUBLIC.
-- The README lists the grants of a reader, a writer and an admin role.
-- refresh_job_cache() is SECURITY DEFINER, like the triggers, so that an
-- admin role needs no privileges on the derived tables. The internal
-- helper is called only by the (SECURITY DEFINER) triggers.
REVOKE EXECUTE ON FUNCTION jobtrack.refresh_job_cache(), jobtrack.invalidate_cache(text),
    jobtrack.reset_transaction_metrics(), jobtrack._cache_note_change(text[]),
    jobtrack._cache_note_rows()
    FROM PUBLIC;
