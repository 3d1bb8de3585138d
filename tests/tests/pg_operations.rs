//! The extension's catalog has exactly the functions of
//! `jobtrack_core::Operation`, each with the arguments, defaults and result
//! the Operation declares: one source for the API's names and signatures,
//! checked against what `CREATE EXTENSION jobtrack` really installs.

use std::collections::BTreeMap;

use jobtrack_core::{Operation, Returns};

#[test]
fn the_catalog_has_exactly_the_operations() {
    let url = jobtrack_tests::fresh_database("jobtrack_operations");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // The API: functions and procedures of the schema that are neither
    // trigger functions nor the `_`-prefixed internal helpers. A
    // procedure's result is spelt 'procedure'.
    let catalog: BTreeMap<String, (String, String, bool)> = client
        .query(
            "SELECT p.proname::text, pg_get_function_arguments(p.oid),
                    CASE p.prokind WHEN 'p' THEN 'procedure'
                                   ELSE pg_get_function_result(p.oid) END,
                    p.proretset
             FROM pg_proc AS p
             JOIN pg_namespace AS n ON n.oid = p.pronamespace
             WHERE n.nspname = 'jobtrack' AND p.prokind IN ('f', 'p')
               AND p.prorettype <> 'trigger'::regtype
               AND left(p.proname, 1) <> '_'",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect();

    let mut problems = Vec::new();
    for op in Operation::ALL {
        let Some((arguments, result, returns_set)) = catalog.get(op.name()) else {
            problems.push(format!("{op}: not in the catalog"));
            continue;
        };
        // The catalog spells a NULL default with its type.
        // The catalog spells a NULL default with its type's cast.
        // A procedure's input arguments are spelt with their mode, IN.
        let arguments = arguments
            .replace("DEFAULT NULL::text", "DEFAULT NULL")
            .replace("DEFAULT NULL::integer", "DEFAULT NULL")
            .replace("DEFAULT NULL::jsonb", "DEFAULT NULL")
            .replace("DEFAULT NULL::timestamp with time zone", "DEFAULT NULL")
            .split(", ")
            .map(|a| a.strip_prefix("IN ").unwrap_or(a))
            .collect::<Vec<_>>()
            .join(", ");
        if arguments != op.sql_arguments() {
            problems.push(format!(
                "{}: arguments are ({arguments}) in the catalog, ({}) in Operation",
                op.name(),
                op.sql_arguments()
            ));
        }
        let matches = match op.returns() {
            Returns::Table => *returns_set && result.starts_with("TABLE("),
            Returns::Scalar(t) => !returns_set && result == t,
            Returns::Nothing => !returns_set && result == "void",
            Returns::Procedure(_) => result == "procedure",
        };
        if !matches {
            problems.push(format!(
                "{}: returns {result} (set: {returns_set}) in the catalog, {:?} in Operation",
                op.name(),
                op.returns()
            ));
        }
    }
    for name in catalog.keys() {
        if Operation::from_name(name).is_none() {
            problems.push(format!("{name}: in the catalog, not an Operation"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(catalog.len(), Operation::ALL.len());
    jobtrack_tests::drop_database("jobtrack_operations");
}
