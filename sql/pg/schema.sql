-- jobtrack schema: the base tables, the summary table kept exact by
-- statement-level triggers, and the indexes the runtime queries use.
--
-- This file is the source of truth for the schema. The extension's install
-- script includes it first (pgrx `extension_sql_file!(…, bootstrap)`); every
-- object is schema-qualified.
--
-- The script creates schema jobtrack itself, so the schema is a member of
-- the extension and DROP EXTENSION removes it with everything in it. (A
-- `schema = jobtrack` in jobtrack.control would have CREATE EXTENSION create
-- the schema outside the extension, to be left behind by DROP EXTENSION; the
-- control file names pg_catalog instead, as pg_cron does.)

\echo Use "CREATE EXTENSION jobtrack" to load this file. \quit

-- Text is compared, stored and returned as UTF-8 in both backends (the Rust
-- code reads every text column as UTF-8): refuse other encodings up front
-- instead of failing on the first non-ASCII job later.
DO $$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'jobtrack needs a UTF8 database; the encoding of this database is %',
                        pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create a database with ENCODING ''UTF8'' TEMPLATE template0 and install jobtrack there.';
    END IF;
END
$$;

CREATE SCHEMA jobtrack;
COMMENT ON SCHEMA jobtrack IS 'jobtrack: ML training-job tracking (tables, summary table, functions)';

-- ------------------------------------------------------------------ tables
-- job_id sorts bytewise (COLLATE "C"), as in SQLite, so that every ordering
-- that breaks ties on job_id is the same in both backends whatever the
-- database's locale, and the lock order is plain byte order.
--
-- Every timestamp lies in the years 1 to 9999 (UTC), the range both
-- backends (and RFC 3339 text) represent: a value outside it, or an
-- infinity, written with plain SQL would otherwise make every later read of
-- that job fail. (Stated as a year, not as two timestamptz constants, whose
-- text would depend on the session's time zone.)

CREATE TABLE jobtrack.executions (
    job_id           text COLLATE "C" PRIMARY KEY
                     CHECK (char_length(job_id) BETWEEN 1 AND 64),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                       'configuring_preset', 'ready_for_training',
                                       'training', 'generating_preview',
                                       'done', 'failed', 'cancelled')),
    pipeline_mode    text NOT NULL
                     CHECK (pipeline_mode IN ('single', 'batch', 'variations')),
    dataset_name     text NOT NULL
                     CHECK (char_length(dataset_name) BETWEEN 1 AND 255),
    preset           text NOT NULL
                     CHECK (char_length(preset) BETWEEN 1 AND 100),
    total_steps      integer CHECK (total_steps >= 0),
    current_step     integer CHECK (current_step >= 0),
    start_time       timestamptz
                     CHECK (EXTRACT(YEAR FROM start_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    end_time         timestamptz
                     CHECK (EXTRACT(YEAR FROM end_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    -- Within ±1e12 s (31,000 years): the statistics counters sum durations as
    -- whole microseconds in a bigint. Also refuses NaN and infinity.
    duration_seconds double precision CHECK (duration_seconds BETWEEN -1e12 AND 1e12),
    success          boolean,
    error_message    text,
    output_path      text,
    created_at       timestamptz NOT NULL DEFAULT now()
                     CHECK (EXTRACT(YEAR FROM created_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    updated_at       timestamptz NOT NULL DEFAULT now()
                     CHECK (EXTRACT(YEAR FROM updated_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    -- Who claimed the job last (claim_next_jobs); in no index and no
    -- derived table. Last, as ALTER TABLE ADD COLUMN puts it (0.5.0).
    worker           text CHECK (char_length(worker) BETWEEN 1 AND 255),
    -- The last heartbeat or progress report (heartbeat, update_progress;
    -- 0.6.0). In no index and no derived table, so that a heartbeat
    -- changes one heap tuple (HOT: no index entry) and no statistics;
    -- not updated_at, which is the last change of the job's data.
    last_heartbeat   timestamptz
                     CHECK (EXTRACT(YEAR FROM last_heartbeat AT TIME ZONE 'UTC') BETWEEN 1 AND 9999)
);

CREATE TABLE jobtrack.variations (
    job_id               text COLLATE "C" PRIMARY KEY
                         CHECK (char_length(job_id) BETWEEN 1 AND 64),
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                           'configuring_preset', 'ready_for_training',
                                           'training', 'generating_preview',
                                           'done', 'failed', 'cancelled')),
    variation_id         text NOT NULL
                         CHECK (char_length(variation_id) BETWEEN 1 AND 100),
    experiment_name      text NOT NULL
                         CHECK (char_length(experiment_name) BETWEEN 1 AND 255),
    dataset_name         text NOT NULL
                         CHECK (char_length(dataset_name) BETWEEN 1 AND 255),
    preset               text NOT NULL
                         CHECK (char_length(preset) BETWEEN 1 AND 100),
    total_combinations   integer NOT NULL CHECK (total_combinations >= 1),
    varied_parameters    jsonb NOT NULL DEFAULT '{}'
                         CHECK (jsonb_typeof(varied_parameters) = 'object'),
    parameter_values     jsonb NOT NULL DEFAULT '{}'
                         CHECK (jsonb_typeof(parameter_values) = 'object'),
    parent_experiment_id text CHECK (char_length(parent_experiment_id) BETWEEN 1 AND 255),
    total_steps          integer CHECK (total_steps >= 0),
    current_step         integer CHECK (current_step >= 0),
    start_time           timestamptz
                         CHECK (EXTRACT(YEAR FROM start_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    end_time             timestamptz
                         CHECK (EXTRACT(YEAR FROM end_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    duration_seconds     double precision CHECK (duration_seconds BETWEEN -1e12 AND 1e12),
    success              boolean,
    error_message        text,
    output_path          text,
    created_at           timestamptz NOT NULL DEFAULT now()
                         CHECK (EXTRACT(YEAR FROM created_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    updated_at           timestamptz NOT NULL DEFAULT now()
                         CHECK (EXTRACT(YEAR FROM updated_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    worker               text CHECK (char_length(worker) BETWEEN 1 AND 255),
    last_heartbeat       timestamptz
                         CHECK (EXTRACT(YEAR FROM last_heartbeat AT TIME ZONE 'UTC') BETWEEN 1 AND 9999)
);

-- One row per job of either kind, mirroring the columns the statistics,
-- dataset and recent-job queries need. Its primary key is what makes job_id
-- unique across both kinds: a second job with the same id, of either kind,
-- fails here with unique_violation (23505) in the writing statement.
CREATE TABLE jobtrack.job_summary_cache (
    job_id           text COLLATE "C" PRIMARY KEY,
    job_type         text NOT NULL CHECK (job_type IN ('execution', 'variation')),
    status           text NOT NULL,
    dataset_name     text NOT NULL,
    preset           text NOT NULL,
    start_time       timestamptz,
    duration_seconds double precision,
    success          boolean,
    -- the job's updated_at
    last_updated     timestamptz NOT NULL
);

-- Statistics in constant time: per (dataset, job type, status) the number of
-- jobs, how many succeeded (success = true) and failed (success = false), and
-- the count and sum of their durations, kept by the summary triggers below in
-- the same transaction as every write — jobtrack's functions and plain SQL
-- alike — so a rolled-back transaction or savepoint takes its counter changes
-- with it. get_statistics_optimized() reads only this table: its size depends
-- on the number of datasets, not of jobs.
--
-- Exact: every value is an integer, durations included (whole microseconds,
-- each duration rounded once, as in SQLite: round(duration_seconds * 1e6) on
-- the double, the same product SQLite computes), so adding a job and taking
-- it away again restores a counter exactly, where a floating-point sum would
-- drift. A bigint overflow fails the write instead of wrapping.
--
-- Insert-only deltas, so that no writer ever waits for another: each write
-- statement INSERTs one row per key whose values it changes (+1 per new
-- row, -1 per old row, netted), and a key's value is the sum of its rows.
-- A writer never updates or locks a row another transaction wrote, so two
-- transactions that touch disjoint jobs never wait for each other — however
-- many sessions there are, and whether the other one is idle in a
-- transaction or prepared. (Counter rows updated in place, even sharded,
-- make writers of one key queue behind each other's commits, and two of
-- them updating two keys in opposite orders deadlock.)
--
-- Folding keeps reads cheap: when a key has more than 8 rows, the writer
-- that touches it replaces them by their sum (jobtrack._fold_counters) if it
-- gets the key's advisory lock without waiting; otherwise another writer is
-- folding it and this one moves on. A key therefore has a handful of rows,
-- and a key whose sum is all zeros disappears at its next fold.
CREATE TABLE jobtrack.job_counters (
    dataset_name        text NOT NULL,
    job_type            text NOT NULL CHECK (job_type IN ('execution', 'variation')),
    status              text NOT NULL
                        CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                          'configuring_preset', 'ready_for_training',
                                          'training', 'generating_preview',
                                          'done', 'failed', 'cancelled')),
    -- No CHECK (jobs >= 0) and the like: a delta is negative by design, and
    -- a counter someone damaged by hand must not make every later write
    -- fail; verify_statistics() shows it, refresh_job_cache() repairs it.
    jobs                bigint NOT NULL,
    successful          bigint NOT NULL,
    failed              bigint NOT NULL,
    duration_count      bigint NOT NULL,
    duration_micros_sum bigint NOT NULL
);
-- dataset_name first: get_dataset_stats_optimized reads one dataset; the
-- fold reads one key.
CREATE INDEX job_counters_key_idx ON jobtrack.job_counters (dataset_name, job_type, status);

-- What the counters must hold, recounted from the base tables (a full scan):
-- refresh_job_cache() rebuilds the counters from it, verify_statistics()
-- compares them with it.
CREATE VIEW jobtrack.job_counters_recount AS
SELECT dataset_name, 'execution'::text AS job_type, status,
       count(*) AS jobs,
       count(*) FILTER (WHERE success) AS successful,
       count(*) FILTER (WHERE NOT success) AS failed,
       count(duration_seconds) AS duration_count,
       COALESCE(sum(round(duration_seconds * 1e6::double precision)::bigint), 0)::bigint
           AS duration_micros_sum
FROM jobtrack.executions
GROUP BY dataset_name, status
UNION ALL
SELECT dataset_name, 'variation'::text AS job_type, status,
       count(*) AS jobs,
       count(*) FILTER (WHERE success) AS successful,
       count(*) FILTER (WHERE NOT success) AS failed,
       count(duration_seconds) AS duration_count,
       COALESCE(sum(round(duration_seconds * 1e6::double precision)::bigint), 0)::bigint
           AS duration_micros_sum
FROM jobtrack.variations
GROUP BY dataset_name, status;

-- Sweep progress in constant time (get_experiment_stats): per variation
-- experiment, total_combinations and status, the same five values as
-- job_counters, kept the same way — insert-only delta rows written by the
-- experiment triggers below in the writing transaction, a key the sum of
-- its rows, folded when a key has more than 8 rows — so no writer waits
-- for another here either, and the counts are exact. Keyed by
-- total_combinations as well, so that a sweep's declared size (the largest
-- total_combinations among its variations) stays exact when variations
-- are deleted: it is the largest key whose sum has jobs. Its size depends
-- on the number of experiments, not of jobs, and it is read one
-- experiment at a time: get_statistics_optimized() never reads it.
CREATE TABLE jobtrack.experiment_counters (
    experiment_name     text NOT NULL,
    total_combinations  integer NOT NULL,
    status              text NOT NULL
                        CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                          'configuring_preset', 'ready_for_training',
                                          'training', 'generating_preview',
                                          'done', 'failed', 'cancelled')),
    -- No CHECK (jobs >= 0): see job_counters.
    jobs                bigint NOT NULL,
    successful          bigint NOT NULL,
    failed              bigint NOT NULL,
    duration_count      bigint NOT NULL,
    duration_micros_sum bigint NOT NULL
);
CREATE INDEX experiment_counters_key_idx
    ON jobtrack.experiment_counters (experiment_name, total_combinations, status);

-- What the experiment counters must hold, recounted from the variations (a
-- full scan): refresh_job_cache() rebuilds them from it.
CREATE VIEW jobtrack.experiment_counters_recount AS
SELECT experiment_name, total_combinations, status,
       count(*) AS jobs,
       count(*) FILTER (WHERE success) AS successful,
       count(*) FILTER (WHERE NOT success) AS failed,
       count(duration_seconds) AS duration_count,
       COALESCE(sum(round(duration_seconds * 1e6::double precision)::bigint), 0)::bigint
           AS duration_micros_sum
FROM jobtrack.variations
GROUP BY experiment_name, total_combinations, status;

-- The Job projection, written once: one row per job of either kind, in the
-- 18 columns (and the order) of a Job, the rows the listing functions
-- return. Every listing query reads it (sql/pg/queries/all_jobs.sql,
-- recent_jobs.sql, get_job.sql). The planner flattens the UNION ALL into
-- each query, so a filter on job_id or an ordering on created_at reaches
-- each table's own index (the pg_regress test `explain` shows the plans).
--
-- security_invoker: a read through the view is checked as the caller, on
-- both tables, with their row-level security, exactly as if the query named
-- the tables. A plain view would read them with the rights of its owner (the
-- superuser who ran CREATE EXTENSION) and hand every job to anyone allowed
-- to select from the view. pg_ext/src/reads.rs runs the listings against an
-- older catalog without this view (between installing a new package and
-- ALTER EXTENSION UPDATE) with the text between these markers.
CREATE VIEW jobtrack.jobs WITH (security_invoker = true) AS
-- jobs view: begin
SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name, e.preset,
       e.pipeline_mode AS mode, NULL::text AS experiment_name, NULL::text AS variation_id,
       e.success, e.duration_seconds, e.error_message, e.output_path, e.total_steps,
       e.current_step, e.start_time, e.created_at, e.updated_at, e.last_heartbeat
FROM jobtrack.executions AS e
UNION ALL
SELECT v.job_id, 'variation'::text, v.status, v.dataset_name, v.preset,
       'variations'::text, v.experiment_name, v.variation_id,
       v.success, v.duration_seconds, v.error_message, v.output_path, v.total_steps,
       v.current_step, v.start_time, v.created_at, v.updated_at, v.last_heartbeat
FROM jobtrack.variations AS v
-- jobs view: end
;

-- SELECT on the view for every role, so that the view adds no privilege
-- to what reading jobs needs: SELECT on executions and variations, as
-- before the view existed (a role granted SELECT on the two tables alone
-- keeps its listings). Safe only because of security_invoker: the grant
-- lets a role past the view, never past the tables — a role without SELECT
-- on either table gets 42501, and row-level security on them filters the
-- rows as for a direct query. Without security_invoker this grant would
-- publish every job.
GRANT SELECT ON jobtrack.jobs TO PUBLIC;

-- ----------------------------------------------------------------- indexes
-- Each index serves one runtime query (sql/pg/queries/); the pg_regress test
-- `explain` checks that the query's plan uses it.

-- get_all_jobs_optimized: newest created_at first, ties on job_id descending;
-- a Merge Append of the two index scans stops after `lim` rows.
CREATE INDEX executions_created_idx ON jobtrack.executions (created_at DESC, job_id DESC);
CREATE INDEX variations_created_idx ON jobtrack.variations (created_at DESC, job_id DESC);

-- get_running_jobs: partial, so only the (few) active jobs are read, already
-- in the order of the result.
CREATE INDEX executions_active_idx ON jobtrack.executions (created_at DESC, job_id DESC)
    WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview');
CREATE INDEX variations_active_idx ON jobtrack.variations (created_at DESC, job_id DESC)
    WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview');

-- cleanup_old_jobs: partial on the terminal statuses, the only ones cleanup
-- may delete.
CREATE INDEX executions_cleanup_idx ON jobtrack.executions (created_at)
    WHERE status IN ('done', 'failed', 'cancelled');
CREATE INDEX variations_cleanup_idx ON jobtrack.variations (created_at)
    WHERE status IN ('done', 'failed', 'cancelled');

-- get_dataset_stats_optimized: the counts and the average come from the
-- counters (job_counters, below); the extremes from these two indexes, each
-- the first or last entry of the dataset — one index seek, not a scan.
-- (The statistics need no index on this table any more: they read only the
-- counters.)
CREATE INDEX job_summary_cache_dataset_duration_idx
    ON jobtrack.job_summary_cache (dataset_name, duration_seconds);
CREATE INDEX job_summary_cache_dataset_start_idx
    ON jobtrack.job_summary_cache (dataset_name, start_time);

-- get_recent_jobs_optimized: newest updated_at first, ties on job_id descending.
CREATE INDEX job_summary_cache_recent_idx ON jobtrack.job_summary_cache (last_updated DESC, job_id DESC);

-- get_experiment_stats: the counts and the average come from the
-- experiment counters; the extremes from these two indexes, each the first
-- or last entry of the experiment — one index seek, not a scan.
CREATE INDEX variations_experiment_duration_idx
    ON jobtrack.variations (experiment_name, duration_seconds);
CREATE INDEX variations_experiment_start_idx
    ON jobtrack.variations (experiment_name, start_time);

-- ------------------------------------------------ summary table maintenance
-- Statement-level AFTER triggers with transition tables: one set-based step
-- per statement, whoever writes (jobtrack functions or plain SQL). TG_ARGV[0]
-- is the job_type of the table. The summary statements are run with EXECUTE
-- so that each is planned for the actual size of its transition tables (a
-- cached generic plan made for one row would turn the anti-joins quadratic
-- on a 100,000-row batch); the SQL text is constant, never built from input.
--
-- Each trigger then applies its statement's change to the counters in ONE
-- aggregated step: the new rows count +1, the old rows -1, grouped by
-- (dataset, status) and netted, so that a key whose counts do not change
-- (update_progress, an UPDATE of output_path) is not written at all. The
-- step INSERTs one delta row per changed key (job_counters above) and then
-- offers those keys to the fold. It is static SQL with a cached plan: a
-- grouping is linear whatever the plan, and the one-row case gains most
-- from skipping the planner. The blocks between "counters: begin" and
-- "counters: end" are the whole counter maintenance (the bench removes them
-- to measure its cost).
--
-- The trigger functions are SECURITY DEFINER, owned by the extension's
-- owner: the derived tables are written only by them, so a role that may
-- write jobs needs no privilege on job_summary_cache or job_counters and
-- cannot damage them with plain SQL. That is safe because every statement
-- they run is constant text over the transition tables and the extension's
-- own schema-qualified tables, the search_path is pinned to pg_catalog and
-- pg_temp, and PUBLIC may not execute them (a trigger function can only be
-- called as a trigger anyway).

-- Replaces the rows of each key (p_job_type, p_datasets[i], p_statuses[i])
-- by their sum when the key has more than 8 rows and this transaction gets
-- the key's advisory lock without waiting (see job_counters). Exact under
-- concurrency: only the holder of a key's lock deletes its rows, each fold
-- inserts the sum of exactly the rows it deleted, and a row that a fold
-- which committed after this statement's snapshot already deleted is
-- skipped by the DELETE (READ COMMITTED), so nothing is counted twice.
-- Under REPEATABLE READ or SERIALIZABLE such a row would be a serialization
-- failure instead: those transactions leave folding to others. Internal.
CREATE FUNCTION jobtrack._fold_counters(
    p_job_type text, p_datasets text[], p_statuses text[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_datasets IS NULL
       OR pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN;
    END IF;
    WITH due AS (
        SELECT DISTINCT z.dataset_name, z.status
        FROM unnest(p_datasets, p_statuses) AS z(dataset_name, status)
        WHERE z.dataset_name IS NOT NULL
          AND (SELECT count(*)
               FROM (SELECT FROM jobtrack.job_counters AS c
                     WHERE c.dataset_name = z.dataset_name AND c.job_type = p_job_type
                       AND c.status = z.status
                     LIMIT 9) AS r) > 8
    ), locked AS (
        SELECT d.dataset_name, d.status
        FROM due AS d
        WHERE pg_try_advisory_xact_lock('jobtrack.job_counters'::regclass::oid::integer,
                                        hashtext(p_job_type || '/' || d.status || '/' || d.dataset_name))
    ), gone AS (
        DELETE FROM jobtrack.job_counters AS c
        USING locked AS l
        WHERE c.dataset_name = l.dataset_name AND c.job_type = p_job_type AND c.status = l.status
        RETURNING c.dataset_name, c.status, c.jobs, c.successful, c.failed,
                  c.duration_count, c.duration_micros_sum
    )
    INSERT INTO jobtrack.job_counters
        (dataset_name, job_type, status, jobs, successful, failed,
         duration_count, duration_micros_sum)
    SELECT g.dataset_name, p_job_type, g.status, sum(g.jobs), sum(g.successful), sum(g.failed),
           sum(g.duration_count), sum(g.duration_micros_sum)
    FROM gone AS g
    GROUP BY g.dataset_name, g.status
    HAVING (sum(g.jobs), sum(g.successful), sum(g.failed), sum(g.duration_count),
            sum(g.duration_micros_sum)) <> (0, 0, 0, 0, 0);
END
$$;

CREATE FUNCTION jobtrack.summary_after_insert() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_datasets text[];
    v_statuses text[];
BEGIN
    -- job_id order, so that concurrent inserts take the summary's key locks
    -- in one order.
    EXECUTE $sql$
        INSERT INTO jobtrack.job_summary_cache
            (job_id, job_type, status, dataset_name, preset, start_time,
             duration_seconds, success, last_updated)
        SELECT n.job_id, $1, n.status, n.dataset_name, n.preset, n.start_time,
               n.duration_seconds, n.success, n.updated_at
        FROM new_rows AS n
        ORDER BY n.job_id
    $sql$ USING TG_ARGV[0];
    -- counters: begin
    WITH added AS (
        INSERT INTO jobtrack.job_counters AS c
            (dataset_name, job_type, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        SELECT n.dataset_name, TG_ARGV[0], n.status,
               count(*), count(*) FILTER (WHERE n.success), count(*) FILTER (WHERE NOT n.success),
               count(n.duration_seconds),
               COALESCE(sum(round(n.duration_seconds * 1e6::double precision)::bigint), 0)::bigint
        FROM new_rows AS n
        GROUP BY n.dataset_name, n.status
        RETURNING c.dataset_name, c.status
    )
    SELECT array_agg(added.dataset_name), array_agg(added.status)
    INTO v_datasets, v_statuses
    FROM added;
    PERFORM jobtrack._fold_counters(TG_ARGV[0], v_datasets, v_statuses);
    -- counters: end
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.summary_after_update() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_datasets text[];
    v_statuses text[];
BEGIN
    -- Rows whose job_id was changed away.
    EXECUTE $sql$
        DELETE FROM jobtrack.job_summary_cache AS s
        USING old_rows AS o
        WHERE s.job_id = o.job_id
          AND s.job_type = $1
          AND NOT EXISTS (SELECT FROM new_rows AS n WHERE n.job_id = o.job_id)
    $sql$ USING TG_ARGV[0];
    -- Rows that kept their job_id; unchanged mirrors are not rewritten.
    EXECUTE $sql$
        UPDATE jobtrack.job_summary_cache AS s
        SET status = n.status,
            dataset_name = n.dataset_name,
            preset = n.preset,
            start_time = n.start_time,
            duration_seconds = n.duration_seconds,
            success = n.success,
            last_updated = n.updated_at
        FROM new_rows AS n
        WHERE s.job_id = n.job_id
          AND s.job_type = $1
          AND (s.status, s.dataset_name, s.preset, s.start_time, s.duration_seconds,
               s.success, s.last_updated)
              IS DISTINCT FROM
              (n.status, n.dataset_name, n.preset, n.start_time, n.duration_seconds,
               n.success, n.updated_at)
    $sql$ USING TG_ARGV[0];
    -- Rows whose job_id was changed to a new one (the primary key rejects an
    -- id the other kind already uses).
    EXECUTE $sql$
        INSERT INTO jobtrack.job_summary_cache
            (job_id, job_type, status, dataset_name, preset, start_time,
             duration_seconds, success, last_updated)
        SELECT n.job_id, $1, n.status, n.dataset_name, n.preset, n.start_time,
               n.duration_seconds, n.success, n.updated_at
        FROM new_rows AS n
        WHERE NOT EXISTS (SELECT FROM old_rows AS o WHERE o.job_id = n.job_id)
        ORDER BY n.job_id
    $sql$ USING TG_ARGV[0];
    -- counters: begin
    WITH delta AS (
        SELECT n.dataset_name, n.status, 1 AS jobs,
               (n.success IS TRUE)::int AS successful, (n.success IS FALSE)::int AS failed,
               (n.duration_seconds IS NOT NULL)::int AS duration_count,
               COALESCE(round(n.duration_seconds * 1e6::double precision)::bigint, 0)
                   AS duration_micros
        FROM new_rows AS n
        UNION ALL
        SELECT o.dataset_name, o.status, -1,
               -(o.success IS TRUE)::int, -(o.success IS FALSE)::int,
               -(o.duration_seconds IS NOT NULL)::int,
               -COALESCE(round(o.duration_seconds * 1e6::double precision)::bigint, 0)
        FROM old_rows AS o
    ), net AS (
        SELECT d.dataset_name, d.status, sum(d.jobs) AS jobs, sum(d.successful) AS successful,
               sum(d.failed) AS failed, sum(d.duration_count) AS duration_count,
               sum(d.duration_micros)::bigint AS duration_micros_sum
        FROM delta AS d
        GROUP BY d.dataset_name, d.status
    ), added AS (
        INSERT INTO jobtrack.job_counters AS c
            (dataset_name, job_type, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        SELECT net.dataset_name, TG_ARGV[0], net.status, net.jobs, net.successful,
               net.failed, net.duration_count, net.duration_micros_sum
        FROM net
        WHERE (net.jobs, net.successful, net.failed, net.duration_count, net.duration_micros_sum)
              <> (0, 0, 0, 0, 0)
        RETURNING c.dataset_name, c.status
    )
    SELECT array_agg(added.dataset_name), array_agg(added.status)
    INTO v_datasets, v_statuses
    FROM added;
    PERFORM jobtrack._fold_counters(TG_ARGV[0], v_datasets, v_statuses);
    -- counters: end
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.summary_after_delete() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_datasets text[];
    v_statuses text[];
BEGIN
    EXECUTE $sql$
        DELETE FROM jobtrack.job_summary_cache AS s
        USING old_rows AS o
        WHERE s.job_id = o.job_id
          AND s.job_type = $1
    $sql$ USING TG_ARGV[0];
    -- counters: begin
    WITH added AS (
        INSERT INTO jobtrack.job_counters AS c
            (dataset_name, job_type, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        SELECT o.dataset_name, TG_ARGV[0], o.status,
               -count(*), -count(*) FILTER (WHERE o.success),
               -count(*) FILTER (WHERE NOT o.success), -count(o.duration_seconds),
               -COALESCE(sum(round(o.duration_seconds * 1e6::double precision)::bigint), 0)::bigint
        FROM old_rows AS o
        GROUP BY o.dataset_name, o.status
        RETURNING c.dataset_name, c.status
    )
    SELECT array_agg(added.dataset_name), array_agg(added.status)
    INTO v_datasets, v_statuses
    FROM added;
    PERFORM jobtrack._fold_counters(TG_ARGV[0], v_datasets, v_statuses);
    -- counters: end
    RETURN NULL;
END
$$;

-- Enabled ALWAYS (below): TRUNCATE has no row-level form, so this one
-- trigger also serves logical replication apply and
-- session_replication_role = replica, where the cache triggers on the
-- summary table do not fire — hence the explicit cache note.
CREATE FUNCTION jobtrack.summary_after_truncate() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM jobtrack.job_summary_cache WHERE job_type = TG_ARGV[0];
    -- counters: begin
    DELETE FROM jobtrack.job_counters WHERE job_type = TG_ARGV[0];
    -- counters: end
    PERFORM jobtrack._cache_note_change(NULL);
    RETURN NULL;
END
$$;

-- Logical replication apply runs only row-level triggers, and only those
-- enabled REPLICA or ALWAYS (so does any session with
-- session_replication_role = replica, and the initial table copy of a
-- subscription). This row-level trigger, enabled REPLICA, keeps the summary,
-- the counters, cross-kind job_id uniqueness (the summary's primary key)
-- and the cache exact there; the statement-level triggers above, enabled
-- ORIGIN as usual, do it everywhere else. Exactly one of the two fires for
-- any write. One row at a time: slower than the statement-level path, but a
-- subscriber applies one row at a time anyway.
CREATE FUNCTION jobtrack.summary_replica_row() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (OLD.job_id, OLD.status, OLD.dataset_name, OLD.preset, OLD.start_time,
            OLD.duration_seconds, OLD.success, OLD.updated_at)
           IS NOT DISTINCT FROM
           (NEW.job_id, NEW.status, NEW.dataset_name, NEW.preset, NEW.start_time,
            NEW.duration_seconds, NEW.success, NEW.updated_at) THEN
        -- No mirrored column changed, but the row did (a heartbeat, an
        -- output_path): the recent jobs show every column.
        PERFORM jobtrack._cache_note_rows();
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM jobtrack.job_summary_cache
        WHERE job_id = OLD.job_id AND job_type = TG_ARGV[0];
        -- counters: begin
        INSERT INTO jobtrack.job_counters
            (dataset_name, job_type, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        VALUES (OLD.dataset_name, TG_ARGV[0], OLD.status, -1,
                -(OLD.success IS TRUE)::int, -(OLD.success IS FALSE)::int,
                -(OLD.duration_seconds IS NOT NULL)::int,
                -COALESCE(round(OLD.duration_seconds * 1e6::double precision)::bigint, 0));
        -- counters: end
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO jobtrack.job_summary_cache
            (job_id, job_type, status, dataset_name, preset, start_time,
             duration_seconds, success, last_updated)
        VALUES (NEW.job_id, TG_ARGV[0], NEW.status, NEW.dataset_name, NEW.preset,
                NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
        -- counters: begin
        INSERT INTO jobtrack.job_counters
            (dataset_name, job_type, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        VALUES (NEW.dataset_name, TG_ARGV[0], NEW.status, 1,
                (NEW.success IS TRUE)::int, (NEW.success IS FALSE)::int,
                (NEW.duration_seconds IS NOT NULL)::int,
                COALESCE(round(NEW.duration_seconds * 1e6::double precision)::bigint, 0));
        -- counters: end
    END IF;
    PERFORM jobtrack._fold_counters(TG_ARGV[0], ARRAY[OLD.dataset_name, NEW.dataset_name],
                                    ARRAY[OLD.status, NEW.status]);
    PERFORM jobtrack._cache_note_change(ARRAY[OLD.dataset_name, NEW.dataset_name]);
    RETURN NULL;
END
$$;

-- PostgreSQL allows transition tables only on single-event triggers, hence
-- one trigger per event.
CREATE TRIGGER summary_after_insert AFTER INSERT ON jobtrack.executions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_insert('execution');
CREATE TRIGGER summary_after_update AFTER UPDATE ON jobtrack.executions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_update('execution');
CREATE TRIGGER summary_after_delete AFTER DELETE ON jobtrack.executions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_delete('execution');
CREATE TRIGGER summary_after_truncate AFTER TRUNCATE ON jobtrack.executions
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_truncate('execution');
CREATE TRIGGER summary_replica_row AFTER INSERT OR UPDATE OR DELETE ON jobtrack.executions
    FOR EACH ROW EXECUTE FUNCTION jobtrack.summary_replica_row('execution');

CREATE TRIGGER summary_after_insert AFTER INSERT ON jobtrack.variations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_insert('variation');
CREATE TRIGGER summary_after_update AFTER UPDATE ON jobtrack.variations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_update('variation');
CREATE TRIGGER summary_after_delete AFTER DELETE ON jobtrack.variations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_delete('variation');
CREATE TRIGGER summary_after_truncate AFTER TRUNCATE ON jobtrack.variations
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.summary_after_truncate('variation');
CREATE TRIGGER summary_replica_row AFTER INSERT OR UPDATE OR DELETE ON jobtrack.variations
    FOR EACH ROW EXECUTE FUNCTION jobtrack.summary_replica_row('variation');

ALTER TABLE jobtrack.executions ENABLE REPLICA TRIGGER summary_replica_row;
ALTER TABLE jobtrack.executions ENABLE ALWAYS TRIGGER summary_after_truncate;
ALTER TABLE jobtrack.variations ENABLE REPLICA TRIGGER summary_replica_row;
ALTER TABLE jobtrack.variations ENABLE ALWAYS TRIGGER summary_after_truncate;

-- ------------------------------------------ experiment counter maintenance
-- The experiment counters of the variations, kept as job_counters are: one
-- aggregated step per statement (the new rows +1, the old rows -1, grouped
-- by experiment, total_combinations and status, netted, unchanged keys not
-- written), then the changed keys offered to their fold; a row-level
-- trigger enabled REPLICA where statement-level triggers do not fire, and
-- TRUNCATE enabled ALWAYS. SECURITY DEFINER, pinned search_path and no
-- EXECUTE for PUBLIC, for the reasons given for the summary triggers.

-- As _fold_counters, for the keys (p_experiments[i], p_combinations[i],
-- p_statuses[i]) of experiment_counters. Internal.
CREATE FUNCTION jobtrack._fold_experiment_counters(
    p_experiments text[], p_combinations integer[], p_statuses text[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_experiments IS NULL
       OR pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN;
    END IF;
    WITH due AS (
        SELECT DISTINCT z.experiment_name, z.total_combinations, z.status
        FROM unnest(p_experiments, p_combinations, p_statuses)
             AS z(experiment_name, total_combinations, status)
        WHERE z.experiment_name IS NOT NULL
          AND (SELECT count(*)
               FROM (SELECT FROM jobtrack.experiment_counters AS c
                     WHERE c.experiment_name = z.experiment_name
                       AND c.total_combinations = z.total_combinations
                       AND c.status = z.status
                     LIMIT 9) AS r) > 8
    ), locked AS (
        SELECT d.experiment_name, d.total_combinations, d.status
        FROM due AS d
        WHERE pg_try_advisory_xact_lock('jobtrack.experiment_counters'::regclass::oid::integer,
                                        hashtext(d.total_combinations::text || '/' || d.status
                                                 || '/' || d.experiment_name))
    ), gone AS (
        DELETE FROM jobtrack.experiment_counters AS c
        USING locked AS l
        WHERE c.experiment_name = l.experiment_name
          AND c.total_combinations = l.total_combinations AND c.status = l.status
        RETURNING c.experiment_name, c.total_combinations, c.status, c.jobs, c.successful,
                  c.failed, c.duration_count, c.duration_micros_sum
    )
    INSERT INTO jobtrack.experiment_counters
        (experiment_name, total_combinations, status, jobs, successful, failed,
         duration_count, duration_micros_sum)
    SELECT g.experiment_name, g.total_combinations, g.status, sum(g.jobs), sum(g.successful),
           sum(g.failed), sum(g.duration_count), sum(g.duration_micros_sum)
    FROM gone AS g
    GROUP BY g.experiment_name, g.total_combinations, g.status
    HAVING (sum(g.jobs), sum(g.successful), sum(g.failed), sum(g.duration_count),
            sum(g.duration_micros_sum)) <> (0, 0, 0, 0, 0);
END
$$;

-- One function for the three statement-level triggers (each a trigger of
-- its own: transition tables need single-event triggers); PL/pgSQL plans a
-- branch when it first runs, so each trigger only ever plans its own.
CREATE FUNCTION jobtrack.experiment_counters_after_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_experiments text[];
    v_combinations integer[];
    v_statuses text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH added AS (
            INSERT INTO jobtrack.experiment_counters AS c
                (experiment_name, total_combinations, status, jobs, successful, failed,
                 duration_count, duration_micros_sum)
            SELECT n.experiment_name, n.total_combinations, n.status,
                   count(*), count(*) FILTER (WHERE n.success),
                   count(*) FILTER (WHERE NOT n.success), count(n.duration_seconds),
                   COALESCE(sum(round(n.duration_seconds * 1e6::double precision)::bigint), 0)::bigint
            FROM new_rows AS n
            GROUP BY n.experiment_name, n.total_combinations, n.status
            RETURNING c.experiment_name, c.total_combinations, c.status
        )
        SELECT array_agg(added.experiment_name), array_agg(added.total_combinations),
               array_agg(added.status)
        INTO v_experiments, v_combinations, v_statuses
        FROM added;
    ELSIF TG_OP = 'DELETE' THEN
        WITH added AS (
            INSERT INTO jobtrack.experiment_counters AS c
                (experiment_name, total_combinations, status, jobs, successful, failed,
                 duration_count, duration_micros_sum)
            SELECT o.experiment_name, o.total_combinations, o.status,
                   -count(*), -count(*) FILTER (WHERE o.success),
                   -count(*) FILTER (WHERE NOT o.success), -count(o.duration_seconds),
                   -COALESCE(sum(round(o.duration_seconds * 1e6::double precision)::bigint), 0)::bigint
            FROM old_rows AS o
            GROUP BY o.experiment_name, o.total_combinations, o.status
            RETURNING c.experiment_name, c.total_combinations, c.status
        )
        SELECT array_agg(added.experiment_name), array_agg(added.total_combinations),
               array_agg(added.status)
        INTO v_experiments, v_combinations, v_statuses
        FROM added;
    ELSE
        WITH delta AS (
            SELECT n.experiment_name, n.total_combinations, n.status, 1 AS jobs,
                   (n.success IS TRUE)::int AS successful, (n.success IS FALSE)::int AS failed,
                   (n.duration_seconds IS NOT NULL)::int AS duration_count,
                   COALESCE(round(n.duration_seconds * 1e6::double precision)::bigint, 0)
                       AS duration_micros
            FROM new_rows AS n
            UNION ALL
            SELECT o.experiment_name, o.total_combinations, o.status, -1,
                   -(o.success IS TRUE)::int, -(o.success IS FALSE)::int,
                   -(o.duration_seconds IS NOT NULL)::int,
                   -COALESCE(round(o.duration_seconds * 1e6::double precision)::bigint, 0)
            FROM old_rows AS o
        ), net AS (
            SELECT d.experiment_name, d.total_combinations, d.status, sum(d.jobs) AS jobs,
                   sum(d.successful) AS successful, sum(d.failed) AS failed,
                   sum(d.duration_count) AS duration_count,
                   sum(d.duration_micros)::bigint AS duration_micros_sum
            FROM delta AS d
            GROUP BY d.experiment_name, d.total_combinations, d.status
        ), added AS (
            INSERT INTO jobtrack.experiment_counters AS c
                (experiment_name, total_combinations, status, jobs, successful, failed,
                 duration_count, duration_micros_sum)
            SELECT net.experiment_name, net.total_combinations, net.status, net.jobs,
                   net.successful, net.failed, net.duration_count, net.duration_micros_sum
            FROM net
            WHERE (net.jobs, net.successful, net.failed, net.duration_count,
                   net.duration_micros_sum) <> (0, 0, 0, 0, 0)
            RETURNING c.experiment_name, c.total_combinations, c.status
        )
        SELECT array_agg(added.experiment_name), array_agg(added.total_combinations),
               array_agg(added.status)
        INTO v_experiments, v_combinations, v_statuses
        FROM added;
    END IF;
    PERFORM jobtrack._fold_experiment_counters(v_experiments, v_combinations, v_statuses);
    RETURN NULL;
END
$$;

-- TRUNCATE of variations: no variation, no experiment counter. Enabled
-- ALWAYS, as summary_after_truncate.
CREATE FUNCTION jobtrack.experiment_counters_after_truncate() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM jobtrack.experiment_counters;
    RETURN NULL;
END
$$;

-- Logical replication apply and session_replication_role = replica: one
-- row at a time, as summary_replica_row (which notes the cache change).
CREATE FUNCTION jobtrack.experiment_counters_replica_row() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (OLD.experiment_name, OLD.total_combinations, OLD.status, OLD.success,
            OLD.duration_seconds)
           IS NOT DISTINCT FROM
           (NEW.experiment_name, NEW.total_combinations, NEW.status, NEW.success,
            NEW.duration_seconds) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO jobtrack.experiment_counters
            (experiment_name, total_combinations, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        VALUES (OLD.experiment_name, OLD.total_combinations, OLD.status, -1,
                -(OLD.success IS TRUE)::int, -(OLD.success IS FALSE)::int,
                -(OLD.duration_seconds IS NOT NULL)::int,
                -COALESCE(round(OLD.duration_seconds * 1e6::double precision)::bigint, 0));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO jobtrack.experiment_counters
            (experiment_name, total_combinations, status, jobs, successful, failed,
             duration_count, duration_micros_sum)
        VALUES (NEW.experiment_name, NEW.total_combinations, NEW.status, 1,
                (NEW.success IS TRUE)::int, (NEW.success IS FALSE)::int,
                (NEW.duration_seconds IS NOT NULL)::int,
                COALESCE(round(NEW.duration_seconds * 1e6::double precision)::bigint, 0));
    END IF;
    PERFORM jobtrack._fold_experiment_counters(
        ARRAY[OLD.experiment_name, NEW.experiment_name],
        ARRAY[OLD.total_combinations, NEW.total_combinations], ARRAY[OLD.status, NEW.status]);
    RETURN NULL;
END
$$;

CREATE TRIGGER experiment_counters_after_insert AFTER INSERT ON jobtrack.variations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.experiment_counters_after_write();
CREATE TRIGGER experiment_counters_after_update AFTER UPDATE ON jobtrack.variations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.experiment_counters_after_write();
CREATE TRIGGER experiment_counters_after_delete AFTER DELETE ON jobtrack.variations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.experiment_counters_after_write();
CREATE TRIGGER experiment_counters_after_truncate AFTER TRUNCATE ON jobtrack.variations
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.experiment_counters_after_truncate();
CREATE TRIGGER experiment_counters_replica_row AFTER INSERT OR UPDATE OR DELETE
    ON jobtrack.variations
    FOR EACH ROW EXECUTE FUNCTION jobtrack.experiment_counters_replica_row();
ALTER TABLE jobtrack.variations ENABLE REPLICA TRIGGER experiment_counters_replica_row;
ALTER TABLE jobtrack.variations ENABLE ALWAYS TRIGGER experiment_counters_after_truncate;

-- Backups: pg_dump dumps no member table of an extension unless it is
-- marked. The base tables are; the derived tables are not — restoring the
-- base tables' rows (a COPY, triggers enabled) runs the triggers above,
-- which rebuild the summary and the counters exactly, so a dump holds each
-- job once and a restore cannot duplicate a derived row.
SELECT pg_catalog.pg_extension_config_dump('jobtrack.executions', '');
SELECT pg_catalog.pg_extension_config_dump('jobtrack.variations', '');

COMMENT ON TABLE jobtrack.executions IS
    'jobtrack: training pipeline runs; write with the jobtrack functions or plain SQL';
COMMENT ON TABLE jobtrack.variations IS
    'jobtrack: combinations of hyper-parameter sweeps; write with the jobtrack functions or plain SQL';
COMMENT ON TABLE jobtrack.job_counters IS
    'jobtrack: statistics counters as insert-only delta rows per (dataset, job type, status), kept exact by the summary triggers in the writing transaction; a key is the sum of its rows; check with jobtrack.verify_statistics(), rebuild with jobtrack.refresh_job_cache()';
COMMENT ON VIEW jobtrack.job_counters_recount IS
    'jobtrack: what job_counters must hold (summed per key), recounted from the base tables: a full scan';
COMMENT ON VIEW jobtrack.jobs IS
    'jobtrack: every job of either kind as a Job row (the columns of get_all_jobs_optimized), read with the caller''s privileges and row-level security on executions and variations (security_invoker)';
COMMENT ON TABLE jobtrack.job_summary_cache IS
    'jobtrack: one row per job of either kind, kept exact by statement-level triggers in the writing transaction; rebuild with jobtrack.refresh_job_cache()';
COMMENT ON FUNCTION jobtrack._fold_counters(text, text[], text[]) IS
    'jobtrack internal: folds the delta rows of the given counter keys when it can without waiting';
COMMENT ON TABLE jobtrack.experiment_counters IS
    'jobtrack: sweep progress counters as insert-only delta rows per (experiment, total_combinations, status), kept exact by the experiment triggers of variations in the writing transaction; rebuild with jobtrack.refresh_job_cache()';
COMMENT ON VIEW jobtrack.experiment_counters_recount IS
    'jobtrack: what experiment_counters must hold (summed per key), recounted from the variations: a full scan';
COMMENT ON FUNCTION jobtrack._fold_experiment_counters(text[], integer[], text[]) IS
    'jobtrack internal: folds the delta rows of the given experiment counter keys when it can without waiting';

-- ------------------------------------------------- shared result cache
-- Statement-level triggers note, in the writing transaction, that jobs
-- changed (jobtrack._cache_note_change); the transaction callback publishes
-- the note to the shared cache just before the transaction becomes visible
-- (pg_ext/src/cache.rs). Every table, BEFORE each writing statement: that
-- this transaction changes jobs, noted before its first row is written, so
-- that the transaction's own cached reads bypass the cache from then on,
-- even in the middle of the statement; on the derived tables only for a
-- statement of the user's own (trigger depth 0), since jobtrack's triggers
-- write them for a base-table statement noted already. A base-table
-- statement is noted as a change of job rows (_cache_note_rows), which
-- retires the recent jobs only: the statistics read only the summary table
-- and the counters, and every change of their data reaches the summary
-- table through the triggers above (its columns are those the counters
-- count), whose AFTER triggers note it with the datasets it touched
-- (_cache_note_change), so that a heartbeat, a progress report or an
-- output_path leaves the statistics' entries, and other datasets' entries
-- stay.
-- SECURITY DEFINER for the reason given for the summary triggers, and
-- because _cache_note_change is not executable by PUBLIC.
CREATE FUNCTION jobtrack.cache_before_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'executions' OR TG_TABLE_NAME = 'variations' THEN
        PERFORM jobtrack._cache_note_rows();
    ELSE
        PERFORM jobtrack._cache_note_change('{}'::text[]);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.cache_after_summary_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_datasets text[];
    v_lost boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_datasets := ARRAY(SELECT DISTINCT n.dataset_name FROM new_rows AS n);
    ELSIF TG_OP = 'UPDATE' THEN
        -- The datasets of the rows whose statistics' columns changed, or
        -- every dataset when a row's job_id changed; none when only
        -- last_updated did (a progress report), which only the recent jobs
        -- show, noted by the base table's trigger. Set operations, not a
        -- join of the two transition tables: PL/pgSQL keeps the plan of a
        -- statement's first run, and a join planned for a one-row update
        -- (a nested loop) compared every old row with every new one in a
        -- later batch (36 million comparisons, 5.7 s, for 6,000 jobs);
        -- EXCEPT and GROUP BY hash or sort whatever the estimate. job_id is
        -- unique on each side, so a version of a row stands once in the old
        -- and new rows together exactly when its job_id is new or one of
        -- its statistics' columns changed (NULLs group as equal, as IS
        -- DISTINCT FROM has it): its old and its new dataset are those.
        v_lost := EXISTS (SELECT o.job_id FROM old_rows AS o
                          EXCEPT
                          SELECT n.job_id FROM new_rows AS n);
        IF v_lost THEN
            PERFORM jobtrack._cache_note_change(NULL);
            RETURN NULL;
        END IF;
        v_datasets := ARRAY(
            SELECT DISTINCT v.dataset_name
            FROM (SELECT o.job_id, o.job_type, o.status, o.dataset_name, o.preset,
                         o.start_time, o.duration_seconds, o.success
                  FROM old_rows AS o
                  UNION ALL
                  SELECT n.job_id, n.job_type, n.status, n.dataset_name, n.preset,
                         n.start_time, n.duration_seconds, n.success
                  FROM new_rows AS n) AS v
            GROUP BY v.job_id, v.job_type, v.status, v.dataset_name, v.preset,
                     v.start_time, v.duration_seconds, v.success
            HAVING count(*) = 1);
    ELSIF TG_OP = 'DELETE' THEN
        v_datasets := ARRAY(SELECT DISTINCT o.dataset_name FROM old_rows AS o);
    ELSE
        -- TRUNCATE: every dataset.
        PERFORM jobtrack._cache_note_change(NULL);
        RETURN NULL;
    END IF;
    -- A statement that changed no row of the statistics' data changed no
    -- statistics (the summary triggers run statements that often change
    -- nothing: every base-table update runs all three of theirs).
    IF cardinality(v_datasets) > 0 THEN
        PERFORM jobtrack._cache_note_change(v_datasets);
    END IF;
    RETURN NULL;
END
$$;

-- The counters change with the summary table, through its triggers above
-- (trigger depth 2 and more, noted there). A direct write to them (depth 1:
-- plain SQL, refresh_job_cache()) may change any dataset's statistics.
CREATE FUNCTION jobtrack.cache_after_counters_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        PERFORM jobtrack._cache_note_change(NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.executions
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.variations
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.job_summary_cache
    FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.job_counters
    FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.experiment_counters
    FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_after_insert AFTER INSERT ON jobtrack.job_summary_cache
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_summary_write();
CREATE TRIGGER cache_after_update AFTER UPDATE ON jobtrack.job_summary_cache
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_summary_write();
CREATE TRIGGER cache_after_delete AFTER DELETE ON jobtrack.job_summary_cache
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_summary_write();
CREATE TRIGGER cache_after_truncate AFTER TRUNCATE ON jobtrack.job_summary_cache
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_summary_write();
CREATE TRIGGER cache_after_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.job_counters
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_counters_write();

-- Trigger functions and internal helpers are not for calling: nobody but
-- the owner may execute them (the triggers run as the owner).
REVOKE EXECUTE ON FUNCTION jobtrack._fold_counters(text, text[], text[]),
    jobtrack.summary_after_insert(), jobtrack.summary_after_update(),
    jobtrack.summary_after_delete(), jobtrack.summary_after_truncate(),
    jobtrack.summary_replica_row(), jobtrack.cache_before_write(),
    jobtrack.cache_after_summary_write(), jobtrack.cache_after_counters_write(),
    jobtrack._fold_experiment_counters(text[], integer[], text[]),
    jobtrack.experiment_counters_after_write(), jobtrack.experiment_counters_after_truncate(),
    jobtrack.experiment_counters_replica_row()
    FROM PUBLIC;
