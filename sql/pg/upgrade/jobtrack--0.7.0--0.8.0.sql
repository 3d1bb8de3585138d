-- jobtrack 0.7.0 -> 0.8.0: sweep progress in constant time.
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.8.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.8.0--<next>.sql. The upgrade test (tests/upgrade) proves
-- that a database updated with this script (from 0.7.0, and from the
-- earlier releases through their scripts) and a fresh 0.8.0 install have
-- identical objects, and that no job or count changes on the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.8.0'" to load this file. \quit

-- A sweep dashboard asks, for one experiment, how many of its declared
-- combinations have run, by status, how many succeeded, how long they took
-- and when the first and last started. Until 0.7.0 that was a scan of the
-- experiment's variations. 0.8.0 answers it in constant time
-- (get_experiment_stats and _cached): a new counters table,
-- experiment_counters, kept exactly as job_counters is — insert-only delta
-- rows written by new statement-level triggers on variations (and a
-- row-level one for replication apply, a TRUNCATE one), folded the same way
-- — and two indexes on variations for the extremes. Nothing existing
-- changes definition: the new triggers sit beside the summary triggers, and
-- refresh_job_cache() (the library's code, which reads the catalog)
-- rebuilds the new table too once it exists.
--
-- The counters are filled from a recount of the variations. The lock first,
-- so that no write commits between that recount and the triggers that
-- count the writes after it: CREATE TRIGGER would take the same lock, but
-- only after the recount's snapshot.
LOCK TABLE jobtrack.variations IN SHARE ROW EXCLUSIVE MODE;

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

-- get_experiment_stats: the counts and the average come from the
-- experiment counters; the extremes from these two indexes, each the first
-- or last entry of the experiment — one index seek, not a scan.
CREATE INDEX variations_experiment_duration_idx
    ON jobtrack.variations (experiment_name, duration_seconds);
CREATE INDEX variations_experiment_start_idx
    ON jobtrack.variations (experiment_name, start_time);

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

INSERT INTO jobtrack.experiment_counters
    (experiment_name, total_combinations, status, jobs, successful, failed,
     duration_count, duration_micros_sum)
SELECT experiment_name, total_combinations, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM jobtrack.experiment_counters_recount
ORDER BY experiment_name, total_combinations, status;

-- The shared result cache: a statement of the user's own on the new table
-- is a change of jobs, as on the other derived tables.
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.experiment_counters
    FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION jobtrack.cache_before_write();

REVOKE EXECUTE ON FUNCTION jobtrack._fold_experiment_counters(text[], integer[], text[]),
    jobtrack.experiment_counters_after_write(), jobtrack.experiment_counters_after_truncate(),
    jobtrack.experiment_counters_replica_row()
    FROM PUBLIC;

-- A role that may read the statistics counters may read the experiment
-- counters: the README's reader and writer roles were granted SELECT on
-- every table of the schema, which did not include this one. The grantees
-- come from the catalog (regrole prints a quoted name), never from input.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT a.grantee
        FROM pg_catalog.pg_class AS c,
             LATERAL pg_catalog.aclexplode(c.relacl) AS a
        WHERE c.oid = 'jobtrack.job_counters'::pg_catalog.regclass
          AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner
    LOOP
        IF r.grantee = 0 THEN
            GRANT SELECT ON jobtrack.experiment_counters TO PUBLIC;
        ELSE
            EXECUTE pg_catalog.format('GRANT SELECT ON jobtrack.experiment_counters TO %s',
                                      r.grantee::pg_catalog.regrole);
        END IF;
    END LOOP;
END
$$;

COMMENT ON TABLE jobtrack.experiment_counters IS
    'jobtrack: sweep progress counters as insert-only delta rows per (experiment, total_combinations, status), kept exact by the experiment triggers of variations in the writing transaction; rebuild with jobtrack.refresh_job_cache()';
COMMENT ON VIEW jobtrack.experiment_counters_recount IS
    'jobtrack: what experiment_counters must hold (summed per key), recounted from the variations: a full scan';
COMMENT ON FUNCTION jobtrack._fold_experiment_counters(text[], integer[], text[]) IS
    'jobtrack internal: folds the delta rows of the given experiment counter keys when it can without waiting';
COMMENT ON FUNCTION jobtrack.experiment_counters_after_write() IS
    'Trigger: adds inserted variations to experiment_counters, moves updated ones, removes deleted ones';
COMMENT ON FUNCTION jobtrack.experiment_counters_replica_row() IS
    'Trigger (row level, enabled REPLICA): keeps experiment_counters during logical replication apply and under session_replication_role = replica';
COMMENT ON FUNCTION jobtrack.experiment_counters_after_truncate() IS
    'Trigger: empties experiment_counters when variations are truncated';

-- As the 0.8.0 install script declares them (pgrx).
CREATE FUNCTION jobtrack."get_experiment_stats"(
	"experiment_name" TEXT
) RETURNS jsonb
STRICT STABLE PARALLEL SAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'get_experiment_stats_wrapper';

CREATE FUNCTION jobtrack."get_experiment_stats_cached"(
	"experiment_name" TEXT
) RETURNS jsonb
STRICT STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'get_experiment_stats_cached_wrapper';

-- verify_experiment_stats() checks the new counters as verify_statistics()
-- checks job_counters: a full recount beside them, one row per key that
-- differs; refresh_job_cache() repairs what it finds.
CREATE FUNCTION jobtrack."verify_experiment_stats"() RETURNS TABLE (
	"experiment_name" TEXT,
	"total_combinations" INT,
	"status" TEXT,
	"counted_jobs" bigint,
	"actual_jobs" bigint,
	"counted_successful" bigint,
	"actual_successful" bigint,
	"counted_failed" bigint,
	"actual_failed" bigint,
	"counted_duration_count" bigint,
	"actual_duration_count" bigint,
	"counted_duration_micros_sum" bigint,
	"actual_duration_micros_sum" bigint
)
STRICT STABLE PARALLEL SAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'verify_experiment_stats_wrapper';

COMMENT ON FUNCTION jobtrack.verify_experiment_stats() IS
    'Differences between the experiment counters (sweep progress) and a full recount of the variations, one row per (experiment_name, total_combinations, status); empty when all is well (a full scan)';
COMMENT ON FUNCTION jobtrack.get_experiment_stats(text) IS
    'Progress of one hyper-parameter sweep: declared combinations, variations by status, finished, progress, successes, failures, success rate, average/min/max duration, first and last run; from experiment_counters and four index seeks; zeros and nulls for an unknown experiment';
COMMENT ON FUNCTION jobtrack.get_experiment_stats_cached(text) IS
    'get_experiment_stats(experiment_name) through the result cache';

-- The cache's trigger on the summary table found the changed datasets of an
-- UPDATE by joining its old and new transition tables. PL/pgSQL keeps the
-- plan of the first run in a session: after a one-row update the join was a
-- nested loop, and every later batch in that session compared every old
-- row with every new one — 5.7 s for a 6,000-job status update, and a
-- 10,000-job update took 7.6 s instead of 0.5 s in the bench. The same
-- answer from set differences (hashed or sorted, whatever the estimate).
CREATE OR REPLACE FUNCTION jobtrack.cache_after_summary_write() RETURNS trigger
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
