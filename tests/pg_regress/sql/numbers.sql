-- Numbers in varied_parameters / parameter_values are stored exactly as
-- given: as plain SQL stores the same jsonb (numeric, every digit and the
-- scale kept), never through a float.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

CREATE TEMPORARY TABLE literals (i integer PRIMARY KEY, lit text NOT NULL);
INSERT INTO literals VALUES
    (1, '1e2'), (2, '1.50'), (3, '-0.0'), (4, '-0'), (5, '1e-400'),
    (6, '123456789012345678901234567890'), (7, '0.1'), (8, '1E+3'), (9, '2.5e-3'),
    (10, '0e-5'), (11, '100e-2'), (12, '-1.5E-1'), (13, '12.34e1'), (14, '1e1000'),
    (15, '-123456789012345678901234567890.000000000000000000001'),
    (16, '9007199254740993'), (17, '0.30000000000000004'), (18, '1e-16383'),
    (19, '18446744073709551616'), (20, '-9223372036854775809');

-- Long texts shortened for the expected output.
CREATE FUNCTION pg_temp.shown(t text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN length(t) <= 60 THEN t
                ELSE left(t, 24) || '…' || right(t, 8) || ' (' || length(t) || ' characters)' END
$$;

-- One create_variation per literal, the number at depth 1 and deeper.
SELECT count(jobtrack.create_variation(format(
    '{"job_id": "n%s", "variation_id": "x", "experiment_name": "s", "dataset_name": "d",
      "preset": "p", "total_combinations": 1, "parameter_values": {"x": %s},
      "varied_parameters": {"x": [%s, {"y": %s}]}}', i, lit, lit, lit)::jsonb)) AS created
FROM literals;
-- The same through plain SQL.
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                 total_combinations, parameter_values, varied_parameters)
SELECT 'p' || i, 'x', 's', 'd', 'p', 1, format('{"x": %s}', lit)::jsonb,
       format('{"x": [%s, {"y": %s}]}', lit, lit)::jsonb
FROM literals;

-- Stored text: numeric's canonical form of the literal (exponent applied,
-- scale kept, no negative zero); equal to the literal as jsonb and to what
-- plain SQL stored, in both columns.
SELECT l.lit, pg_temp.shown(f.parameter_values->>'x') AS stored,
       f.parameter_values->>'x' = l.lit::numeric::text AS numeric_text,
       f.parameter_values = format('{"x": %s}', l.lit)::jsonb AS equal_to_literal,
       f.parameter_values::text = p.parameter_values::text
           AND f.varied_parameters::text = p.varied_parameters::text AS same_as_plain_sql
FROM literals AS l
JOIN jobtrack.variations AS f ON f.job_id = 'n' || l.i
JOIN jobtrack.variations AS p ON p.job_id = 'p' || l.i
ORDER BY l.i;

-- 320 ordinary decimals (20 fraction digits, trailing zeros included) in
-- one batch: every one back exactly.
SELECT cardinality(jobtrack.batch_create_variations((
    SELECT jsonb_agg(jsonb_build_object(
        'job_id', 'd' || g, 'variation_id', 'x', 'experiment_name', 's', 'dataset_name', 'd',
        'preset', 'p', 'total_combinations', 1,
        'parameter_values', jsonb_build_object('v', g * 12.345678901234567890, 'w', g / 8.0),
        'varied_parameters', jsonb_build_object('v', jsonb_build_array(g * 0.1, -g * 1e-30)))
        ORDER BY g)
    FROM generate_series(1, 320) AS g))) AS created;
SELECT count(*) FILTER (
           WHERE v.parameter_values->>'v' = (g * 12.345678901234567890)::text
             AND v.parameter_values->>'w' = (g / 8.0)::text
             AND v.varied_parameters = jsonb_build_object('v', jsonb_build_array(g * 0.1, -g * 1e-30))
       ) AS exact,
       count(*) AS total
FROM generate_series(1, 320) AS g
JOIN jobtrack.variations AS v ON v.job_id = 'd' || g;
SELECT parameter_values, varied_parameters FROM jobtrack.variations WHERE job_id = 'd8';

-- What numeric cannot hold, jsonb refuses before any function runs.
SELECT '{"x": 1e-16384}'::jsonb;
