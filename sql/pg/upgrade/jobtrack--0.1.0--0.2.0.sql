-- jobtrack 0.1.0 -> 0.2.0: safe in operations.
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.2.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.2.0--<next>.sql. Each change below says why; the upgrade
-- test (tests/upgrade) proves that a database updated with this script and
-- a fresh 0.2.0 install have identical objects, and that no job or count
-- changes on the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.2.0'" to load this file. \quit

-- Writers wait here until the update commits, so that none of them runs
-- half on the old triggers and half on the new counters. Readers go on.
LOCK TABLE jobtrack.executions, jobtrack.variations IN SHARE ROW EXCLUSIVE MODE;

-- Timestamps: 0.1.0 refused only infinities; a year outside 1..9999
-- written with plain SQL made every later read of the job fail. The
-- constraints keep their names. Rows already outside the range (possible
-- only through plain SQL) make this update fail with 23514: fix or delete
-- them first.
ALTER TABLE jobtrack.executions
    DROP CONSTRAINT executions_start_time_check,
    ADD CONSTRAINT executions_start_time_check
        CHECK (EXTRACT(YEAR FROM start_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    DROP CONSTRAINT executions_end_time_check,
    ADD CONSTRAINT executions_end_time_check
        CHECK (EXTRACT(YEAR FROM end_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    DROP CONSTRAINT executions_created_at_check,
    ADD CONSTRAINT executions_created_at_check
        CHECK (EXTRACT(YEAR FROM created_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    DROP CONSTRAINT executions_updated_at_check,
    ADD CONSTRAINT executions_updated_at_check
        CHECK (EXTRACT(YEAR FROM updated_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999);

ALTER TABLE jobtrack.variations
    DROP CONSTRAINT variations_start_time_check,
    ADD CONSTRAINT variations_start_time_check
        CHECK (EXTRACT(YEAR FROM start_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    DROP CONSTRAINT variations_end_time_check,
    ADD CONSTRAINT variations_end_time_check
        CHECK (EXTRACT(YEAR FROM end_time AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    DROP CONSTRAINT variations_created_at_check,
    ADD CONSTRAINT variations_created_at_check
        CHECK (EXTRACT(YEAR FROM created_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999),
    DROP CONSTRAINT variations_updated_at_check,
    ADD CONSTRAINT variations_updated_at_check
        CHECK (EXTRACT(YEAR FROM updated_at AT TIME ZONE 'UTC') BETWEEN 1 AND 9999);

-- Counters: 0.1.0 upserted one row per key and backend-slot shard, so two
-- sessions 16 slots apart waited for each other's commits (and deadlocked
-- when they crossed two keys), and a prepared or idle transaction blocked
-- every writer of its keys on that shard. 0.2.0 keeps insert-only delta
-- rows that writers fold without waiting (schema.sql, job_counters). The
-- table is made anew (no shard column, no primary key) and each key's
-- shards are carried over as one row: the counts are what they were,
-- damaged ones included, for verify_statistics() to show. The CHECK
-- constraints are named as a fresh install names them (the renamed old
-- table still holds those names while the new one is created).
ALTER TABLE jobtrack.job_counters RENAME TO job_counters_0_1_0;
CREATE TABLE jobtrack.job_counters (
    dataset_name        text NOT NULL,
    job_type            text NOT NULL
                        CONSTRAINT job_counters_job_type_check
                        CHECK (job_type IN ('execution', 'variation')),
    status              text NOT NULL
                        CONSTRAINT job_counters_status_check
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

CREATE INDEX job_counters_key_idx ON jobtrack.job_counters (dataset_name, job_type, status);

INSERT INTO jobtrack.job_counters
    (dataset_name, job_type, status, jobs, successful, failed,
     duration_count, duration_micros_sum)
SELECT dataset_name, job_type, status, sum(jobs), sum(successful), sum(failed),
       sum(duration_count), sum(duration_micros_sum)
FROM jobtrack.job_counters_0_1_0
GROUP BY dataset_name, job_type, status
HAVING (sum(jobs), sum(successful), sum(failed), sum(duration_count),
        sum(duration_micros_sum)) <> (0, 0, 0, 0, 0);
DROP TABLE jobtrack.job_counters_0_1_0;

-- The internal cache helper gets a name that says so (its C symbol stays).
ALTER FUNCTION jobtrack.cache_note_change(text[]) RENAME TO _cache_note_change;

-- The trigger functions: delta rows instead of shard upserts, the fold,
-- and SECURITY DEFINER so that writers need no privileges on the derived
-- tables (0.1.0: a role with DML on executions alone got 42501 on
-- job_summary_cache). The truncate trigger also notes the cache change
-- itself, for replication apply.
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

CREATE OR REPLACE FUNCTION jobtrack.summary_after_insert() RETURNS trigger
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

CREATE OR REPLACE FUNCTION jobtrack.summary_after_update() RETURNS trigger
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

CREATE OR REPLACE FUNCTION jobtrack.summary_after_delete() RETURNS trigger
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

CREATE OR REPLACE FUNCTION jobtrack.summary_after_truncate() RETURNS trigger
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

DROP FUNCTION jobtrack.counters_delete_zeroed(text, smallint, text[], text[]);
DROP FUNCTION jobtrack.counter_shard();

CREATE OR REPLACE FUNCTION jobtrack.cache_after_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM jobtrack._cache_note_change('{}'::text[]);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION jobtrack.cache_after_summary_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM jobtrack._cache_note_change(
            ARRAY(SELECT DISTINCT n.dataset_name FROM new_rows AS n));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM jobtrack._cache_note_change(
            ARRAY(SELECT o.dataset_name FROM old_rows AS o
                  UNION SELECT n.dataset_name FROM new_rows AS n));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM jobtrack._cache_note_change(
            ARRAY(SELECT DISTINCT o.dataset_name FROM old_rows AS o));
    ELSE
        -- TRUNCATE: every dataset.
        PERFORM jobtrack._cache_note_change(NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION jobtrack.cache_after_counters_write() RETURNS trigger
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

CREATE TRIGGER cache_after_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.job_counters
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_after_counters_write();

-- Logical replication: 0.1.0's statement-level triggers do not fire during
-- apply (nor under session_replication_role = replica), so a subscriber's
-- summary, counters, uniqueness and cache drifted. A row-level trigger
-- enabled REPLICA covers exactly those cases; TRUNCATE's trigger fires
-- ALWAYS.
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

CREATE TRIGGER summary_replica_row AFTER INSERT OR UPDATE OR DELETE ON jobtrack.executions
    FOR EACH ROW EXECUTE FUNCTION jobtrack.summary_replica_row('execution');

CREATE TRIGGER summary_replica_row AFTER INSERT OR UPDATE OR DELETE ON jobtrack.variations
    FOR EACH ROW EXECUTE FUNCTION jobtrack.summary_replica_row('variation');

ALTER TABLE jobtrack.executions ENABLE REPLICA TRIGGER summary_replica_row;
ALTER TABLE jobtrack.executions ENABLE ALWAYS TRIGGER summary_after_truncate;
ALTER TABLE jobtrack.variations ENABLE REPLICA TRIGGER summary_replica_row;
ALTER TABLE jobtrack.variations ENABLE ALWAYS TRIGGER summary_after_truncate;

-- Backups: 0.1.0's base tables were not marked, so pg_dump skipped them
-- and a restore had no jobs. The derived tables stay unmarked: restoring
-- the base tables runs the triggers, which rebuild them exactly.
SELECT pg_catalog.pg_extension_config_dump('jobtrack.executions', '');
SELECT pg_catalog.pg_extension_config_dump('jobtrack.variations', '');

-- Privileges: 0.1.0 let every role run the server-wide administration and
-- the internal helpers. refresh_job_cache() becomes SECURITY DEFINER like
-- the triggers, so that an admin role granted EXECUTE needs nothing else.
ALTER FUNCTION jobtrack.refresh_job_cache() SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION jobtrack.refresh_job_cache(), jobtrack.invalidate_cache(text),
    jobtrack.reset_transaction_metrics(), jobtrack._cache_note_change(text[])
    FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION jobtrack._fold_counters(text, text[], text[]),
    jobtrack.summary_after_insert(), jobtrack.summary_after_update(),
    jobtrack.summary_after_delete(), jobtrack.summary_after_truncate(),
    jobtrack.summary_replica_row(), jobtrack.cache_after_write(),
    jobtrack.cache_after_summary_write(), jobtrack.cache_after_counters_write()
    FROM PUBLIC;

-- Comments of what changed.
COMMENT ON TABLE jobtrack.job_counters IS
    'jobtrack: statistics counters as insert-only delta rows per (dataset, job type, status), kept exact by the summary triggers in the writing transaction; a key is the sum of its rows; check with jobtrack.verify_statistics(), rebuild with jobtrack.refresh_job_cache()';
COMMENT ON VIEW jobtrack.job_counters_recount IS
    'jobtrack: what job_counters must hold (summed per key), recounted from the base tables: a full scan';
COMMENT ON FUNCTION jobtrack._fold_counters(text, text[], text[]) IS
    'jobtrack internal: folds the delta rows of the given counter keys when it can without waiting';
COMMENT ON FUNCTION jobtrack._cache_note_change(text[]) IS
    'jobtrack internal, for the triggers: notes that the current transaction changed jobs (in the datasets named; NULL: any dataset), published to the shared cache just before the transaction commits';
COMMENT ON FUNCTION jobtrack.summary_replica_row() IS
    'Trigger (row level, enabled REPLICA): keeps job_summary_cache and job_counters during logical replication apply and under session_replication_role = replica';
