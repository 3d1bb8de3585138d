-- jobtrack 0.4.0 -> 0.5.0: bounded retention (prune_jobs) and claiming
-- (claim_next_jobs).
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.5.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.5.0--<next>.sql. The upgrade test (tests/upgrade) proves
-- that a database updated with this script (from 0.4.0, and from the
-- earlier releases through their scripts) and a fresh 0.5.0 install have
-- identical objects, and that no job or count changes on the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.5.0'" to load this file. \quit

-- cleanup_old_jobs deletes every old finished job in one transaction: at
-- millions of jobs that transaction runs for minutes, writers whose rows it
-- holds wait for all of it, and none of its dead rows can be vacuumed until
-- it ends. 0.5.0 adds the procedure prune_jobs, which deletes the same jobs
-- in batches, oldest first, committing after each, and its two internal
-- functions (sql/pg/prune.sql says why it is a procedure and how it is
-- built). Nothing existing changes: only new objects, no lock on a table.
CREATE FUNCTION jobtrack."_prune_cutoff"(
	"days" INT,
	"keep_failed" bool,
	"batch_size" INT
) RETURNS timestamp with time zone
STABLE PARALLEL SAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_prune_cutoff_wrapper';

CREATE FUNCTION jobtrack."_prune_batch"(
	"cutoff" timestamp with time zone,
	"keep_failed" bool,
	"batch_size" INT,
	"report" jsonb
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_prune_batch_wrapper';

-- As in sql/pg/prune.sql of 0.5.0.
CREATE PROCEDURE jobtrack.prune_jobs(
    days integer,
    keep_failed boolean DEFAULT true,
    batch_size integer DEFAULT 10000,
    INOUT report pg_catalog.jsonb DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    cutoff pg_catalog.timestamptz := jobtrack._prune_cutoff(days, keep_failed, batch_size);
BEGIN
    report := NULL;
    LOOP
        report := jobtrack._prune_batch(cutoff, keep_failed, batch_size, report);
        COMMIT;
        EXIT WHEN NOT pg_catalog.jsonb_exists(report, 'more');
    END LOOP;
END
$$;

COMMENT ON PROCEDURE jobtrack.prune_jobs(integer, boolean, integer, jsonb) IS
    'CALL: deletes what cleanup_old_jobs deletes, oldest first, in batches of batch_size jobs, committing after each; returns the report {executions_deleted, variations_deleted, cache_entries_deleted, batches}';
COMMENT ON FUNCTION jobtrack._prune_cutoff(integer, boolean, integer) IS
    'jobtrack internal, for prune_jobs: checks its arguments and returns the cutoff of its batches (NULL: no job can be that old)';
COMMENT ON FUNCTION jobtrack._prune_batch(timestamptz, boolean, integer, jsonb) IS
    'jobtrack internal, for prune_jobs: deletes one batch and returns the report so far, with the key more while another batch is due';

-- Schedulers take pending jobs with claim_next_jobs: it moves them to
-- in_queue and records which worker took them, in a new column of each
-- base table. Nullable without a default, so adding it rewrites no row
-- (a catalog change under a brief ACCESS EXCLUSIVE lock); it is in no
-- index, no view and no derived table.
ALTER TABLE jobtrack.executions
    ADD COLUMN worker text CHECK (char_length(worker) BETWEEN 1 AND 255);
ALTER TABLE jobtrack.variations
    ADD COLUMN worker text CHECK (char_length(worker) BETWEEN 1 AND 255);

-- claim_next_jobs(n, worker): a set-returning write in this library (as in
-- the 0.5.0 install script).
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
	"updated_at" timestamp with time zone
)
VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'claim_next_jobs_wrapper';

COMMENT ON FUNCTION jobtrack.claim_next_jobs(integer, text) IS
    'Claims up to n (1..10000) pending jobs of either kind, oldest created_at first: moves them to in_queue, records worker, returns them; passes over jobs other transactions hold, never waits';
