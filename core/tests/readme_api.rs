//! The README's API table lists exactly the functions of
//! `jobtrack_core::Operation`, each with its SQL signature and return type,
//! in the order of `Operation::ALL`.

use jobtrack_core::{Operation, Returns};

const README: &str = include_str!("../../README.md");

/// The rows of the table under "## The API": (functions cell, returns cell).
fn api_rows() -> Vec<(String, String)> {
    let section = README
        .split("\n## The API\n")
        .nth(1)
        .expect("README has a section \"## The API\"");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| function |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            (
                cells[0].trim_start_matches("| ").to_owned(),
                cells[1].to_owned(),
            )
        })
        .collect()
}

/// The functions a cell names: every `` `name(…)` `` in it.
fn functions(cell: &str) -> Vec<&str> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| code.ends_with(')'))
        .collect()
}

fn sql_type(returns: Returns) -> &'static str {
    match returns {
        Returns::Scalar(t) => t,
        Returns::Table => "TABLE",
        Returns::Nothing => "void",
        Returns::Procedure(_) => "procedure",
    }
}

#[test]
fn the_readme_lists_every_operation_with_its_signature() {
    let rows = api_rows();
    assert!(
        rows.len() > 10,
        "the API table has only {} rows",
        rows.len()
    );
    let mut listed = Vec::new();
    for (cell, returns) in &rows {
        for signature in functions(cell) {
            let name = signature.split('(').next().unwrap();
            let op = Operation::from_name(name)
                .unwrap_or_else(|| panic!("the README lists {name}, which is not an Operation"));
            assert_eq!(
                signature,
                op.to_string(),
                "the README's signature of {name}"
            );
            let returns_type = returns.split('`').nth(1).unwrap_or_default();
            assert_eq!(
                returns_type,
                sql_type(op.returns()),
                "the README's return type of {name}"
            );
            listed.push(op);
        }
    }
    assert_eq!(
        listed,
        Operation::ALL,
        "the README's API table must list every Operation once, in Operation::ALL's order"
    );
}
