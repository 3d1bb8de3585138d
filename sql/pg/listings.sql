-- The listings get_all_jobs_optimized and get_running_jobs, as SQL functions
-- the planner inlines into the calling query: a call runs as the same
-- SELECT written by hand (its rows never cross a function boundary), and a
-- call in a larger query is planned with it. The inlining is paid each time
-- a call is planned (0.3-0.4 ms, measured), which is every execution.
--
-- What inlining needs, and why each property is chosen: LANGUAGE sql with a
-- single SELECT; STABLE, not STRICT, no SET clause, not SECURITY DEFINER.
-- Instead of a pinned search_path the body is a standard SQL body (BEGIN
-- ATOMIC): parsed once, at CREATE, with every table, view, function and
-- operator bound there, so the caller's search_path cannot change what it
-- calls. It runs with the caller's rights, like a query of the caller's own
-- on the security_invoker view jobtrack.jobs.
--
-- Keyset pagination: `after` is the job_id of the last row of the previous
-- page; a page is the rows after that job's (created_at, job_id) in the
-- listing's order, which the created and active indexes hold, so any page
-- costs one index seek plus its rows. The body is two branches, the first
-- page and a later one, of which `after IS NULL` keeps exactly one: for a
-- call with constants, which every call through a prepared statement is
-- too (its LIMIT is known only in a custom plan, so PostgreSQL plans each
-- execution), the planner drops the other branch, and the first page is
-- planned and run as the plain query. In a generic plan a one-time filter
-- skips it. Written as one WHERE clause with `after IS NULL OR …`, a
-- generic plan could not seek.
--
-- jobtrack._listing_limit, _listing_page_limit and _listing_cursor (Rust,
-- pg_ext/src/reads.rs) check lim and look the cursor up, raising
-- jobtrack's errors (22023 naming the argument) as the other backend does.
-- _listing_limit is IMMUTABLE, so that a constant lim is folded when the
-- call is planned. The later page's outermost LIMIT checks the cursor too
-- (_listing_page_limit): a LIMIT is computed before any row is read, so an
-- unknown cursor is an error whatever lim (even 0, where the index scan
-- that reads the cursor's created_at never starts), as in SQLite.

CREATE FUNCTION jobtrack.get_all_jobs_optimized(lim integer DEFAULT 100, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    (SELECT j.*
     FROM jobtrack.jobs AS j
     WHERE after IS NULL
     ORDER BY j.created_at DESC, j.job_id DESC
     LIMIT jobtrack._listing_limit(lim, false))
    UNION ALL
    (SELECT j.*
     FROM jobtrack.jobs AS j
     WHERE after IS NOT NULL
       AND (j.created_at, j.job_id) < (jobtrack._listing_cursor(after), after COLLATE "C")
     ORDER BY j.created_at DESC, j.job_id DESC
     LIMIT jobtrack._listing_page_limit(lim, false, after));
END;

-- Each branch merges one LIMITed branch per table: PostgreSQL does not read
-- a partial index in order for a branch of a UNION ALL (it sorts every
-- active job), but does for a single table. The active statuses repeat the
-- partial indexes' WHERE clauses, which is what lets the planner use them.
-- lim NULL (the default): every active job, as get_running_jobs() returned
-- before it had pages.
CREATE FUNCTION jobtrack.get_running_jobs(lim integer DEFAULT NULL, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text,
    start_time timestamptz, current_step integer, total_steps integer,
    progress double precision, experiment_name text, variation_id text
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- progress as jobtrack_core::progress computes it for SQLite:
    -- 100 × current / total, 0 when either is unknown or total is 0.
    SELECT p.job_id, p.job_type, p.status, p.dataset_name, p.start_time,
           p.current_step, p.total_steps,
           CASE WHEN p.total_steps > 0 AND p.current_step IS NOT NULL
                THEN 100.0::double precision * p.current_step / p.total_steps
                ELSE 0::double precision
           END,
           p.experiment_name, p.variation_id
    FROM ((SELECT a.*
          FROM ((SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name,
                        e.start_time, e.current_step, e.total_steps,
                        NULL::text AS experiment_name, NULL::text AS variation_id, e.created_at
                 FROM jobtrack.executions AS e
                 WHERE e.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                                    'ready_for_training', 'training', 'generating_preview')
                   AND after IS NULL
                 ORDER BY e.created_at DESC, e.job_id DESC
                 LIMIT jobtrack._listing_limit(lim, true))
                UNION ALL
                (SELECT v.job_id, 'variation'::text, v.status, v.dataset_name,
                        v.start_time, v.current_step, v.total_steps,
                        v.experiment_name, v.variation_id, v.created_at
                 FROM jobtrack.variations AS v
                 WHERE v.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                                    'ready_for_training', 'training', 'generating_preview')
                   AND after IS NULL
                 ORDER BY v.created_at DESC, v.job_id DESC
                 LIMIT jobtrack._listing_limit(lim, true))) AS a
          ORDER BY a.created_at DESC, a.job_id DESC
          LIMIT jobtrack._listing_limit(lim, true))
          UNION ALL
          (SELECT a.*
          FROM ((SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name,
                        e.start_time, e.current_step, e.total_steps,
                        NULL::text AS experiment_name, NULL::text AS variation_id, e.created_at
                 FROM jobtrack.executions AS e
                 WHERE e.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                                    'ready_for_training', 'training', 'generating_preview')
                   AND after IS NOT NULL
                   AND (e.created_at, e.job_id)
                       < (jobtrack._listing_cursor(after), after COLLATE "C")
                 ORDER BY e.created_at DESC, e.job_id DESC
                 LIMIT jobtrack._listing_limit(lim, true))
                UNION ALL
                (SELECT v.job_id, 'variation'::text, v.status, v.dataset_name,
                        v.start_time, v.current_step, v.total_steps,
                        v.experiment_name, v.variation_id, v.created_at
                 FROM jobtrack.variations AS v
                 WHERE v.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                                    'ready_for_training', 'training', 'generating_preview')
                   AND after IS NOT NULL
                   AND (v.created_at, v.job_id)
                       < (jobtrack._listing_cursor(after), after COLLATE "C")
                 ORDER BY v.created_at DESC, v.job_id DESC
                 LIMIT jobtrack._listing_limit(lim, true))) AS a
          ORDER BY a.created_at DESC, a.job_id DESC
          LIMIT jobtrack._listing_page_limit(lim, true, after))) AS p;
END;
