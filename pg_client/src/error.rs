//! Errors of the client: a server's error becomes the `jobtrack_core::Error`
//! variant the extension raised it from (`Error::from_server`), so that a
//! caller matches the same variants and SQLSTATEs on both backends.

use jobtrack_core::Error;

/// `e`, from the server or from the connection, as a jobtrack error.
pub(crate) fn client_error(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        return Error::from_server(db.code().code(), db.message(), db.detail());
    }
    // No SQLSTATE from the server: the connection failed or was lost
    // (08006, connection_failure), or a value did not convert.
    if e.is_closed() {
        return Error::database(
            "08006",
            format!("the connection to the server was lost: {e}"),
        );
    }
    Error::database("08006", format!("connection to the server failed: {e}"))
}

/// Whether `e` means the connection is unusable.
pub(crate) fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error()
            .is_some_and(|db| matches!(db.code().code(), "57P01" | "57P02" | "57P03"))
        || e.as_db_error().is_none()
}
