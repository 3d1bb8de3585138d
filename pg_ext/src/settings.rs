//! Settings in force around a piece of work, as a function's SET clause
//! would put them, without the clause's cost on the calls that do not need
//! them.

use std::ffi::CStr;

use jobtrack_core::Error;
use pgrx::prelude::*;

/// `search_path` as every function of the extension resolves names.
pub const PINNED_SEARCH_PATH: (&CStr, &CStr) = (c"search_path", c"jobtrack, pg_catalog, pg_temp");

/// Runs `compute` with each `(name, value)` of `settings` in force, the
/// previous values restored afterwards. The settings must be ones any role
/// may change (PGC_USERSET).
///
/// An ERROR inside is cleaned up by the (sub)transaction's abort, which
/// unwinds every GUC nest level above it, as for a function's SET clause.
pub fn with_settings<T>(
    settings: &[(&CStr, &CStr)],
    compute: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    // SAFETY: GUC calls of the backend, nested and unwound in this function
    // (or by the abort of the transaction, see above).
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        for (name, value) in settings {
            pg_sys::set_config_option(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        level
    };
    let result = compute();
    // SAFETY: pops the nest level opened above.
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    result
}
