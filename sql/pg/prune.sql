-- prune_jobs: cleanup_old_jobs in batches, each committed on its own, so
-- that pruning millions of finished jobs never holds one huge transaction:
-- a writer waits for one batch at most, the dead rows of each batch can be
-- vacuumed while the rest is still being pruned, and an interrupted prune
-- (a cancel, a lost connection, a restart) keeps the batches it committed;
-- calling it again goes on from there.
--
-- A procedure, because only a procedure may COMMIT, and so, as PostgreSQL
-- requires of one that commits, with neither a SET clause nor SECURITY
-- DEFINER: every name below is schema-qualified instead, and it runs with
-- the caller's rights, like cleanup_old_jobs. Called inside a transaction
-- block (BEGIN … CALL), its first COMMIT fails with 2D000 and nothing of
-- the call is applied.
--
-- The work is the library's: _prune_cutoff checks the arguments and fixes
-- the cutoff when the CALL starts; each _prune_batch deletes one batch
-- (sql/pg/queries/prune_batch.sql), adds it to the report and leaves the
-- key more in it while another batch is due. The report comes back as the
-- INOUT parameter report (what the caller passes there is ignored).
CREATE PROCEDURE jobtrack.prune_jobs(
    days integer,
    keep_failed boolean DEFAULT true,
    batch_size integer DEFAULT 10000,
    INOUT report pg_catalog.jsonb DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    cutoff pg_catalog.timestamptz := jobtrack._prune_cutoff(days, keep_failed, batch_size);
BEGIN
    report := NULL;
    LOOP
        report := jobtrack._prune_batch(cutoff, keep_failed, batch_size, report);
        COMMIT;
        EXIT WHEN NOT pg_catalog.jsonb_exists(report, 'more');
    END LOOP;
END
$$;
