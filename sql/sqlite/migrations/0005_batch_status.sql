-- jobtrack schema, version 5, for SQLite: migrates a version-4 file.
--
-- Version 5 lets jobtrack's own status changes skip the four UPDATE
-- triggers, which it replaces with one set-based summary step and one
-- aggregated counter step per call (sql/sqlite/queries/status_*.sql): each
-- trigger gains a WHEN clause that is false only for the UPDATE statement
-- jobtrack's writer runs with last_insert_rowid() set to
-- -7669456942709957483; ../schema.sql says why no other write can see that
-- value. The trigger bodies are unchanged. No table changes, so no row can
-- be refused and there is no precheck; the summary and the counters were
-- exact under version 4's triggers and stay so. The triggers are created
-- anew, so that the step may run again without harm. The result is exactly
-- ../schema.sql, which a test checks.

DROP TRIGGER IF EXISTS executions_before_update;
DROP TRIGGER IF EXISTS executions_after_update;
DROP TRIGGER IF EXISTS variations_before_update;
DROP TRIGGER IF EXISTS variations_after_update;

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
                                       AND v.duration_seconds IS s.duration_seconds))
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
