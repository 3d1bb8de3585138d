-- jobtrack schema, version 6, for SQLite: migrates a version-5 file.
--
-- Version 6 records which worker claimed a job (claim_next_jobs): a
-- nullable column worker on both base tables, last, as ADD COLUMN puts it,
-- in no index, no view and no derived table. Every existing row gets NULL,
-- which the CHECK accepts, so no row can be refused and there is no
-- precheck. The result is exactly ../schema.sql, which a test checks.

ALTER TABLE executions ADD COLUMN worker TEXT CHECK (worker IS NULL OR length(worker) BETWEEN 1 AND 255);
ALTER TABLE variations ADD COLUMN worker TEXT CHECK (worker IS NULL OR length(worker) BETWEEN 1 AND 255);
