-- jobtrack schema, version 8, for SQLite: migrates a version-7 file.
--
-- Version 8 answers get_experiment_stats(experiment_name), the progress of
-- one hyper-parameter sweep, in constant time in the number of jobs, as
-- job_counters answers the statistics: a derived table experiment_counters
-- (per experiment, total_combinations and status, the five exact values of
-- job_counters) kept by the variations' triggers, its definition the view
-- experiment_counters_recount, and two indexes on variations for the
-- extremes (the shortest and longest duration, the first and last start of
-- one experiment, each a seek). A variation that INSERT OR REPLACE or
-- UPDATE OR REPLACE displaces fires no DELETE trigger, so its contribution
-- is taken out from its summary row, which therefore needs the rest of the
-- experiment counter's key: job_summary_cache gains experiment_name and
-- total_combinations, last, as ADD COLUMN puts them (NULL for executions),
-- filled here from the variations; the five variation triggers are created
-- anew to keep the new table and columns, and their 55000 check compares
-- the new columns too. No base table changes, so no row can be refused and
-- there is no precheck. The counters are built from the recount (a full
-- scan, once), so they are exact whatever the state of version 7's derived
-- tables. The result is exactly ../schema.sql, which a test checks.

ALTER TABLE job_summary_cache ADD COLUMN experiment_name TEXT;
ALTER TABLE job_summary_cache ADD COLUMN total_combinations INTEGER;
UPDATE job_summary_cache
SET (experiment_name, total_combinations) =
    (SELECT v.experiment_name, v.total_combinations FROM variations AS v
     WHERE v.job_id = job_summary_cache.job_id)
WHERE job_type = 'variation';

CREATE TABLE experiment_counters (
    experiment_name     TEXT    NOT NULL,
    total_combinations  INTEGER NOT NULL,
    status              TEXT    NOT NULL
                                CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',
                                                  'configuring_preset', 'ready_for_training',
                                                  'training', 'generating_preview',
                                                  'done', 'failed', 'cancelled')),
    jobs                INTEGER NOT NULL,
    successful          INTEGER NOT NULL,
    failed              INTEGER NOT NULL,
    duration_count      INTEGER NOT NULL,
    duration_micros_sum INTEGER NOT NULL,
    PRIMARY KEY (experiment_name, total_combinations, status)
) STRICT, WITHOUT ROWID;

CREATE VIEW experiment_counters_recount AS
SELECT experiment_name, total_combinations, status,
       COUNT(*) AS jobs,
       COUNT(*) FILTER (WHERE success = 1) AS successful,
       COUNT(*) FILTER (WHERE success = 0) AS failed,
       COUNT(duration_seconds) AS duration_count,
       coalesce(SUM(CAST(round(duration_seconds * 1e6) AS INTEGER)), 0) AS duration_micros_sum
FROM variations
GROUP BY experiment_name, total_combinations, status;

INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful,
                                 failed, duration_count, duration_micros_sum)
SELECT experiment_name, total_combinations, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM experiment_counters_recount;

CREATE INDEX idx_variations_experiment_duration ON variations (experiment_name, duration_seconds);
CREATE INDEX idx_variations_experiment_start ON variations (experiment_name, start_time);

DROP TRIGGER IF EXISTS variations_before_insert;
DROP TRIGGER IF EXISTS variations_after_insert;
DROP TRIGGER IF EXISTS variations_before_update;
DROP TRIGGER IF EXISTS variations_after_update;
DROP TRIGGER IF EXISTS variations_after_delete;

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
