-- BEFORE (PostgreSQL): one status change of one job of variations; the client
-- runs it once per job, each in its own (autocommit) transaction. The
-- status effects are computed in the statement itself, so the client needs
-- no read first: $1 job_id, $2 status, $3 error_message (NULL keeps it).
UPDATE variations
SET status = $2,
    updated_at = now(),
    start_time = CASE WHEN $2 = 'training' THEN COALESCE(start_time, now()) ELSE start_time END,
    end_time = CASE WHEN $2 IN ('done', 'failed', 'cancelled') THEN now() END,
    duration_seconds = CASE WHEN $2 IN ('done', 'failed', 'cancelled')
                            THEN EXTRACT(EPOCH FROM now() - start_time)::double precision END,
    success = CASE $2 WHEN 'done' THEN true WHEN 'failed' THEN false END,
    error_message = CASE WHEN $2 = 'done' THEN NULL ELSE COALESCE($3, error_message) END
WHERE job_id = $1;
