-- jobtrack 0.5.0 -> 0.6.0: heartbeats and stale jobs.
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.6.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.6.0--<next>.sql. The upgrade test (tests/upgrade) proves
-- that a database updated with this script (from 0.5.0, and from the
-- earlier releases through their scripts) and a fresh 0.6.0 install have
-- identical objects, and that no job or count changes on the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.6.0'" to load this file. \quit

-- A job whose process died stays "training" for ever: nothing tells a live
-- job from a dead one. 0.6.0 records signs of life: heartbeat(job_id), and
-- update_progress, set a new column last_heartbeat of each base table;
-- get_stale_jobs and fail_stale_jobs find and fail the jobs silent for too
-- long. The column is nullable without a default, so adding it rewrites no
-- row; its CHECK (the years 1 to 9999, as every timestamp) reads each table
-- once under the ACCESS EXCLUSIVE lock of ADD COLUMN, about a second per
-- few million jobs. It is in no index and no derived table: a heartbeat
-- changes one heap tuple, with no index entry (HOT) and no statistics.
ALTER TABLE jobtrack.executions
    ADD COLUMN last_heartbeat timestamptz
        CHECK (EXTRACT(YEAR FROM last_heartbeat AT TIME ZONE 'UTC') BETWEEN 1 AND 9999);
ALTER TABLE jobtrack.variations
    ADD COLUMN last_heartbeat timestamptz
        CHECK (EXTRACT(YEAR FROM last_heartbeat AT TIME ZONE 'UTC') BETWEEN 1 AND 9999);

-- The last heartbeat shows in every Job and running-job row, as their last
-- column. The view gains it at the end (CREATE OR REPLACE VIEW may add
-- columns there; its privileges stay). The functions returning those rows
-- are dropped and created again, since a function's result type cannot be
-- replaced; their privileges are the defaults, as in a fresh install. Until
-- this script has run, the 0.6.0 library serves the old catalog's
-- functions with the rows they declare (pg_ext/src/reads.rs, on_catalog).
CREATE OR REPLACE VIEW jobtrack.jobs WITH (security_invoker = true) AS
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
FROM jobtrack.variations AS v;

DROP FUNCTION jobtrack.get_all_jobs_optimized(integer, text);
DROP FUNCTION jobtrack.get_running_jobs(integer, text);
DROP FUNCTION jobtrack.get_recent_jobs_optimized(integer);
DROP FUNCTION jobtrack.get_recent_jobs_cached(integer);
DROP FUNCTION jobtrack.claim_next_jobs(integer, text);

-- As in sql/pg/listings.sql of 0.6.0.
CREATE FUNCTION jobtrack.get_all_jobs_optimized(lim integer DEFAULT 100, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz, last_heartbeat timestamptz
)
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'get_all_jobs_optimized_page';

CREATE FUNCTION jobtrack.get_running_jobs(lim integer DEFAULT NULL, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text,
    start_time timestamptz, current_step integer, total_steps integer,
    progress double precision, experiment_name text, variation_id text,
    last_heartbeat timestamptz
)
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'get_running_jobs_wrapper';

CREATE FUNCTION jobtrack.get_recent_jobs_optimized(lim integer DEFAULT 10)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz, last_heartbeat timestamptz
)
LANGUAGE c STABLE STRICT PARALLEL SAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'get_recent_jobs_optimized_wrapper';

-- As the 0.6.0 install script declares them (pgrx).
CREATE FUNCTION jobtrack."get_recent_jobs_cached"(
	"lim" INT DEFAULT 10
) RETURNS TABLE (
	"job_id" TEXT,
	"job_type" TEXT,
	"status" TEXT,
	"dataset_name" TEXT,
	"preset" TEXT,
	"mode" TEXT,
	"experiment_name" TEXT,
	"variation_id" TEXT,
	"success" bool,
	"duration_seconds" double precision,
	"error_message" TEXT,
	"output_path" TEXT,
	"total_steps" INT,
	"current_step" INT,
	"start_time" timestamp with time zone,
	"created_at" timestamp with time zone,
	"updated_at" timestamp with time zone,
	"last_heartbeat" timestamp with time zone
)
STRICT STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'get_recent_jobs_cached_wrapper';

CREATE FUNCTION jobtrack."claim_next_jobs"(
	"n" INT,
	"worker" TEXT
) RETURNS TABLE (
	"job_id" TEXT,
	"job_type" TEXT,
	"status" TEXT,
	"dataset_name" TEXT,
	"preset" TEXT,
	"mode" TEXT,
	"experiment_name" TEXT,
	"variation_id" TEXT,
	"success" bool,
	"duration_seconds" double precision,
	"error_message" TEXT,
	"output_path" TEXT,
	"total_steps" INT,
	"current_step" INT,
	"start_time" timestamp with time zone,
	"created_at" timestamp with time zone,
	"updated_at" timestamp with time zone,
	"last_heartbeat" timestamp with time zone
)
VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'claim_next_jobs_wrapper';

-- The new functions (sql/pg/queries/heartbeat.sql, lock_stale.sql and
-- stale_jobs.sql say how each works).
CREATE FUNCTION jobtrack."heartbeat"(
	"job_id" TEXT
) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'heartbeat_wrapper';

CREATE FUNCTION jobtrack."fail_stale_jobs"(
	"stale_after" interval,
	"error_message" TEXT DEFAULT NULL
) RETURNS INT
VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'fail_stale_jobs_wrapper';

CREATE FUNCTION jobtrack."get_stale_jobs"(
	"stale_after" interval DEFAULT '00:15:00'
) RETURNS TABLE (
	"job_id" TEXT,
	"job_type" TEXT,
	"status" TEXT,
	"dataset_name" TEXT,
	"preset" TEXT,
	"mode" TEXT,
	"experiment_name" TEXT,
	"variation_id" TEXT,
	"success" bool,
	"duration_seconds" double precision,
	"error_message" TEXT,
	"output_path" TEXT,
	"total_steps" INT,
	"current_step" INT,
	"start_time" timestamp with time zone,
	"created_at" timestamp with time zone,
	"updated_at" timestamp with time zone,
	"last_heartbeat" timestamp with time zone
)
STABLE PARALLEL SAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'get_stale_jobs_wrapper';

-- As in sql/pg/comments.sql of 0.6.0.
COMMENT ON FUNCTION jobtrack.update_progress(text, integer) IS
    'Sets current_step of a job of either kind and records a heartbeat (last_heartbeat); false when there is no such job';
COMMENT ON FUNCTION jobtrack.heartbeat(text) IS
    'Records that the active job job_id of either kind is alive: sets its last_heartbeat to now (not updated_at; no statistics change); false when no active job has that id';
COMMENT ON FUNCTION jobtrack.claim_next_jobs(integer, text) IS
    'Claims up to n (1..10000) pending jobs of either kind, oldest created_at first: moves them to in_queue, records worker, returns them; passes over jobs other transactions hold, never waits';
COMMENT ON FUNCTION jobtrack.fail_stale_jobs(interval, text) IS
    'Moves to failed every job in an active status but pending whose last sign of life (the later of last_heartbeat and updated_at) is older than stale_after, with error_message or one naming that time; returns how many; passes over jobs other transactions hold';
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

-- The shared cache: a change that touches only job rows (a heartbeat, a
-- progress report, an output_path written with plain SQL) no longer retires
-- the cached statistics, only the cached recent jobs, which show every
-- column. Without this, every heartbeat would end every statistics hit. A
-- base-table statement is now noted as a change of rows (_cache_note_rows,
-- new); a change of the statistics' data reaches the summary table, whose
-- AFTER trigger notes it, now only when a row of it changed in a column the
-- statistics read (the summary triggers run statements that change nothing,
-- which noted a change each). The replica-row trigger notes a change of
-- rows where it changes no mirrored column (it noted nothing: a subscriber
-- kept serving recent jobs without an update of, say, output_path).
-- pg_ext/src/cache.rs and core/src/writer_log.rs give the argument.
CREATE FUNCTION jobtrack."_cache_note_rows"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'cache_note_rows_wrapper';

CREATE OR REPLACE FUNCTION jobtrack.cache_before_write() RETURNS trigger
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

CREATE OR REPLACE FUNCTION jobtrack.cache_after_summary_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_datasets text[];
    v_old text[];
    v_new text[];
    v_lost boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_datasets := ARRAY(SELECT DISTINCT n.dataset_name FROM new_rows AS n);
    ELSIF TG_OP = 'UPDATE' THEN
        -- The datasets of the rows whose statistics' columns changed, or
        -- every dataset when a row's job_id changed; none when only
        -- last_updated did (a progress report), which only the recent jobs
        -- show, noted by the base table's trigger. One pass of a join.
        SELECT bool_or(n.job_id IS NULL),
               array_agg(DISTINCT o.dataset_name) FILTER (WHERE c.changed),
               array_agg(DISTINCT n.dataset_name) FILTER (WHERE c.changed)
        INTO v_lost, v_old, v_new
        FROM old_rows AS o
        LEFT JOIN new_rows AS n USING (job_id)
        CROSS JOIN LATERAL (
            SELECT (o.job_type, o.status, o.dataset_name, o.preset, o.start_time,
                    o.duration_seconds, o.success)
                   IS DISTINCT FROM
                   (n.job_type, n.status, n.dataset_name, n.preset, n.start_time,
                    n.duration_seconds, n.success) AS changed
        ) AS c;
        IF v_lost THEN
            PERFORM jobtrack._cache_note_change(NULL);
            RETURN NULL;
        END IF;
        v_datasets := COALESCE(v_old, '{}') || COALESCE(v_new, '{}');
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

CREATE OR REPLACE FUNCTION jobtrack.summary_replica_row() RETURNS trigger
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

COMMENT ON FUNCTION jobtrack._cache_note_rows() IS
    'jobtrack internal, for the triggers: notes that the current transaction changed rows of the base tables (the recent jobs show them; the statistics'' data is noted apart), published to the shared cache just before the transaction commits';
REVOKE EXECUTE ON FUNCTION jobtrack._cache_note_rows() FROM PUBLIC;
