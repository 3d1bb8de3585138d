-- jobtrack schema, version 1, for SQLite (3.38 or later): what the first
-- release created in a new file (with `PRAGMA user_version = 1`). Kept as
-- the record of what a version-1 file holds; a new file now gets
-- ../schema.sql, and 0002_counters.sql onwards migrate a version-1 file.
--
-- Timestamps are TEXT in the fixed-width UTC format
-- `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 characters). The CHECKs insist on it
-- because text order is time order only in that format, and durations are
-- computed from its fixed positions. The column DEFAULTs produce it, so plain
-- SQL INSERTs that omit the timestamps stay correct.
--
-- Tables are STRICT so that a program writing plain SQL cannot store a
-- number where text belongs (or the reverse) and break ordering or sums.

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
    start_time       TEXT    CHECK (start_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    end_time         TEXT    CHECK (end_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    duration_seconds REAL,
    success          INTEGER CHECK (success IN (0, 1)),
    error_message    TEXT,
    output_path      TEXT,
    created_at       TEXT    NOT NULL
                             DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                             CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at       TEXT    NOT NULL
                             DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                             CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
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
    start_time           TEXT    CHECK (start_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    end_time             TEXT    CHECK (end_time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    duration_seconds     REAL,
    success              INTEGER CHECK (success IN (0, 1)),
    error_message        TEXT,
    output_path          TEXT,
    created_at           TEXT    NOT NULL
                                 DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                                 CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at           TEXT    NOT NULL
                                 DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                                 CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- One row per job of either kind. Its PRIMARY KEY makes a job_id unique
-- across both tables: the insert trigger of the second kind fails on it.
-- last_updated is the job's updated_at, so ordering by it is ordering the
-- jobs by updated_at.
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

-- Triggers rather than library code keep the summary exact, so that plain
-- SQL writes by any program on the file keep it right too. An UPDATE deletes
-- and re-inserts the row: that also follows a changed job_id and re-creates
-- a row someone deleted by hand.
CREATE TRIGGER executions_summary_insert AFTER INSERT ON executions
BEGIN
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'execution', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
END;

CREATE TRIGGER executions_summary_update AFTER UPDATE ON executions
BEGIN
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'execution';
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'execution', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
END;

CREATE TRIGGER executions_summary_delete AFTER DELETE ON executions
BEGIN
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'execution';
END;

CREATE TRIGGER variations_summary_insert AFTER INSERT ON variations
BEGIN
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
END;

CREATE TRIGGER variations_summary_update AFTER UPDATE ON variations
BEGIN
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'variation';
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
END;

CREATE TRIGGER variations_summary_delete AFTER DELETE ON variations
BEGIN
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'variation';
END;

-- Every index below served one runtime query of version 1; a test
-- checked with EXPLAIN QUERY PLAN that each query uses its index and that no
-- other index exists.

-- statistics.sql: covering, so counting by status reads only the index,
-- already grouped by status.
CREATE INDEX idx_executions_statistics ON executions (status, success, duration_seconds);
CREATE INDEX idx_variations_statistics ON variations (status, success, duration_seconds);

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

-- dataset_stats.sql: composite on dataset_name, covering every aggregated
-- column.
CREATE INDEX idx_job_summary_dataset
    ON job_summary_cache (dataset_name, job_type, success, duration_seconds, start_time);

-- recent_jobs.sql: the top-N ids by last_updated, read from the index alone.
CREATE INDEX idx_job_summary_recent ON job_summary_cache (last_updated, job_id, job_type);
