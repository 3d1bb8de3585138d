//! Helpers shared by the cross-backend tests.
#![warn(missing_docs)]

/// The connection string of the PostgreSQL server the PostgreSQL tests run
/// against, from `JOBTRACK_PG_URL` (set by `make test`). `None` when unset:
/// those tests then say so and do nothing, which `make test` never allows.
pub fn pg_url() -> Option<String> {
    std::env::var("JOBTRACK_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
}
