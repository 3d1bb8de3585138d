-- DROP EXTENSION removes everything CREATE EXTENSION created, and CREATE
-- EXTENSION works again afterwards.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;
SELECT jobtrack.batch_create_executions('[{"job_id": "a", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');

DROP EXTENSION jobtrack;
SELECT count(*) AS relations FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'jobtrack';
SELECT count(*) AS functions FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = 'jobtrack';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'summary_after_%';
SELECT count(*) AS extension_rows FROM pg_extension WHERE extname = 'jobtrack';
-- The schema too: the install script created it, so it was a member.
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'jobtrack';
SELECT count(*) AS members FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND NOT EXISTS (SELECT FROM pg_extension AS x WHERE x.oid = refobjid);

CREATE EXTENSION jobtrack;
SELECT jobtrack.batch_create_executions('[{"job_id": "a", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
SELECT job_id, job_type FROM jobtrack.job_summary_cache ORDER BY job_id;
DROP EXTENSION jobtrack;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'jobtrack';
