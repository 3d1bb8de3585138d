//! The one place where a jobtrack error becomes a PostgreSQL error.
//!
//! Every function raises `jobtrack_core::Error` as an `ErrorReport` carrying
//! the error's SQLSTATE, message, detail and hint — the message is core's
//! `Display`, so it is word for word what the SQLite library returns. (A
//! plain `Err` out of a `#[pg_extern]` would come out as 22000 with a Rust
//! debug string.)

use jobtrack_core::Error;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::SpiError;

/// Raises `error` as a PostgreSQL ERROR; does not return.
pub fn raise(error: &Error) -> ! {
    let mut report = ErrorReport::new(sqlstate(error.sqlstate()), error.to_string(), "jobtrack");
    if let Some(detail) = error.detail() {
        report = report.set_detail(detail);
    }
    if let Some(hint) = error.hint() {
        report = report.set_hint(hint);
    }
    // pgrx copies the message, detail and hint with palloc in the current
    // memory context before raising. When that context needs a new block
    // and the backend is out of memory (a 53200 refusal is raised exactly
    // then), the copy fails, that ERROR fails the same way, and PostgreSQL
    // PANICs ("ERRORDATA_STACK_SIZE exceeded"). ErrorContext is the context
    // PostgreSQL keeps for reporting errors, with memory reserved in it.
    // Nothing runs here after the ERROR: error recovery switches to the
    // context it needs.
    // SAFETY: both are backend globals; ErrorContext exists from startup.
    unsafe { pg_sys::CurrentMemoryContext = pg_sys::ErrorContext };
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Unwraps a jobtrack result or raises its error.
pub trait OrRaise<T> {
    /// The value, or the error raised as a PostgreSQL ERROR.
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise(&e))
    }
}

/// An SPI failure that SPI reported as a status rather than an ERROR (those
/// propagate by themselves).
pub fn spi(error: SpiError) -> Error {
    Error::database("XX000", format!("jobtrack: SPI failed: {error}"))
}

/// The packed error code of a five-character SQLSTATE (PostgreSQL's
/// `MAKE_SQLSTATE`).
fn sqlstate(code: &str) -> PgSqlErrorCode {
    let packed = code.bytes().take(5).enumerate().fold(0i32, |acc, (i, c)| {
        acc + ((i32::from(c.wrapping_sub(b'0')) & 0x3F) << (6 * i))
    });
    PgSqlErrorCode::from(packed)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::sqlstate;
    use pgrx::prelude::*;

    #[pg_test]
    fn sqlstates_pack_like_postgres() {
        assert_eq!(
            sqlstate("22023"),
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        );
        assert_eq!(sqlstate("23505"), PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION);
        assert_eq!(sqlstate("XX000"), PgSqlErrorCode::ERRCODE_INTERNAL_ERROR);
    }
}
