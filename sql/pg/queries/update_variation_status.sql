-- Status changes of variations: one statement for the whole batch (one element
-- per job, the later element having won).
--
-- Locks first: `locked` takes the row locks in job_id order, and a row is
-- updated only once it is in `locked`, so every lock this statement takes
-- is taken in job_id order — concurrent batches naming the same jobs in any
-- order queue behind each other instead of deadlocking.
--
-- Effects, as the README states them: updated_at = now; entering training sets
-- start_time if null; entering a terminal status sets end_time and
-- duration_seconds (end - start, when start_time is set); success comes from
-- the status; error_message is replaced by the given one (kept when none is
-- given) and cleared on entering done. The flags come from jobtrack-core.
WITH locked AS (
    SELECT l.job_id
    FROM jobtrack.variations AS l
    WHERE l.job_id = ANY($1::text[])
    ORDER BY l.job_id
    FOR UPDATE OF l
)
UPDATE jobtrack.variations AS t
SET status = u.status,
    updated_at = statement_timestamp(),
    start_time = CASE WHEN u.starts_clock
                      THEN COALESCE(t.start_time, statement_timestamp())
                      ELSE t.start_time END,
    end_time = CASE WHEN u.terminal THEN statement_timestamp() END,
    duration_seconds = CASE WHEN u.terminal
                            THEN EXTRACT(EPOCH FROM statement_timestamp() - t.start_time)::double precision
                       END,
    success = u.success,
    error_message = CASE WHEN u.clears_error THEN NULL
                         ELSE COALESCE(u.error_message, t.error_message) END
FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::boolean[],
            $6::boolean[], $7::boolean[])
     AS u(job_id, status, error_message, starts_clock, terminal, success, clears_error)
JOIN locked USING (job_id)
WHERE t.job_id = u.job_id
