-- jobtrack schema, version 2, for SQLite: migrates a version-1 file.
--
-- Every step may run again without harm (IF EXISTS, IF NOT EXISTS, drop
-- and create), so that a version-1 file that lost an index or a trigger
-- to a hand edit still upgrades.
--
-- Statistics in constant time. job_counters holds, per (dataset, job type,
-- status), the number of jobs, how many succeeded and failed, and the count
-- and sum of their durations. The triggers below keep it in the same
-- transaction as every write to the base tables — jobtrack's and any
-- program's plain SQL alike — so get_statistics_optimized() reads a table
-- whose size depends on the number of datasets, not of jobs, and is exact:
-- a rolled-back transaction or savepoint takes its counter changes with it.
--
-- Exactness: every value is an integer, durations included (whole
-- microseconds, each duration_seconds rounded once), so adding a job and
-- subtracting it again restores a counter exactly; a floating-point sum
-- would drift. The view job_counters_recount is the definition the counters
-- must equal; verify_statistics() compares the two, refresh_job_cache()
-- rebuilds the counters from it.
--
-- No hot row: SQLite lets one connection write at a time (the database
-- lock every writer takes, BEGIN IMMEDIATE in jobtrack), so writers touching
-- the same counter row wait for that lock and nothing else; the counters add
-- no contention of their own, and the design can stay one row per key.
--
-- A row whose values all fall to zero is deleted, so the table holds only
-- the keys that have jobs.

CREATE TABLE IF NOT EXISTS job_counters (
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
DROP VIEW IF EXISTS job_counters_recount;
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

-- One trigger per table and event now keeps both the summary table (as in
-- version 1) and the counters, so that the order of the steps is fixed.
DROP TRIGGER IF EXISTS executions_summary_insert;
DROP TRIGGER IF EXISTS executions_summary_update;
DROP TRIGGER IF EXISTS executions_summary_delete;
DROP TRIGGER IF EXISTS variations_summary_insert;
DROP TRIGGER IF EXISTS variations_summary_update;
DROP TRIGGER IF EXISTS variations_summary_delete;

-- Each trigger adds or subtracts one job's contribution with an UPSERT (an
-- UPSERT's DO UPDATE holds even under an outer INSERT OR REPLACE) and then
-- deletes the row if it fell to all zeros.
--
-- REPLACE: when INSERT OR REPLACE or UPDATE OR REPLACE removes a row that
-- holds the same job_id, SQLite does not fire its DELETE trigger (unless the
-- writing connection set PRAGMA recursive_triggers). That row's summary row
-- is then still present, and it holds every counted column, so the INSERT
-- and UPDATE triggers take its contribution out first. With
-- recursive_triggers the DELETE trigger has done so and removed the summary
-- row already; either way the job is subtracted once.
--
-- Durations beyond ±1e12 s (31,000 years) are refused: their microseconds
-- would not fit the exact integer sums. jobtrack itself never writes such
-- a duration; this guards plain SQL.

DROP TRIGGER IF EXISTS executions_after_insert;
CREATE TRIGGER executions_after_insert AFTER INSERT ON executions
BEGIN
    SELECT RAISE(ABORT, 'duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
    -- The row an INSERT OR REPLACE displaced: its summary row is still here.
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT dataset_name, 'execution', status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND job_type = 'execution'
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND job_type = 'execution')
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'execution', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    VALUES (NEW.dataset_name, 'execution', NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0))
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
END;

DROP TRIGGER IF EXISTS executions_after_update;
CREATE TRIGGER executions_after_update AFTER UPDATE ON executions
BEGIN
    SELECT RAISE(ABORT, 'duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
    -- Out with the old row's counts, in with the new, when a counted column
    -- changed (update_progress changes none).
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
    SELECT dataset_name, 'execution', status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND job_type = 'execution' AND NEW.job_id IS NOT OLD.job_id
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND job_type = 'execution' AND NEW.job_id IS NOT OLD.job_id)
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'execution';
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

DROP TRIGGER IF EXISTS executions_after_delete;
CREATE TRIGGER executions_after_delete AFTER DELETE ON executions
BEGIN
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    VALUES (OLD.dataset_name, 'execution', OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0))
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

DROP TRIGGER IF EXISTS variations_after_insert;
CREATE TRIGGER variations_after_insert AFTER INSERT ON variations
BEGIN
    SELECT RAISE(ABORT, 'duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
    -- The row an INSERT OR REPLACE displaced: its summary row is still here.
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    SELECT dataset_name, 'variation', status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND job_type = 'variation'
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND job_type = 'variation')
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                   start_time, duration_seconds, success, last_updated)
    VALUES (NEW.job_id, 'variation', NEW.status, NEW.dataset_name, NEW.preset,
            NEW.start_time, NEW.duration_seconds, NEW.success, NEW.updated_at);
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    VALUES (NEW.dataset_name, 'variation', NEW.status, 1, (NEW.success IS 1), (NEW.success IS 0),
           (NEW.duration_seconds IS NOT NULL),
           coalesce(CAST(round(NEW.duration_seconds * 1e6) AS INTEGER), 0))
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
END;

DROP TRIGGER IF EXISTS variations_after_update;
CREATE TRIGGER variations_after_update AFTER UPDATE ON variations
BEGIN
    SELECT RAISE(ABORT, 'duration_seconds must lie between -1e12 and 1e12: jobtrack counts durations in whole microseconds')
    WHERE abs(NEW.duration_seconds) > 1e12;
    -- Out with the old row's counts, in with the new, when a counted column
    -- changed (update_progress changes none).
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
    SELECT dataset_name, 'variation', status, -1, -(success IS 1), -(success IS 0),
           -(duration_seconds IS NOT NULL),
           -coalesce(CAST(round(duration_seconds * 1e6) AS INTEGER), 0)
    FROM job_summary_cache
    WHERE job_id = NEW.job_id AND job_type = 'variation' AND NEW.job_id IS NOT OLD.job_id
    ON CONFLICT (dataset_name, job_type, status) DO UPDATE
    SET jobs                = jobs + excluded.jobs,
        successful          = successful + excluded.successful,
        failed              = failed + excluded.failed,
        duration_count      = duration_count + excluded.duration_count,
        duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum;
    DELETE FROM job_counters
    WHERE (dataset_name, job_type, status) =
          (SELECT dataset_name, job_type, status FROM job_summary_cache
           WHERE job_id = NEW.job_id AND job_type = 'variation' AND NEW.job_id IS NOT OLD.job_id)
      AND jobs = 0 AND successful = 0 AND failed = 0
      AND duration_count = 0 AND duration_micros_sum = 0;
    DELETE FROM job_summary_cache WHERE job_id = OLD.job_id AND job_type = 'variation';
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

DROP TRIGGER IF EXISTS variations_after_delete;
CREATE TRIGGER variations_after_delete AFTER DELETE ON variations
BEGIN
    INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed, duration_count, duration_micros_sum)
    VALUES (OLD.dataset_name, 'variation', OLD.status, -1, -(OLD.success IS 1), -(OLD.success IS 0),
           -(OLD.duration_seconds IS NOT NULL),
           -coalesce(CAST(round(OLD.duration_seconds * 1e6) AS INTEGER), 0))
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

-- The statistics indexes of version 1 served the old statistics query,
-- which scanned the base tables; the counters replace it. The dataset
-- index served an aggregate over a dataset's summary rows; now counts and
-- averages come from the counters and only the extremes from the summary,
-- through one index each (a seek to the first or last entry of the
-- dataset).
DROP INDEX IF EXISTS idx_executions_statistics;
DROP INDEX IF EXISTS idx_variations_statistics;
DROP INDEX IF EXISTS idx_job_summary_dataset;

-- dataset_stats.sql: min_duration, max_duration.
CREATE INDEX IF NOT EXISTS idx_job_summary_dataset_duration ON job_summary_cache (dataset_name, duration_seconds);

-- dataset_stats.sql: first_run, last_run.
CREATE INDEX IF NOT EXISTS idx_job_summary_dataset_start ON job_summary_cache (dataset_name, start_time);

-- The counters of the jobs already in the file.
DELETE FROM job_counters;
INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed,
                          duration_count, duration_micros_sum)
SELECT dataset_name, job_type, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM job_counters_recount;
