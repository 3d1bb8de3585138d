-- get_pool_status(): client sessions of the current database.
SELECT current_setting('max_connections')::bigint AS max_connections,
       count(*) AS total,
       count(*) FILTER (WHERE a.state = 'active') AS active,
       count(*) FILTER (WHERE a.state = 'idle') AS idle,
       count(*) FILTER (WHERE a.state LIKE 'idle in transaction%') AS idle_in_transaction,
       count(*) FILTER (WHERE a.wait_event_type = 'Lock') AS waiting
FROM pg_catalog.pg_stat_activity AS a
WHERE a.datname = current_database()
  AND a.backend_type = 'client backend'
