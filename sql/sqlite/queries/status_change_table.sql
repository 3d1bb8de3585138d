-- The working table of one status-change call: the changes, one row per
-- job, that update_*_status.sql applies in one statement. In the writer
-- connection's temp schema (private to it, never in the file, rolled back
-- with the call's savepoint), created once when the writer opens, empty
-- between calls. WITHOUT ROWID: an INSERT into it leaves
-- last_insert_rowid() alone, which the UPDATE triggers test (schema.sql).
CREATE TEMP TABLE IF NOT EXISTS job_status_change (
    job_id               TEXT    NOT NULL PRIMARY KEY,
    status               TEXT    NOT NULL,
    error_message        TEXT,
    starts_clock         INTEGER NOT NULL,
    terminal             INTEGER NOT NULL,
    success              INTEGER,
    clears_error_message INTEGER NOT NULL
) WITHOUT ROWID
