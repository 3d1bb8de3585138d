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

CREATE SCHEMA jobtrack;
COMMENT ON SCHEMA jobtrack IS 'jobtrack: ML training-job tracking (tables, summary table, functions)';

-- ------------------------------------------------------------------ tables
-- job_id sorts bytewise (COLLATE "C"), as in SQLite, so that every ordering
-- that breaks ties on job_id is the same in both backends whatever the
-- database's locale, and the lock order is plain byte order.

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
    start_time       timestamptz CHECK (isfinite(start_time)),
    end_time         timestamptz CHECK (isfinite(end_time)),
    duration_seconds double precision,
    success          boolean,
    error_message    text,
    output_path      text,
    created_at       timestamptz NOT NULL DEFAULT now() CHECK (isfinite(created_at)),
    updated_at       timestamptz NOT NULL DEFAULT now() CHECK (isfinite(updated_at))
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
    start_time           timestamptz CHECK (isfinite(start_time)),
    end_time             timestamptz CHECK (isfinite(end_time)),
    duration_seconds     double precision,
    success              boolean,
    error_message        text,
    output_path          text,
    created_at           timestamptz NOT NULL DEFAULT now() CHECK (isfinite(created_at)),
    updated_at           timestamptz NOT NULL DEFAULT now() CHECK (isfinite(updated_at))
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

-- get_statistics_optimized: covering, so the counts per kind and status come
-- from an index-only scan.
CREATE INDEX job_summary_cache_stats_idx ON jobtrack.job_summary_cache (job_type, status)
    INCLUDE (success, duration_seconds);

-- get_dataset_stats_optimized: composite on the dataset, covering the
-- aggregated columns.
CREATE INDEX job_summary_cache_dataset_idx ON jobtrack.job_summary_cache (dataset_name, job_type)
    INCLUDE (success, duration_seconds, start_time);

-- get_recent_jobs_optimized: newest updated_at first, ties on job_id descending.
CREATE INDEX job_summary_cache_recent_idx ON jobtrack.job_summary_cache (last_updated DESC, job_id DESC);

-- ------------------------------------------------ summary table maintenance
-- Statement-level AFTER triggers with transition tables: one set-based step
-- per statement, whoever writes (jobtrack functions or plain SQL). TG_ARGV[0]
-- is the job_type of the table. The statements are run with EXECUTE so that
-- each is planned for the actual size of its transition tables (a cached
-- generic plan made for one row would turn the anti-joins quadratic on a
-- 100,000-row batch); the SQL text is constant, never built from input.

CREATE FUNCTION jobtrack.summary_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.summary_after_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.summary_after_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE $sql$
        DELETE FROM jobtrack.job_summary_cache AS s
        USING old_rows AS o
        WHERE s.job_id = o.job_id
          AND s.job_type = $1
    $sql$ USING TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.summary_after_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM jobtrack.job_summary_cache WHERE job_type = TG_ARGV[0];
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

COMMENT ON TABLE jobtrack.executions IS
    'jobtrack: training pipeline runs; write with the jobtrack functions or plain SQL';
COMMENT ON TABLE jobtrack.variations IS
    'jobtrack: combinations of hyper-parameter sweeps; write with the jobtrack functions or plain SQL';
COMMENT ON TABLE jobtrack.job_summary_cache IS
    'jobtrack: one row per job of either kind, kept exact by statement-level triggers in the writing transaction; rebuild with jobtrack.refresh_job_cache()';

-- ------------------------------------------------- shared result cache
-- Statement-level triggers note, in the writing transaction, that jobs
-- changed (jobtrack.cache_note_change); the transaction callback publishes
-- the note to the shared cache just before the transaction becomes visible
-- (pg_ext/src/cache.rs). Base tables: any change (statistics and recent jobs
-- depend on every job). The summary table, which every base write reaches
-- through the triggers above and from which the dataset statistics are
-- read: also which datasets changed, so that other datasets' entries stay.
CREATE FUNCTION jobtrack.cache_after_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM jobtrack.cache_note_change('{}'::text[]);
    RETURN NULL;
END
$$;

CREATE FUNCTION jobtrack.cache_after_summary_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM jobtrack.cache_note_change(
            ARRAY(SELECT DISTINCT n.dataset_name FROM new_rows AS n));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM jobtrack.cache_note_change(
            ARRAY(SELECT o.dataset_name FROM old_rows AS o
                  UNION SELECT n.dataset_name FROM new_rows AS n));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM jobtrack.cache_note_change(
            ARRAY(SELECT DISTINCT o.dataset_name FROM old_rows AS o));
    ELSE
        -- TRUNCATE: every dataset.
        PERFORM jobtrack.cache_note_change(NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER cache_after_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.executions
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_write();
CREATE TRIGGER cache_after_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.variations
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_write();
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
