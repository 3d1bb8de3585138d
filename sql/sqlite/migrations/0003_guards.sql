-- jobtrack schema, version 3, for SQLite: migrates a version-2 file.
--
-- Version 3 guards the invariants against every plain-SQL conflict clause
-- and rowid trick (BEFORE triggers with RAISE(ABORT)), and its CHECKs
-- refuse impossible timestamps. A CHECK cannot be added to an existing
-- table, so both base tables are rebuilt (SQLite's documented procedure:
-- rename, create, copy, drop); the derived tables are rebuilt from them,
-- which also repairs any hand damage; every view, trigger and index is
-- created anew. The result is exactly ../schema.sql, which a test checks.
-- Every step may run again without harm.
--
-- 0003_guards_precheck.sql runs first and stops the migration, changing
-- nothing, if a row would be refused: a job_id in both kinds, an impossible
-- timestamp, a duration beyond ±1e12 s.
--
-- Rows get new rowids in the copy (in the old order): version 3 refuses
-- rowids below 1, which version 2 allowed.

DROP VIEW IF EXISTS job_counters_recount;
DROP TRIGGER IF EXISTS executions_summary_insert;
DROP TRIGGER IF EXISTS executions_summary_update;
DROP TRIGGER IF EXISTS executions_summary_delete;
DROP TRIGGER IF EXISTS variations_summary_insert;
DROP TRIGGER IF EXISTS variations_summary_update;
DROP TRIGGER IF EXISTS variations_summary_delete;
DROP TRIGGER IF EXISTS executions_before_insert;
DROP TRIGGER IF EXISTS executions_after_insert;
DROP TRIGGER IF EXISTS executions_before_update;
DROP TRIGGER IF EXISTS executions_after_update;
DROP TRIGGER IF EXISTS executions_after_delete;
DROP TRIGGER IF EXISTS variations_before_insert;
DROP TRIGGER IF EXISTS variations_after_insert;
DROP TRIGGER IF EXISTS variations_before_update;
DROP TRIGGER IF EXISTS variations_after_update;
DROP TRIGGER IF EXISTS variations_after_delete;

ALTER TABLE executions RENAME TO executions_before_v3;
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
                                        IS substr(updated_at, 1, 19))
) STRICT;
INSERT INTO executions (
    job_id, status, pipeline_mode, dataset_name, preset, total_steps, current_step,
    start_time, end_time, duration_seconds, success, error_message, output_path,
    created_at, updated_at)
SELECT job_id, status, pipeline_mode, dataset_name, preset, total_steps, current_step,
    start_time, end_time, duration_seconds, success, error_message, output_path,
    created_at, updated_at
FROM executions_before_v3
ORDER BY rowid;
DROP TABLE executions_before_v3;

ALTER TABLE variations RENAME TO variations_before_v3;
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
                                            IS substr(updated_at, 1, 19))
) STRICT;
INSERT INTO variations (
    job_id, status, variation_id, experiment_name, dataset_name, preset,
    total_combinations, varied_parameters, parameter_values, parent_experiment_id,
    total_steps, current_step, start_time, end_time, duration_seconds, success,
    error_message, output_path, created_at, updated_at)
SELECT job_id, status, variation_id, experiment_name, dataset_name, preset,
    total_combinations, varied_parameters, parameter_values, parent_experiment_id,
    total_steps, current_step, start_time, end_time, duration_seconds, success,
    error_message, output_path, created_at, updated_at
FROM variations_before_v3
ORDER BY rowid;
DROP TABLE variations_before_v3;

DROP TABLE IF EXISTS job_summary_cache;
CREATE TABLE job_summary_cache (
    job_id           TEXT    NOT NULL PRIMARY KEY,
    job_type         TEXT    NOT NULL CHECK (job_type IN ('execution', 'variation')),
    status           TEXT    NOT NULL,
    dataset_name     TEXT    NOT NULL,
    preset           TEXT    NOT NULL,
    start_time       TEXT,
    duration_seconds REAL,
    success          INTEGER,
    last_updated     TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                               start_time, duration_seconds, success, last_updated)
SELECT job_id, 'execution', status, dataset_name, preset,
       start_time, duration_seconds, success, updated_at
FROM executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset,
       start_time, duration_seconds, success, updated_at
FROM variations;

DROP TABLE IF EXISTS job_counters;
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

INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed,
                          duration_count, duration_micros_sum)
SELECT dataset_name, job_type, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM job_counters_recount;

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
                                      AND v.duration_seconds IS s.duration_seconds))
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
    DELETE FROM job_summary_cache WHERE job_id = NEW.job_id;
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
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
END;

CREATE TRIGGER variations_before_update BEFORE UPDATE ON variations
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
                                       AND v.duration_seconds IS s.duration_seconds))
           OR EXISTS (SELECT 1 FROM variations AS v
                      WHERE v.job_id = NEW.job_id
                        AND NOT EXISTS (SELECT 1 FROM job_summary_cache AS s WHERE s.job_id = v.job_id)));
    SELECT RAISE(ABORT, '22003: duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
END;

CREATE TRIGGER variations_after_update AFTER UPDATE ON variations
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
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
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
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'variation';
END;

-- The indexes: those of the base tables went with the old tables, those of
-- job_summary_cache with the old summary table.

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
