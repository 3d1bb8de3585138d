-- Every runtime query uses its index. The statements are read from the very
-- files the functions run (sql/pg/queries/, included into the library with
-- include_str!), so this plans exactly what the functions execute; psql runs
-- from the repository root (make installcheck).
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

SELECT cardinality(jobtrack.batch_create_executions(
    (SELECT jsonb_agg(jsonb_build_object('job_id', 'e' || g, 'pipeline_mode', 'single',
                                         'dataset_name', 'ds' || (g % 50), 'preset', 'p',
                                         'status', CASE WHEN g % 100 = 0 THEN 'training' ELSE 'done' END))
     FROM generate_series(1, 2000) AS g)));
SELECT cardinality(jobtrack.batch_create_variations(
    (SELECT jsonb_agg(jsonb_build_object('job_id', 'v' || g, 'variation_id', 'x' || g,
                                         'experiment_name', 's', 'dataset_name', 'ds' || (g % 50),
                                         'preset', 'p', 'total_combinations', 2000,
                                         'status', CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'failed' END))
     FROM generate_series(1, 2000) AS g)));
VACUUM ANALYZE jobtrack.executions, jobtrack.variations, jobtrack.job_summary_cache,
               jobtrack.job_counters;

-- With a few thousand rows a sequential scan costs about as much as an
-- index scan, and the planner's choice would flip with small changes in the
-- statistics. Sequential scans are disabled so that the plans show, stably,
-- which index each query uses when the planner does not scan the whole
-- table. The statistics read only the counters (job_counters, a few rows per
-- dataset, scanned whole by design); the dataset stats read that dataset's
-- counter rows through job_counters_key_idx and each extreme (min/max duration,
-- first/last run) as one Limit over an index scan — a seek, not a scan. The
-- other queries pick their index on cost alone (measured at 1,000,000 jobs).
SET enable_seqscan = off;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

\set q `cat sql/pg/queries/statistics.sql`
PREPARE statistics AS :q;
EXPLAIN (COSTS OFF) EXECUTE statistics;

\set q `cat sql/pg/queries/dataset_stats.sql`
PREPARE dataset_stats(text) AS :q;
EXPLAIN (COSTS OFF) EXECUTE dataset_stats('ds7');

-- The listings (pg_ext/src/listings.rs) run all_jobs.sql, running_jobs.sql
-- and recent_jobs.sql with their generic plan, planned once per session
-- with sorts and JIT off (listings.rs says why): these are the plans they
-- run. $1 is lim, ($2, $3) the cursor: the first page is the page after
-- ('infinity', ''). A page is one Merge Append that stops after lim rows,
-- each index scan starting at the cursor; running jobs merge one LIMITed
-- scan of each partial index; the recent jobs read the summary's recent
-- index and complete each entry by one primary-key lookup. The cursor
-- itself is one primary-key probe per table (listing_cursor.sql).
SET plan_cache_mode = force_generic_plan;
SET enable_sort = off;
SET jit = off;
\set q `cat sql/pg/queries/all_jobs.sql`
PREPARE all_jobs(bigint, timestamptz, text) AS :q;
EXPLAIN (COSTS OFF) EXECUTE all_jobs(100, 'infinity', '');

\set q `cat sql/pg/queries/running_jobs.sql`
PREPARE running_jobs(bigint, timestamptz, text) AS :q;
EXPLAIN (COSTS OFF) EXECUTE running_jobs(NULL, 'infinity', '');

\set q `cat sql/pg/queries/recent_jobs.sql`
PREPARE recent_jobs(bigint) AS :q;
EXPLAIN (COSTS OFF) EXECUTE recent_jobs(10);
RESET plan_cache_mode;
RESET enable_sort;
RESET jit;

\set q `cat sql/pg/queries/listing_cursor.sql`
PREPARE listing_cursor(text) AS :q;
EXPLAIN (COSTS OFF) EXECUTE listing_cursor('e1');

\set q `cat sql/pg/queries/get_job.sql`
PREPARE get_job(text) AS :q;
EXPLAIN (COSTS OFF) EXECUTE get_job('e1');

\set q `cat sql/pg/queries/first_existing_id.sql`
PREPARE first_existing_id(text[]) AS :q;
EXPLAIN (COSTS OFF) EXECUTE first_existing_id(ARRAY['e1', 'new']);

\set q `cat sql/pg/queries/update_execution_status.sql`
PREPARE update_execution_status(text[], text[], text[], boolean[], boolean[], boolean[], boolean[]) AS :q;
EXPLAIN (COSTS OFF) EXECUTE update_execution_status(ARRAY['e1'], ARRAY['done'], ARRAY[NULL], ARRAY[false], ARRAY[true], ARRAY[true], ARRAY[true]);

\set q `cat sql/pg/queries/update_variation_status.sql`
PREPARE update_variation_status(text[], text[], text[], boolean[], boolean[], boolean[], boolean[]) AS :q;
EXPLAIN (COSTS OFF) EXECUTE update_variation_status(ARRAY['v2', 'v1'], ARRAY['training', 'failed'], ARRAY[NULL, 'oom'], ARRAY[true, false], ARRAY[false, true], ARRAY[NULL, false], ARRAY[false, false]);

\set q `cat sql/pg/queries/update_progress.sql`
PREPARE update_progress(text, integer) AS :q;
EXPLAIN (COSTS OFF) EXECUTE update_progress('e1', 3);

\set q `cat sql/pg/queries/cleanup.sql`
PREPARE cleanup(timestamptz, boolean) AS :q;
-- The function plans with the cutoff's value (a one-shot SPI plan); a fixed
-- cutoff before every job here keeps the output stable.
EXPLAIN (COSTS OFF) EXECUTE cleanup('2000-01-01 00:00:00+00', true);
