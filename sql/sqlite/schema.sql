-- jobtrack schema for SQLite (3.38 or later), version 8: the current schema,
-- complete. A new file gets exactly this, with `PRAGMA user_version = 8`, in
-- one transaction; migrations/000N_*.sql take an older file to version N,
-- and a test checks that a file migrated from every earlier version ends
-- with the same schema as a new one (sqlite_schema, normalised).
--
-- Tables:
--   executions, variations  the jobs, one table per kind (base tables)
--   job_summary_cache        one row per job of either kind (derived)
--   job_counters             statistics counters per dataset, kind, status
--                            (derived)
--   experiment_counters      sweep counters per experiment, declared
--                            combinations, status (derived, variations only)
-- The derived tables are kept by the triggers below, in the transaction of
-- every write to the base tables — jobtrack's and any program's plain SQL
-- alike, whatever its conflict clause. refresh_job_cache() rebuilds them,
-- verify_statistics() and verify_summary() compare them with the base
-- tables.
--
-- Tables are STRICT so that a program writing plain SQL cannot store a
-- number where text belongs (or the reverse) and break ordering or sums.
--
-- Timestamps are TEXT in the fixed-width UTC format
-- `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 characters) that jobtrack-core's
-- Timestamp writes, in the years 1 to 9999 as in PostgreSQL. Text order is
-- time order only in that format, and durations are computed from its
-- fixed positions, so each timestamp column has a CHECK: the shape (GLOB),
-- the year, and a real date and time of day — converting the date and time
-- to seconds and back must give the same text, which refuses month 13,
-- day 32, 30 February, hour 24, minute or second 60. The column DEFAULTs
-- produce the format, so plain SQL INSERTs that omit the timestamps stay
-- correct.

CREATE TABLE executions (
    job_id           TEXT    NOT NULL PRIMARY KEY
                             CHECK (length(job_id) BETWEEN 1 AND 64),
    status           TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                               'configuring_preset', 'ready_for_training',
                                               'training', 'generating_preview',
                                               'done', 'failed', 'cancelled')),
    pipeline_mode    TEXT    NOT NULL
                             CHECK (pipeline_mode IN ('single', 'batch', 'variations')),
    dataset_name     TEXT    NOT NULL CHECK (length(dataset_name) BETWEEN 1 AND 255),
    preset           TEXT    NOT NULL CHECK (length(preset) BETWEEN 1 AND 100),
    total_steps      INTEGER CHECK (total_steps BETWEEN 0 AND 2147483647),
    current_step     INTEGER CHECK (current_step BETWEEN 0 AND 2147483647),
    start_time       TEXT    CONSTRAINT start_time_is_a_timestamp
                             CHECK (start_time IS NULL
                                    OR (start_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                        AND start_time >= '0001'
                                        AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(start_time, 1, 19)), 'unixepoch')
                                            IS substr(start_time, 1, 19))),
    end_time         TEXT    CONSTRAINT end_time_is_a_timestamp
                             CHECK (end_time IS NULL
                                    OR (end_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                        AND end_time >= '0001'
                                        AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(end_time, 1, 19)), 'unixepoch')
                                            IS substr(end_time, 1, 19))),
    duration_seconds REAL,
    success          INTEGER CHECK (success IN (0, 1)),
    error_message    TEXT,
    output_path      TEXT,
    created_at       TEXT    NOT NULL
                             DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                             CONSTRAINT created_at_is_a_timestamp
                             CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                    AND created_at >= '0001'
                                    AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(created_at, 1, 19)), 'unixepoch')
                                        IS substr(created_at, 1, 19)),
    updated_at       TEXT    NOT NULL
                             DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                             CONSTRAINT updated_at_is_a_timestamp
                             CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                    AND updated_at >= '0001'
                                    AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(updated_at, 1, 19)), 'unixepoch')
                                        IS substr(updated_at, 1, 19)),
    worker TEXT CHECK (worker IS NULL OR length(worker) BETWEEN 1 AND 255),
    last_heartbeat   TEXT    CONSTRAINT last_heartbeat_is_a_timestamp
                             CHECK (last_heartbeat IS NULL
                                    OR (last_heartbeat GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                        AND last_heartbeat >= '0001'
                                        AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(last_heartbeat, 1, 19)), 'unixepoch')
                                            IS substr(last_heartbeat, 1, 19)))
) STRICT;

CREATE TABLE variations (
    job_id               TEXT    NOT NULL PRIMARY KEY
                                 CHECK (length(job_id) BETWEEN 1 AND 64),
    status               TEXT    NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                                   'configuring_preset', 'ready_for_training',
                                                   'training', 'generating_preview',
                                                   'done', 'failed', 'cancelled')),
    variation_id         TEXT    NOT NULL CHECK (length(variation_id) BETWEEN 1 AND 100),
    experiment_name      TEXT    NOT NULL CHECK (length(experiment_name) BETWEEN 1 AND 255),
    dataset_name         TEXT    NOT NULL CHECK (length(dataset_name) BETWEEN 1 AND 255),
    preset               TEXT    NOT NULL CHECK (length(preset) BETWEEN 1 AND 100),
    total_combinations   INTEGER NOT NULL CHECK (total_combinations BETWEEN 1 AND 2147483647),
    varied_parameters    TEXT    NOT NULL DEFAULT '{}'
                                 CHECK (json_valid(varied_parameters)
                                        AND json_type(varied_parameters) = 'object'),
    parameter_values     TEXT    NOT NULL DEFAULT '{}'
                                 CHECK (json_valid(parameter_values)
                                        AND json_type(parameter_values) = 'object'),
    parent_experiment_id TEXT    CHECK (length(parent_experiment_id) BETWEEN 1 AND 255),
    total_steps          INTEGER CHECK (total_steps BETWEEN 0 AND 2147483647),
    current_step         INTEGER CHECK (current_step BETWEEN 0 AND 2147483647),
    start_time           TEXT    CONSTRAINT start_time_is_a_timestamp
                                 CHECK (start_time IS NULL
                                        OR (start_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                            AND start_time >= '0001'
                                            AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(start_time, 1, 19)), 'unixepoch')
                                                IS substr(start_time, 1, 19))),
    end_time             TEXT    CONSTRAINT end_time_is_a_timestamp
                                 CHECK (end_time IS NULL
                                        OR (end_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                            AND end_time >= '0001'
                                            AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(end_time, 1, 19)), 'unixepoch')
                                                IS substr(end_time, 1, 19))),
    duration_seconds     REAL,
    success              INTEGER CHECK (success IN (0, 1)),
    error_message        TEXT,
    output_path          TEXT,
    created_at           TEXT    NOT NULL
                                 DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                                 CONSTRAINT created_at_is_a_timestamp
                                 CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                        AND created_at >= '0001'
                                        AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(created_at, 1, 19)), 'unixepoch')
                                            IS substr(created_at, 1, 19)),
    updated_at           TEXT    NOT NULL
                                 DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                                 CONSTRAINT updated_at_is_a_timestamp
                                 CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                        AND updated_at >= '0001'
                                        AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(updated_at, 1, 19)), 'unixepoch')
                                            IS substr(updated_at, 1, 19)),
    worker TEXT CHECK (worker IS NULL OR length(worker) BETWEEN 1 AND 255),
    last_heartbeat       TEXT    CONSTRAINT last_heartbeat_is_a_timestamp
                                 CHECK (last_heartbeat IS NULL
                                        OR (last_heartbeat GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
                                            AND last_heartbeat >= '0001'
                                            AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(last_heartbeat, 1, 19)), 'unixepoch')
                                                IS substr(last_heartbeat, 1, 19)))
) STRICT;

-- One row per job of either kind: the columns the listings and the dataset
-- extremes read. last_updated is the job's updated_at, so ordering by it is
-- ordering the jobs by updated_at. Its PRIMARY KEY holds a job_id once; the
-- triggers' BEFORE checks, not this key, keep a job_id out of both kinds
-- (a key conflict inside a trigger would obey the outer statement's
-- conflict clause: OR IGNORE would drop the summary row silently).
--
-- experiment_name and total_combinations are a variation's (NULL for an
-- execution): the rest of the key of its experiment_counters row, so that
-- a variation a REPLACE displaces can be taken out of the experiment
-- counters from its summary row as it is taken out of job_counters (see
-- the triggers). Last, as ALTER TABLE ADD COLUMN put them in version 8.
CREATE TABLE job_summary_cache (
    job_id           TEXT    NOT NULL PRIMARY KEY,
    job_type         TEXT    NOT NULL CHECK (job_type IN ('execution', 'variation')),
    status           TEXT    NOT NULL,
    dataset_name     TEXT    NOT NULL,
    preset           TEXT    NOT NULL,
    start_time       TEXT,
    duration_seconds REAL,
    success          INTEGER,
    last_updated     TEXT    NOT NULL,
    experiment_name TEXT,
    total_combinations INTEGER
) STRICT, WITHOUT ROWID;

-- Statistics in constant time: per (dataset, job type, status) the number
-- of jobs, how many succeeded and failed, and the count and sum of their
-- durations. get_statistics_optimized() reads this table, whose size
-- depends on the number of datasets, not of jobs; it is exact, and a
-- rolled-back transaction or savepoint takes its counter changes with it.
--
-- Exactness: every value is an integer, durations included (whole
-- microseconds, each duration_seconds rounded once), so adding a job and
-- subtracting it again restores a counter exactly; a floating-point sum
-- would drift. The view job_counters_recount is the definition the counters
-- must equal.
--
-- No hot row: SQLite lets one connection write at a time (the database
-- lock every writer takes, BEGIN IMMEDIATE in jobtrack), so writers touching
-- the same counter row wait for that lock and nothing else.
--
-- A row whose values all fall to zero is deleted, so the table holds only
-- the keys that have jobs.
CREATE TABLE job_counters (
    dataset_name        TEXT    NOT NULL,
    job_type            TEXT    NOT NULL CHECK (job_type IN ('execution', 'variation')),
    status              TEXT    NOT NULL
                                CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                                  'configuring_preset', 'ready_for_training',
                                                  'training', 'generating_preview',
                                                  'done', 'failed', 'cancelled')),
    -- No CHECK (jobs >= 0) and the like: a counter someone damaged by hand
    -- must not make every later write fail; verify_statistics() shows it,
    -- refresh_job_cache() repairs it.
    jobs                INTEGER NOT NULL,
    successful          INTEGER NOT NULL,
    failed              INTEGER NOT NULL,
    duration_count      INTEGER NOT NULL,
    -- Sum of round(duration_seconds * 1e6): exact, whatever the order of the
    -- additions and subtractions. An overflow (beyond 9.2e18 microseconds)
    -- fails the write: SQLite turns the sum into a REAL, which a STRICT
    -- INTEGER column refuses.
    duration_micros_sum INTEGER NOT NULL,
    -- dataset_name first: get_dataset_stats_optimized seeks one dataset.
    PRIMARY KEY (dataset_name, job_type, status)
) STRICT, WITHOUT ROWID;

-- What the counters must hold, recounted from the base tables (a full scan):
-- used to build them, to rebuild them and to verify them.
CREATE VIEW job_counters_recount AS
SELECT dataset_name, 'execution' AS job_type, status,
       COUNT(*) AS jobs,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       COUNT(duration_seconds) AS duration_count,
       coalesce(SUM(CAST(round(duration_seconds * 1e6) AS INTEGER)), 0) AS duration_micros_sum
FROM executions
GROUP BY dataset_name, status
UNION ALL
SELECT dataset_name, 'variation' AS job_type, status,
       COUNT(*) AS jobs,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       COUNT(duration_seconds) AS duration_count,
       coalesce(SUM(CAST(round(duration_seconds * 1e6) AS INTEGER)), 0) AS duration_micros_sum
FROM variations
GROUP BY dataset_name, status;

-- Sweep progress in constant time: per variation experiment, declared
-- total_combinations and status, the same five values job_counters keeps
-- (jobs, successful, failed, duration_count, duration_micros_sum, exact
-- integers), kept by the same triggers in the same transaction, and a row
-- whose values all fall to zero deleted. get_experiment_stats() reads one
-- experiment's rows (a primary-key range): their number depends on the
-- statuses and the declared sizes of the sweep, not on its variations.
-- Keyed by total_combinations too, so that the declared size of a sweep
-- (the largest total_combinations among its variations) stays exact when
-- variations are deleted: it is the largest key left with jobs. The view
-- experiment_counters_recount is the definition the counters must equal.
CREATE TABLE experiment_counters (
    experiment_name     TEXT    NOT NULL,
    total_combinations  INTEGER NOT NULL,
    status              TEXT    NOT NULL
                                CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                                  'configuring_preset', 'ready_for_training',
                                                  'training', 'generating_preview',
                                                  'done', 'failed', 'cancelled')),
    -- No CHECK (jobs >= 0): see job_counters.
    jobs                INTEGER NOT NULL,
    successful          INTEGER NOT NULL,
    failed              INTEGER NOT NULL,
    duration_count      INTEGER NOT NULL,
    -- Sum of round(duration_seconds * 1e6), as in job_counters.
    duration_micros_sum INTEGER NOT NULL,
    -- experiment_name first: get_experiment_stats seeks one experiment.
    PRIMARY KEY (experiment_name, total_combinations, status)
) STRICT, WITHOUT ROWID;

-- What the experiment counters must hold, recounted from the variations (a
-- full scan): used to build them, to rebuild them and to verify them.
CREATE VIEW experiment_counters_recount AS
SELECT experiment_name, total_combinations, status,
       COUNT(*) AS jobs,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       COUNT(duration_seconds) AS duration_count,
       coalesce(SUM(CAST(round(duration_seconds * 1e6) AS INTEGER)), 0) AS duration_micros_sum
FROM variations
GROUP BY experiment_name, total_combinations, status;

-- The Job projection, written once: one row per job of either kind, in the
-- 18 columns (and the order) of a Job. Every listing reads it (queries/
-- all_jobs.sql, recent_jobs.sql, get_job.sql). SQLite flattens the UNION
-- ALL into each query, so a filter on job_id or an ordering on created_at
-- reaches each table's own index (tested with EXPLAIN QUERY PLAN), but only
-- while each column has the same affinity in both arms: hence the CASTs
-- of the constants that stand for a column of the other arm (a bare NULL or
-- literal has none, the columns are TEXT).
CREATE VIEW jobs AS
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, CAST(NULL AS TEXT) AS experiment_name,
       CAST(NULL AS TEXT) AS variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at, last_heartbeat
FROM executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset,
       CAST('variations' AS TEXT), experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at, last_heartbeat
FROM variations;

-- The triggers of the base tables.
--
-- An outer conflict clause (INSERT OR IGNORE, INSERT OR REPLACE, REPLACE,
-- UPDATE OR IGNORE, UPDATE OR REPLACE) overrides the conflict handling of
-- every statement inside a trigger, but not RAISE(ABORT): it aborts the
-- statement whatever its clause. So the BEFORE triggers only check, with
-- RAISE(ABORT), and refuse what the AFTER triggers could not account for
-- exactly; the AFTER triggers' statements never conflict, so no clause can
-- drop or replace one of their rows: each summary row is deleted before it
-- is inserted, and each counter change is an UPSERT, whose DO UPDATE holds
-- whatever the outer clause, followed by the deletion of a row that fell
-- to zeros. A RAISE message starts with the SQLSTATE jobtrack reports for
-- it.
--
-- BEFORE INSERT / UPDATE refuse:
--   - a job_id of the other kind (23505): a job_id is unique across both;
--   - an explicit rowid that names another job's row, a rowid change, a
--     rowid below 1 (0A000): REPLACE would delete that row without a
--     trace the triggers can follow;
--   - a job_id whose existing row and summary row disagree on a counted
--     column (for a variation also on experiment_name and
--     total_combinations, the rest of its experiment counter's key), or
--     where one of them is missing (55000): REPLACE takes a displaced row's
--     contribution out of the counters from its summary row, which must
--     therefore be right; refresh_job_cache() repairs it;
--   - a duration beyond ±1e12 s (22003): its microseconds would not fit
--     the exact integer sums. jobtrack itself never writes one.
--
-- jobtrack's own status changes (sql/sqlite/queries/status_*.sql) skip the
-- UPDATE triggers, per row, and keep the summary and the counters exact
-- set-based instead: one aggregated counter step and one summary step per
-- call (for variations one experiment counter step as well), in the same
-- savepoint as the UPDATE. The triggers tell that UPDATE
-- by the value of last_insert_rowid() on the writing connection: jobtrack's
-- writer sets it to -7669456942709957483 (the bytes of 'jobtrack',
-- negated) for that one statement and back right after it, which the
-- library does through the C API. No other connection has that value: it
-- is set only by an INSERT that names that very rowid (automatic rowids
-- are positive, and jobtrack names none), so every other program's writes,
-- and jobtrack's others, fire the triggers as before.
-- The BEFORE UPDATE guards can let that statement through too: it changes
-- neither a job_id nor a rowid, and its durations lie between two stored
-- timestamps (years 1 to 9999, within ±3.2e11 s).
-- Two more of jobtrack's UPDATEs run with the triggers standing aside, as
-- they change no column the triggers keep anything for: claim_next_jobs'
-- worker, and heartbeat()'s last_heartbeat (in no index and no derived
-- table; updated_at, the summary's last_updated, stays as it is). A plain
-- SQL UPDATE of either column fires the triggers, which rewrite the job's
-- summary row as it was and leave the counters alone (no counted column
-- changed).
--
-- REPLACE: when INSERT OR REPLACE or UPDATE OR REPLACE removes a row that
-- holds the same job_id, SQLite does not fire its DELETE trigger (unless the
-- writing connection set PRAGMA recursive_triggers). Its summary row is then
-- still present, checked right by the BEFORE trigger, so the AFTER trigger
-- takes its contribution out first: out of job_counters by its dataset, and
-- for a variation out of experiment_counters by the experiment_name and
-- total_combinations its summary row keeps for this. With
-- recursive_triggers the DELETE trigger has done so and removed the
-- summary row already; either way the job is subtracted once.
--
-- experiment_counters follow the variations exactly as job_counters do,
-- statement for statement in the same triggers; a variation's counted
-- columns there are experiment_name, total_combinations, status, success
-- and duration_seconds, so an UPDATE of the experiment or of
-- total_combinations alone moves the job between experiment counters and
-- leaves job_counters as they are (and one of the dataset alone the
-- reverse).

CREATE TRIGGER executions_before_insert BEFORE INSERT ON executions
BEGIN
    SELECT RAISE(ABORT, '23505: job_id exists as a variation: a job_id is unique across executions and variations')
    WHERE EXISTS (SELECT 1 FROM variations WHERE job_id = NEW.job_id);
    SELECT RAISE(ABORT, '0A000: the rowid belongs to another execution: jobtrack does not follow a REPLACE by rowid')
    WHERE EXISTS (SELECT 1 FROM executions WHERE rowid = NEW.rowid AND job_id IS NOT NEW.job_id);
    SELECT RAISE(ABORT, '55000: job_summary_cache disagrees with executions on this job_id; run refresh_job_cache() first')
    WHERE EXISTS (SELECT 1 FROM job_summary_cache AS s
                  WHERE s.job_id = NEW.job_id
                    AND NOT EXISTS (SELECT 1 FROM executions AS e
                                    WHERE e.job_id = s.job_id AND s.job_type = 'execution'
                                      AND e.dataset_name IS s.dataset_name AND e.status IS s.status
                                      AND e.success IS s.success
                                      AND e.duration_seconds IS s.duration_seconds))
       OR EXISTS (SELECT 1 FROM executions AS e
                  WHERE e.job_id = NEW.job_id
                    AND NOT EXISTS (SELECT 1 FROM job_summary_cache AS s WHERE s.job_id = e.job_id));
    SELECT RAISE(ABORT, '22003: duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
END;

CREATE TRIGGER executions_after_insert AFTER INSERT ON executions
BEGIN
    SELECT RAISE(ABORT, '0A000: an execution''s rowid must be positive')
    WHERE NEW.rowid < 1;
    -- The row an INSERT OR REPLACE displaced: its summary row is still here.
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT dataset_name, job_type, status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id)
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id = NEW.job_id;
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'execution', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT NEW.dataset_name, 'execution', NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0)
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
END;

CREATE TRIGGER executions_before_update BEFORE UPDATE ON executions
WHEN last_insert_rowid() <> -7669456942709957483
BEGIN
    SELECT RAISE(ABORT, '23505: job_id exists as a variation: a job_id is unique across executions and variations')
    WHERE NEW.job_id IS NOT OLD.job_id
      AND EXISTS (SELECT 1 FROM variations WHERE job_id = NEW.job_id);
    SELECT RAISE(ABORT, '0A000: an execution''s rowid cannot change: jobtrack does not follow a REPLACE by rowid')
    WHERE NEW.rowid IS NOT OLD.rowid;
    SELECT RAISE(ABORT, '55000: job_summary_cache disagrees with executions on this job_id; run refresh_job_cache() first')
    WHERE NEW.job_id IS NOT OLD.job_id
      AND (EXISTS (SELECT 1 FROM job_summary_cache AS s
                   WHERE s.job_id = NEW.job_id
                     AND NOT EXISTS (SELECT 1 FROM executions AS e
                                     WHERE e.job_id = s.job_id AND s.job_type = 'execution'
                                       AND e.dataset_name IS s.dataset_name AND e.status IS s.status
                                       AND e.success IS s.success
                                       AND e.duration_seconds IS s.duration_seconds))
           OR EXISTS (SELECT 1 FROM executions AS e
                      WHERE e.job_id = NEW.job_id
                        AND NOT EXISTS (SELECT 1 FROM job_summary_cache AS s WHERE s.job_id = e.job_id)));
    SELECT RAISE(ABORT, '22003: duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
END;

CREATE TRIGGER executions_after_update AFTER UPDATE ON executions
WHEN last_insert_rowid() <> -7669456942709957483
BEGIN
    -- Out with the old row's counts, in with the new (below), when a
    -- counted column changed (update_progress changes none).
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT OLD.dataset_name, 'execution', OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0)
    WHERE OLD.dataset_name IS NOT NEW.dataset_name OR OLD.status IS NOT NEW.status
       OR OLD.success IS NOT NEW.success OR OLD.duration_seconds IS NOT NEW.duration_seconds
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE dataset_name = OLD.dataset_name AND job_type = 'execution' AND status = OLD.status
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    -- The row an UPDATE OR REPLACE displaced by taking its job_id.
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT dataset_name, job_type, status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND NEW.job_id IS NOT OLD.job_id
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND NEW.job_id IS NOT OLD.job_id)
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id IN (OLD.job_id, NEW.job_id);
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'execution', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT NEW.dataset_name, 'execution', NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0)
    WHERE OLD.dataset_name IS NOT NEW.dataset_name OR OLD.status IS NOT NEW.status
       OR OLD.success IS NOT NEW.success OR OLD.duration_seconds IS NOT NEW.duration_seconds
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
END;

CREATE TRIGGER executions_after_delete AFTER DELETE ON executions
BEGIN
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT OLD.dataset_name, 'execution', OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0)
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE dataset_name = OLD.dataset_name AND job_type = 'execution' AND status = OLD.status
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'execution';
END;

CREATE TRIGGER variations_before_insert BEFORE INSERT ON variations
BEGIN
    SELECT RAISE(ABORT, '23505: job_id exists as an execution: a job_id is unique across executions and variations')
    WHERE EXISTS (SELECT 1 FROM executions WHERE job_id = NEW.job_id);
    SELECT RAISE(ABORT, '0A000: the rowid belongs to another variation: jobtrack does not follow a REPLACE by rowid')
    WHERE EXISTS (SELECT 1 FROM variations WHERE rowid = NEW.rowid AND job_id IS NOT NEW.job_id);
    SELECT RAISE(ABORT, '55000: job_summary_cache disagrees with variations on this job_id; run refresh_job_cache() first')
    WHERE EXISTS (SELECT 1 FROM job_summary_cache AS s
                  WHERE s.job_id = NEW.job_id
                    AND NOT EXISTS (SELECT 1 FROM variations AS v
                                    WHERE v.job_id = s.job_id AND s.job_type = 'variation'
                                      AND v.dataset_name IS s.dataset_name AND v.status IS s.status
                                      AND v.success IS s.success
                                      AND v.duration_seconds IS s.duration_seconds
                                      AND v.experiment_name IS s.experiment_name
                                      AND v.total_combinations IS s.total_combinations))
       OR EXISTS (SELECT 1 FROM variations AS v
                  WHERE v.job_id = NEW.job_id
                    AND NOT EXISTS (SELECT 1 FROM job_summary_cache AS s WHERE s.job_id = v.job_id));
    SELECT RAISE(ABORT, '22003: duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
END;

CREATE TRIGGER variations_after_insert AFTER INSERT ON variations
BEGIN
    SELECT RAISE(ABORT, '0A000: a variation''s rowid must be positive')
    WHERE NEW.rowid < 1;
    -- The row an INSERT OR REPLACE displaced: its summary row is still here.
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT dataset_name, job_type, status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id)
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    -- The same displaced row out of its experiment counter, whose key its
    -- summary row holds too.
    INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT experiment_name, total_combinations, status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND job_type = 'variation'
    ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM experiment_counters
    WHERE (experiment_name, total_combinations, status) =
          (SELECT experiment_name, total_combinations, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND job_type = 'variation')
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id = NEW.job_id;
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated,
                                   experiment_name, total_combinations)
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at,
            NEW.experiment_name, NEW.total_combinations);
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT NEW.dataset_name, 'variation', NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0)
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT NEW.experiment_name, NEW.total_combinations, NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0)
    ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
END;

CREATE TRIGGER variations_before_update BEFORE UPDATE ON variations
WHEN last_insert_rowid() <> -7669456942709957483
BEGIN
    SELECT RAISE(ABORT, '23505: job_id exists as an execution: a job_id is unique across executions and variations')
    WHERE NEW.job_id IS NOT OLD.job_id
      AND EXISTS (SELECT 1 FROM executions WHERE job_id = NEW.job_id);
    SELECT RAISE(ABORT, '0A000: a variation''s rowid cannot change: jobtrack does not follow a REPLACE by rowid')
    WHERE NEW.rowid IS NOT OLD.rowid;
    SELECT RAISE(ABORT, '55000: job_summary_cache disagrees with variations on this job_id; run refresh_job_cache() first')
    WHERE NEW.job_id IS NOT OLD.job_id
      AND (EXISTS (SELECT 1 FROM job_summary_cache AS s
                   WHERE s.job_id = NEW.job_id
                     AND NOT EXISTS (SELECT 1 FROM variations AS v
                                     WHERE v.job_id = s.job_id AND s.job_type = 'variation'
                                       AND v.dataset_name IS s.dataset_name AND v.status IS s.status
                                       AND v.success IS s.success
                                       AND v.duration_seconds IS s.duration_seconds
                                       AND v.experiment_name IS s.experiment_name
                                       AND v.total_combinations IS s.total_combinations))
           OR EXISTS (SELECT 1 FROM variations AS v
                      WHERE v.job_id = NEW.job_id
                        AND NOT EXISTS (SELECT 1 FROM job_summary_cache AS s WHERE s.job_id = v.job_id)));
    SELECT RAISE(ABORT, '22003: duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
END;

CREATE TRIGGER variations_after_update AFTER UPDATE ON variations
WHEN last_insert_rowid() <> -7669456942709957483
BEGIN
    -- Out with the old row's counts, in with the new (below), when a
    -- counted column changed (update_progress changes none).
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT OLD.dataset_name, 'variation', OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0)
    WHERE OLD.dataset_name IS NOT NEW.dataset_name OR OLD.status IS NOT NEW.status
       OR OLD.success IS NOT NEW.success OR OLD.duration_seconds IS NOT NEW.duration_seconds
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE dataset_name = OLD.dataset_name AND job_type = 'variation' AND status = OLD.status
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    -- The same for the experiment counters, whose key is the experiment and
    -- total_combinations instead of the dataset: an UPDATE of either alone
    -- moves the job between experiment counters and leaves job_counters be.
    INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT OLD.experiment_name, OLD.total_combinations, OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0)
    WHERE OLD.experiment_name IS NOT NEW.experiment_name
       OR OLD.total_combinations IS NOT NEW.total_combinations OR OLD.status IS NOT NEW.status
       OR OLD.success IS NOT NEW.success OR OLD.duration_seconds IS NOT NEW.duration_seconds
    ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM experiment_counters
    WHERE experiment_name = OLD.experiment_name AND total_combinations = OLD.total_combinations
      AND status = OLD.status
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    -- The row an UPDATE OR REPLACE displaced by taking its job_id.
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT dataset_name, job_type, status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND NEW.job_id IS NOT OLD.job_id
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND NEW.job_id IS NOT OLD.job_id)
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT experiment_name, total_combinations, status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND NEW.job_id IS NOT OLD.job_id AND job_type = 'variation'
    ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM experiment_counters
    WHERE (experiment_name, total_combinations, status) =
          (SELECT experiment_name, total_combinations, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND NEW.job_id IS NOT OLD.job_id AND job_type = 'variation')
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id IN (OLD.job_id, NEW.job_id);
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated,
                                   experiment_name, total_combinations)
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at,
            NEW.experiment_name, NEW.total_combinations);
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT NEW.dataset_name, 'variation', NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0)
    WHERE OLD.dataset_name IS NOT NEW.dataset_name OR OLD.status IS NOT NEW.status
       OR OLD.success IS NOT NEW.success OR OLD.duration_seconds IS NOT NEW.duration_seconds
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT NEW.experiment_name, NEW.total_combinations, NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0)
    WHERE OLD.experiment_name IS NOT NEW.experiment_name
       OR OLD.total_combinations IS NOT NEW.total_combinations OR OLD.status IS NOT NEW.status
       OR OLD.success IS NOT NEW.success OR OLD.duration_seconds IS NOT NEW.duration_seconds
    ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
END;

CREATE TRIGGER variations_after_delete AFTER DELETE ON variations
BEGIN
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT OLD.dataset_name, 'variation', OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0)
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE dataset_name = OLD.dataset_name AND job_type = 'variation' AND status = OLD.status
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT OLD.experiment_name, OLD.total_combinations, OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0)
    ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM experiment_counters
    WHERE experiment_name = OLD.experiment_name AND total_combinations = OLD.total_combinations
      AND status = OLD.status
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'variation';
END;

-- Every index below serves one runtime query (sql/sqlite/queries/); a test
-- checks with EXPLAIN QUERY PLAN that each query uses its index and that no
-- other index exists.

-- all_jobs.sql: newest created_at first, ties on job_id, without sorting.
CREATE INDEX idx_executions_created ON executions (created_at, job_id);
CREATE INDEX idx_variations_created ON variations (created_at, job_id);

-- running_jobs.sql: partial, holds only jobs in an active status, which are
-- few next to the finished ones.
CREATE INDEX idx_executions_active ON executions (created_at, job_id)
    WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview');
CREATE INDEX idx_variations_active ON variations (created_at, job_id)
    WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                     'ready_for_training', 'training', 'generating_preview');

-- cleanup_executions.sql, cleanup_variations.sql: partial, terminal jobs
-- only, ranged on created_at.
CREATE INDEX idx_executions_cleanup ON executions (created_at)
    WHERE status IN ('done', 'failed', 'cancelled');
CREATE INDEX idx_variations_cleanup ON variations (created_at)
    WHERE status IN ('done', 'failed', 'cancelled');

-- recent_jobs.sql: the top-N ids by last_updated, read from the index alone.
CREATE INDEX idx_job_summary_recent ON job_summary_cache (last_updated, job_id, job_type);

-- dataset_stats.sql: min_duration, max_duration (a seek to the first or
-- last entry of the dataset).
CREATE INDEX idx_job_summary_dataset_duration ON job_summary_cache (dataset_name, duration_seconds);

-- dataset_stats.sql: first_run, last_run.
CREATE INDEX idx_job_summary_dataset_start ON job_summary_cache (dataset_name, start_time);

-- experiment_stats.sql: min_duration, max_duration of one experiment (a
-- seek to its first or last entry), on the variations themselves: the
-- summary table has no experiment index, and these serve no other query.
CREATE INDEX idx_variations_experiment_duration ON variations (experiment_name, duration_seconds);

-- experiment_stats.sql: first_run, last_run.
CREATE INDEX idx_variations_experiment_start ON variations (experiment_name, start_time);
