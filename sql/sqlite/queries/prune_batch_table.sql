-- The working table of one prune_jobs batch: the jobs it chose
-- (prune_choose.sql), which prune_executions.sql and prune_variations.sql
-- then delete. In the writer connection's temp schema, like
-- job_status_change (status_change_table.sql): private to it, never in the
-- file, created once when the writer opens, empty between batches.
-- Choosing once and deleting what was chosen keeps the batch exactly the
-- batch_size oldest jobs of both kinds: a second look after the first
-- DELETE would see other jobs.
CREATE TEMP TABLE IF NOT EXISTS job_prune_batch (
    job_id     TEXT NOT NULL PRIMARY KEY,
    job_type   TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID
