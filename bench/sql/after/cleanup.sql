-- AFTER, plain SQL (PostgreSQL): the same two DELETEs as one statement,
-- one transaction, returning the counts.
WITH e AS (
    DELETE FROM executions
    WHERE status IN ('done', 'cancelled')
      AND created_at < now() - make_interval(days => $1)
    RETURNING 1
), v AS (
    DELETE FROM variations
    WHERE status IN ('done', 'cancelled')
      AND created_at < now() - make_interval(days => $1)
    RETURNING 1
)
SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM v);
