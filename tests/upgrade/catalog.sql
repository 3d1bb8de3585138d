-- A description of every object of extension jobtrack in the current
-- database, as sorted text lines `object | property | value`, without oids,
-- so that two databases can be diffed: one updated from a release with
-- ALTER EXTENSION UPDATE, one with a fresh CREATE EXTENSION. Any difference
-- is something the upgrade script does not do (or does differently).
--
-- The objects: every member of the extension (pg_depend deptype 'e'), and
-- the parts of its relations that are not members themselves: columns,
-- constraints, indexes, triggers, policies, rules. Per object its identity
-- (pg_describe_object), whether it is a member, its comment, its initial
-- privileges (pg_init_privs, what pg_dump compares grants with), and its
-- definition:
--   functions  pg_get_functiondef (language, body, volatility, strictness,
--              parallel safety, cost, SECURITY DEFINER, SET options), owner,
--              proacl, prosecdef, proconfig
--   relations  kind, persistence, owner, relacl, reloptions, row security,
--              replica identity, pg_get_viewdef for views, the sequence
--              parameters for sequences
--   columns    position among the live columns (not attnum: a column dropped
--              by an upgrade leaves a hole), type and typmod, NOT NULL,
--              default, collation, identity, generated, attacl, attoptions
--              (but for the internal version stamp pg_attver)
--   constraints pg_get_constraintdef; indexes pg_get_indexdef, clustered,
--              replica identity; triggers pg_get_triggerdef, tgenabled;
--              policies command, permissive, roles, USING, WITH CHECK
--   schemas    owner, nspacl; types kind and, for enums, the labels
-- and for the extension itself its version, schema, relocatable, owner,
-- comment, required extensions, and extconfig/extcondition as table names.
-- ACL and option arrays are sorted: their order carries no meaning.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' | '
\pset null '<null>'

WITH ext AS (
    SELECT oid FROM pg_extension WHERE extname = 'jobtrack'
), members AS (
    SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend AS d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
      AND d.deptype = 'e'
), rels AS (
    SELECT m.objid AS relid
    FROM members AS m
    WHERE m.classid = 'pg_class'::regclass
), parts AS (
    SELECT 'pg_class'::regclass::oid AS classid, a.attrelid AS objid, a.attnum::int AS objsubid
    FROM pg_attribute AS a JOIN rels ON a.attrelid = rels.relid
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'pg_constraint'::regclass, c.oid, 0
    FROM pg_constraint AS c JOIN rels ON c.conrelid = rels.relid
    UNION ALL
    SELECT 'pg_class'::regclass, i.indexrelid, 0
    FROM pg_index AS i JOIN rels ON i.indrelid = rels.relid
    UNION ALL
    -- Internal triggers (foreign keys) are named by oid; their constraint
    -- stands for them.
    SELECT 'pg_trigger'::regclass, t.oid, 0
    FROM pg_trigger AS t JOIN rels ON t.tgrelid = rels.relid
    WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'pg_policy'::regclass, p.oid, 0
    FROM pg_policy AS p JOIN rels ON p.polrelid = rels.relid
    UNION ALL
    -- A view's _RETURN rule is its definition, described with the view.
    SELECT 'pg_rewrite'::regclass, r.oid, 0
    FROM pg_rewrite AS r JOIN rels ON r.ev_class = rels.relid
    WHERE r.rulename <> '_RETURN'
    UNION ALL
    -- Constraints of domains the extension owns.
    SELECT 'pg_constraint'::regclass, c.oid, 0
    FROM pg_constraint AS c JOIN members AS m
         ON m.classid = 'pg_type'::regclass AND c.contypid = m.objid
), objects AS (
    SELECT classid, objid, objsubid, true AS member FROM members
    UNION
    SELECT classid, objid, objsubid, false FROM parts
    WHERE (classid, objid, objsubid) NOT IN (SELECT classid, objid, objsubid FROM members)
), described AS (
    SELECT o.*, pg_describe_object(o.classid, o.objid, o.objsubid) AS obj
    FROM objects AS o
), facts (obj, prop, val) AS (
    -- every object
    SELECT obj, 'member', member::text FROM described
    UNION ALL
    SELECT d.obj, 'comment', ds.description
    FROM described AS d
    JOIN pg_description AS ds
      ON ds.classoid = d.classid AND ds.objoid = d.objid AND ds.objsubid = d.objsubid
    UNION ALL
    SELECT d.obj, 'initprivs ' || ip.privtype::text,
           (SELECT string_agg(a::text, ' ' ORDER BY a::text COLLATE "C")
            FROM unnest(ip.initprivs) AS a)
    FROM described AS d
    JOIN pg_init_privs AS ip
      ON ip.classoid = d.classid AND ip.objoid = d.objid AND ip.objsubid = d.objsubid

    -- functions, procedures, aggregates
    UNION ALL
    SELECT d.obj, 'definition',
           CASE WHEN p.prokind = 'a' THEN 'aggregate ' || pg_get_function_identity_arguments(p.oid)
                ELSE pg_get_functiondef(p.oid) END
    FROM described AS d JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    UNION ALL
    SELECT d.obj, 'owner', pg_get_userbyid(p.proowner)
    FROM described AS d JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    UNION ALL
    SELECT d.obj, 'proacl',
           COALESCE((SELECT string_agg(a::text, ' ' ORDER BY a::text COLLATE "C")
                     FROM unnest(p.proacl) AS a), '<default>')
    FROM described AS d JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    UNION ALL
    SELECT d.obj, 'prosecdef', p.prosecdef::text
    FROM described AS d JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    UNION ALL
    SELECT d.obj, 'proconfig', COALESCE(array_to_string(p.proconfig, ' '), '<none>')
    FROM described AS d JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid

    -- relations (objsubid 0): tables, views, indexes, sequences, types' rows
    UNION ALL
    SELECT d.obj, 'relkind', c.relkind::text || ' ' || c.relpersistence::text
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    UNION ALL
    SELECT d.obj, 'owner', pg_get_userbyid(c.relowner)
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    WHERE c.relkind NOT IN ('i', 'I')
    UNION ALL
    SELECT d.obj, 'relacl',
           COALESCE((SELECT string_agg(a::text, ' ' ORDER BY a::text COLLATE "C")
                     FROM unnest(c.relacl) AS a), '<default>')
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    WHERE c.relkind NOT IN ('i', 'I')
    UNION ALL
    SELECT d.obj, 'reloptions',
           COALESCE((SELECT string_agg(o, ' ' ORDER BY o COLLATE "C")
                     FROM unnest(c.reloptions) AS o), '<none>')
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    UNION ALL
    SELECT d.obj, 'row security',
           'enabled ' || c.relrowsecurity || ', forced ' || c.relforcerowsecurity
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    WHERE c.relkind IN ('r', 'p')
    UNION ALL
    SELECT d.obj, 'replica identity', c.relreplident::text
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    WHERE c.relkind IN ('r', 'p', 'm')
    UNION ALL
    SELECT d.obj, 'view definition', pg_get_viewdef(c.oid, true)
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT d.obj, 'index definition', pg_get_indexdef(c.oid)
    FROM described AS d
    JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND d.objsubid = 0
    WHERE c.relkind IN ('i', 'I')
    UNION ALL
    SELECT d.obj, 'index flags',
           'clustered ' || i.indisclustered || ', replica identity ' || i.indisreplident
           || ', valid ' || i.indisvalid
    FROM described AS d
    JOIN pg_index AS i ON d.classid = 'pg_class'::regclass AND i.indexrelid = d.objid
                          AND d.objsubid = 0
    UNION ALL
    SELECT d.obj, 'sequence',
           format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment '
           || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache '
           || s.seqcache || ' cycle ' || s.seqcycle
    FROM described AS d
    JOIN pg_sequence AS s ON d.classid = 'pg_class'::regclass AND s.seqrelid = d.objid
                             AND d.objsubid = 0

    -- columns
    UNION ALL
    SELECT d.obj, 'column',
           'position ' || (SELECT count(*) FROM pg_attribute AS b
                           WHERE b.attrelid = a.attrelid AND b.attnum > 0
                             AND NOT b.attisdropped AND b.attnum <= a.attnum)
           || ', type ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ', not null' ELSE '' END
           || COALESCE(', default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
           || COALESCE(', collation ' || quote_ident(co.collname), '')
           || CASE WHEN a.attidentity <> ''::"char" THEN ', identity ' || a.attidentity::text ELSE '' END
           || CASE WHEN a.attgenerated <> ''::"char" THEN ', generated ' || a.attgenerated::text ELSE '' END
           || COALESCE(', attacl ' || (SELECT string_agg(x::text, ' ' ORDER BY x::text COLLATE "C")
                                       FROM unnest(a.attacl) AS x), '')
           -- pg_attver (15.20 and later) is an internal version stamp, not an option.
           || COALESCE(', options ' || (SELECT string_agg(x, ' ' ORDER BY x COLLATE "C")
                                        FROM unnest(a.attoptions) AS x
                                        WHERE x NOT LIKE 'pg\_attver=%'), '')
    FROM described AS d
    JOIN pg_attribute AS a ON d.classid = 'pg_class'::regclass AND a.attrelid = d.objid
                              AND a.attnum = d.objsubid AND d.objsubid > 0
    LEFT JOIN pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    -- The collation where it differs from the type's default: both say
    -- "C" for job_id, neither says anything for an integer.
    LEFT JOIN pg_type AS ty ON ty.oid = a.atttypid
    LEFT JOIN pg_collation AS co ON co.oid = a.attcollation AND a.attcollation <> ty.typcollation

    -- constraints, triggers, policies, rules
    UNION ALL
    SELECT d.obj, 'constraint definition', pg_get_constraintdef(c.oid)
    FROM described AS d JOIN pg_constraint AS c ON d.classid = 'pg_constraint'::regclass
                                                   AND c.oid = d.objid
    UNION ALL
    SELECT d.obj, 'trigger definition', pg_get_triggerdef(t.oid)
    FROM described AS d JOIN pg_trigger AS t ON d.classid = 'pg_trigger'::regclass
                                                AND t.oid = d.objid
    UNION ALL
    SELECT d.obj, 'tgenabled', t.tgenabled::text
    FROM described AS d JOIN pg_trigger AS t ON d.classid = 'pg_trigger'::regclass
                                                AND t.oid = d.objid
    UNION ALL
    SELECT d.obj, 'policy',
           'command ' || p.polcmd::text || ', permissive ' || p.polpermissive
           || ', roles ' || (SELECT string_agg(rn, ' ' ORDER BY rn COLLATE "C")
                             FROM unnest(p.polroles) AS r,
                                  LATERAL (SELECT CASE WHEN r = 0 THEN 'public'
                                                       ELSE pg_get_userbyid(r)::text END) AS x(rn))
           || ', using ' || COALESCE(pg_get_expr(p.polqual, p.polrelid), '<none>')
           || ', with check ' || COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '<none>')
    FROM described AS d JOIN pg_policy AS p ON d.classid = 'pg_policy'::regclass
                                               AND p.oid = d.objid
    UNION ALL
    SELECT d.obj, 'rule definition', pg_get_ruledef(r.oid)
    FROM described AS d JOIN pg_rewrite AS r ON d.classid = 'pg_rewrite'::regclass
                                                AND r.oid = d.objid

    -- schemas, types, event triggers
    UNION ALL
    SELECT d.obj, 'owner', pg_get_userbyid(n.nspowner)
    FROM described AS d JOIN pg_namespace AS n ON d.classid = 'pg_namespace'::regclass
                                                  AND n.oid = d.objid
    UNION ALL
    SELECT d.obj, 'nspacl',
           COALESCE((SELECT string_agg(a::text, ' ' ORDER BY a::text COLLATE "C")
                     FROM unnest(n.nspacl) AS a), '<default>')
    FROM described AS d JOIN pg_namespace AS n ON d.classid = 'pg_namespace'::regclass
                                                  AND n.oid = d.objid
    UNION ALL
    SELECT d.obj, 'type',
           'kind ' || t.typtype::text || ', owner ' || pg_get_userbyid(t.typowner)
           || COALESCE(', base ' || format_type(NULLIF(t.typbasetype, 0), NULL), '')
           || CASE WHEN t.typnotnull THEN ', not null' ELSE '' END
           || COALESCE(', default ' || t.typdefault, '')
           || COALESCE(', labels ' || (SELECT string_agg(e.enumlabel, ' ' ORDER BY e.enumsortorder)
                                       FROM pg_enum AS e WHERE e.enumtypid = t.oid), '')
           || COALESCE(', attributes ' || (SELECT string_agg(a.attname || ' '
                                                             || format_type(a.atttypid, a.atttypmod),
                                                             ', ' ORDER BY a.attnum)
                                           FROM pg_attribute AS a
                                           WHERE a.attrelid = NULLIF(t.typrelid, 0)
                                             AND a.attnum > 0 AND NOT a.attisdropped), '')
           || COALESCE(', typacl ' || (SELECT string_agg(a::text, ' ' ORDER BY a::text COLLATE "C")
                                       FROM unnest(t.typacl) AS a), '')
    FROM described AS d JOIN pg_type AS t ON d.classid = 'pg_type'::regclass
                                             AND t.oid = d.objid
    UNION ALL
    SELECT d.obj, 'event trigger',
           e.evtevent || ' ' || e.evtfoid::regprocedure::text || ' enabled ' || e.evtenabled::text
           || COALESCE(' tags ' || array_to_string(e.evttags, ' '), '')
    FROM described AS d JOIN pg_event_trigger AS e ON d.classid = 'pg_event_trigger'::regclass
                                                      AND e.oid = d.objid

    -- the extension
    UNION ALL
    SELECT 'extension jobtrack', 'version', e.extversion FROM pg_extension AS e
    WHERE e.extname = 'jobtrack'
    UNION ALL
    SELECT 'extension jobtrack', 'properties',
           'schema ' || e.extnamespace::regnamespace::text
           || ', relocatable ' || e.extrelocatable || ', owner ' || pg_get_userbyid(e.extowner)
    FROM pg_extension AS e WHERE e.extname = 'jobtrack'
    UNION ALL
    -- CREATE EXTENSION takes the comment from the control file; an update
    -- keeps the old one unless its script says COMMENT ON EXTENSION.
    SELECT 'extension jobtrack', 'comment', obj_description(e.oid, 'pg_extension')
    FROM pg_extension AS e WHERE e.extname = 'jobtrack'
    UNION ALL
    SELECT 'extension jobtrack', 'requires', r.extname::text
    FROM pg_extension AS e
    JOIN pg_depend AS d ON d.classid = 'pg_extension'::regclass AND d.objid = e.oid
                           AND d.refclassid = 'pg_extension'::regclass
    JOIN pg_extension AS r ON r.oid = d.refobjid
    WHERE e.extname = 'jobtrack'
    UNION ALL
    SELECT 'extension jobtrack', 'extconfig ' || cfg.tab::regclass::text,
           'condition ' || quote_literal(cfg.cond)
    FROM pg_extension AS e,
         unnest(e.extconfig, e.extcondition) AS cfg(tab, cond)
    WHERE e.extname = 'jobtrack'
)
-- A value of several lines (a function's definition) becomes one numbered
-- line each, so that every line of a diff names its object.
SELECT f.obj,
       CASE WHEN f.val LIKE E'%\n%' THEN f.prop || ' line ' || lpad(l.n::text, 3, '0')
            ELSE f.prop END,
       l.line
FROM facts AS f
CROSS JOIN LATERAL regexp_split_to_table(COALESCE(f.val, '<null>'), E'\n')
     WITH ORDINALITY AS l(line, n)
ORDER BY f.obj COLLATE "C", f.prop COLLATE "C", f.val COLLATE "C", l.n;
