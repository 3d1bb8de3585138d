-- BEFORE: one new execution per INSERT, each in its own (autocommit)
-- transaction. Shared by PostgreSQL and SQLite.
INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, total_steps)
VALUES ($1, $2, $3, $4, $5, $6);
