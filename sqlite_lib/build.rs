//! The runtime queries: see `core/build/query_constants.rs`.

include!("../core/build/query_constants.rs");

fn main() {
    write_query_constants("../sql/sqlite/queries", "pub(crate)");
}
