//! rusqlite errors as `jobtrack_core::Error`, with the SQLSTATE PostgreSQL
//! would report for the same failure.

use jobtrack_core::Error;
use rusqlite::{ffi, ErrorCode};

/// The SQLSTATE for a SQLite failure.
fn sqlstate_of(e: &rusqlite::Error) -> &'static str {
    let rusqlite::Error::SqliteFailure(failure, _) = e else {
        return "XX000";
    };
    match failure.extended_code {
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => "23505",
        ffi::SQLITE_CONSTRAINT_CHECK => "23514",
        ffi::SQLITE_CONSTRAINT_NOTNULL => "23502",
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "23503",
        _ => match failure.code {
            // lock_not_available: another connection held the lock longer
            // than busy_timeout.
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => "55P03",
            ErrorCode::ConstraintViolation => "23000",
            ErrorCode::ReadOnly => "25006",
            ErrorCode::DiskFull => "53100",
            ErrorCode::OutOfMemory => "53200",
            ErrorCode::CannotOpen => "58030",
            _ => "XX000",
        },
    }
}

/// The SQLSTATE and message of a trigger's `RAISE(ABORT, 'NNNNN: …')`: the
/// schema's triggers start each message with the code jobtrack reports.
fn raised(e: &rusqlite::Error) -> Option<(&str, &str)> {
    let rusqlite::Error::SqliteFailure(failure, Some(message)) = e else {
        return None;
    };
    if failure.extended_code != ffi::SQLITE_CONSTRAINT_TRIGGER {
        return None;
    }
    let (code, rest) = message.split_once(": ")?;
    let is_code = code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    is_code.then_some((code, rest))
}

/// Maps a rusqlite error to [`Error::Database`].
pub(crate) fn db_error(e: rusqlite::Error) -> Error {
    match raised(&e) {
        Some((code, message)) => Error::database(code, message),
        None => Error::database(sqlstate_of(&e), e.to_string()),
    }
}

/// Maps an error of inserting `job_id`: a uniqueness failure becomes
/// [`Error::UniqueViolation`] naming the id (the summary table's primary key
/// fails when the id exists in the other kind).
pub(crate) fn insert_error(e: rusqlite::Error, job_id: &str) -> Error {
    let err = db_error(e);
    if err.sqlstate() == "23505" {
        Error::duplicate(job_id)
    } else {
        err
    }
}

/// Shorthand for `map_err(db_error)`.
pub(crate) trait DbResultExt<T> {
    /// Maps the error with [`db_error`].
    fn db(self) -> jobtrack_core::Result<T>;
}

impl<T> DbResultExt<T> for rusqlite::Result<T> {
    fn db(self) -> jobtrack_core::Result<T> {
        self.map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, TransactionBehavior};

    fn schema() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn constraint_failures_get_their_sqlstates() {
        let conn = schema();
        let insert =
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status) \
                      VALUES (?1, 'single', 'd', 'p', ?2)";
        conn.execute(insert, ["a", "pending"]).unwrap();

        let dup = conn.execute(insert, ["a", "pending"]).unwrap_err();
        assert_eq!(db_error(dup).sqlstate(), "23505");

        let bad_status = conn.execute(insert, ["b", "running"]).unwrap_err();
        let err = db_error(bad_status);
        assert_eq!(err.sqlstate(), "23514", "{err}");

        // The id exists as an execution: the trigger refuses it.
        let cross = conn
            .execute(
                "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, \
                 preset, total_combinations) VALUES ('a', 'v', 'x', 'd', 'p', 1)",
                [],
            )
            .unwrap_err();
        assert_eq!(insert_error(cross, "a"), Error::duplicate("a"));

        let not_null = conn
            .execute("INSERT INTO executions (job_id, pipeline_mode, preset) VALUES ('c', 'single', 'p')", [])
            .unwrap_err();
        assert_eq!(db_error(not_null).sqlstate(), "23502");

        // A trigger's RAISE carries its SQLSTATE in front of its message.
        let long = conn
            .execute(
                "UPDATE executions SET duration_seconds = 1e13 WHERE job_id = 'a'",
                [],
            )
            .unwrap_err();
        let err = db_error(long);
        assert_eq!(err.sqlstate(), "22003");
        assert!(
            err.to_string().starts_with("duration_seconds must lie"),
            "{err}"
        );

        let syntax = conn.execute("SELEC 1", []).unwrap_err();
        assert_eq!(db_error(syntax).sqlstate(), "XX000");
    }

    #[test]
    fn busy_is_lock_not_available() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let mut a = Connection::open(&path).unwrap();
        a.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let b = Connection::open(&path).unwrap();
        b.busy_timeout(std::time::Duration::ZERO).unwrap();
        let _held = a
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let err = b.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(db_error(err).sqlstate(), "55P03");
    }
}
