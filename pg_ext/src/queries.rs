//! The runtime SQL: one constant per file of `sql/pg/queries/`, named after
//! it (written by `build.rs`), so that the pg_regress test `explain` plans
//! exactly the text the functions run.

include!(concat!(env!("OUT_DIR"), "/queries.rs"));
