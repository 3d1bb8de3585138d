-- Counter contention: each pgbench client changes the status of one of its
-- own executions per transaction (hot-<client>-<n>, -D per_client=N), all of
-- them in the one dataset "hot-writers", so that every client adds to and
-- takes from the same (dataset, status) counter keys.
\set n random(0, :per_client - 1)
\set s random(1, 3)
SELECT jobtrack.update_execution_status('hot-' || :client_id || '-' || :n,
                                        (ARRAY['training', 'done', 'failed'])[:s]);
