-- What CREATE EXTENSION jobtrack installs: tables, constraints, indexes,
-- triggers, and every function with its signature, volatility, parallel
-- safety, strictness, security and pinned search_path.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;
SELECT extversion, extnamespace::regnamespace FROM pg_extension WHERE extname = 'jobtrack';

SELECT table_name, column_name, data_type, is_nullable, column_default
FROM information_schema.columns
WHERE table_schema = 'jobtrack'
ORDER BY table_name, ordinal_position;

SELECT conrelid::regclass AS "table", conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE connamespace = 'jobtrack'::regnamespace
ORDER BY 1, 2;

SELECT indexname, indexdef
FROM pg_indexes
WHERE schemaname = 'jobtrack'
ORDER BY indexname;

-- tgenabled: O fires in normal sessions, R only under
-- session_replication_role = replica (logical replication apply), A always.
SELECT tgrelid::regclass AS "table", tgname, tgenabled, pg_get_triggerdef(oid)
FROM pg_trigger
WHERE tgrelid IN ('jobtrack.executions'::regclass, 'jobtrack.variations'::regclass)
ORDER BY 1, 2;

-- provolatile: v volatile, s stable; proparallel: u unsafe, r restricted,
-- s safe. Every function pins search_path (the listings get_all_jobs_optimized
-- and get_running_jobs around their queries) but export_jobs, which the
-- planner inlines only without a SET clause: its body is schema-qualified
-- (sql/pg/export.sql). SECURITY DEFINER only for the trigger functions and
-- refresh_job_cache(), the only writers of the derived tables; PUBLIC may
-- execute neither those nor the internal helper (leading underscore) nor
-- the server-wide administration.
SELECT p.proname,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result,
       p.provolatile, p.proparallel, p.proisstrict, p.prosecdef, p.proconfig,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented,
       EXISTS (SELECT FROM aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) AS a
               WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute
FROM pg_proc AS p
WHERE p.pronamespace = 'jobtrack'::regnamespace
ORDER BY p.proname;

-- Every object belongs to the extension.
SELECT classid::regclass, count(*)
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jobtrack')
  AND deptype = 'e'
GROUP BY 1
ORDER BY 1;

-- pg_dump dumps the rows of these member tables (the derived tables are
-- rebuilt by the triggers when they are restored).
SELECT unnest(extconfig)::regclass AS dumped_table, unnest(extcondition) AS filter
FROM pg_extension WHERE extname = 'jobtrack' ORDER BY 1;

-- The Job view: security_invoker (a read through it is checked as the
-- caller on the tables, row-level security included), SELECT for PUBLIC
-- (which therefore adds no access: tests/tests/pg_privileges.rs), and
-- exactly the columns, names and types of the listing functions' rows.
SELECT c.oid::regclass AS view, c.reloptions,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       obj_description(c.oid, 'pg_class') IS NOT NULL AS commented
FROM pg_class AS c
WHERE c.relnamespace = 'jobtrack'::regnamespace AND c.relkind = 'v'
ORDER BY 1;
SELECT p.proname,
       (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
        FROM pg_attribute AS a
        WHERE a.attrelid = 'jobtrack.jobs'::regclass AND a.attnum > 0 AND NOT a.attisdropped)
       = (SELECT array_agg(o.name || ' ' || format_type(o.type, NULL) ORDER BY o.n)
          FROM unnest(p.proargnames, p.proallargtypes, p.proargmodes)
               WITH ORDINALITY AS o(name, type, mode, n)
          WHERE o.mode = 't') AS view_has_its_columns
FROM pg_proc AS p
WHERE p.oid IN ('jobtrack.get_all_jobs_optimized(integer, text)'::regprocedure,
                'jobtrack.get_recent_jobs_optimized(integer)'::regprocedure,
                'jobtrack.get_recent_jobs_cached(integer)'::regprocedure)
ORDER BY 1;
