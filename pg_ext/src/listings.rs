//! The listings `get_all_jobs_optimized(lim, after)`,
//! `get_running_jobs(lim, after)` and `get_recent_jobs_optimized(lim)`
//! (declared in `sql/pg/listings.sql`): each runs one query of `sql/pg/queries/` with its kept generic plan, and the
//! executor writes the rows straight into the function's result
//! ([`statement_read::into_result_set`]). A call costs its query's execution
//! (the cursor is looked up inside it) and the copy of each row into the
//! tuplestore the function scan reads: no planning and no row through Rust.
//!
//! Keyset pagination: `after` is the job_id of the last row of the previous
//! page, and a page is the rows after that job's (created_at, job_id) in the
//! listing's order, which the created and active indexes hold, so any page
//! costs one index seek plus its rows. The first page is the page after
//! ('infinity', ''), which every job precedes (created_at is checked to lie
//! in the years 1 to 9999), so that one plan serves every page.
//!
//! The functions are plain C-language set-returning functions in
//! materialize mode rather than `#[pg_extern]`s, whose set-returning
//! protocol hands over one Rust row at a time. They run with the caller's
//! rights, read through the security_invoker view `jobtrack.jobs` or the
//! base tables, and set the search_path and the planner settings for their
//! queries themselves ([`LISTING_SETTINGS`]).

use std::ffi::CStr;

use jobtrack_core::{check_limit, unknown_cursor, Error, Page};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;

use crate::error::OrRaise;
use crate::queries;
use crate::rows::req;
use crate::settings::{with_settings, PINNED_SEARCH_PATH};
use crate::statement_read;

/// One listing: its query (`$1` lim, `$2` and `$3` the cursor's created_at
/// and job_id), and whether a NULL `lim` means every row (else 22023).
struct Listing {
    query: &'static str,
    null_lim_means_all: bool,
}

const ALL_JOBS: Listing = Listing {
    query: queries::ALL_JOBS,
    null_lim_means_all: false,
};

/// `get_running_jobs()` returned every active job before it had pages.
const RUNNING_JOBS: Listing = Listing {
    query: queries::RUNNING_JOBS,
    null_lim_means_all: true,
};

/// `jobtrack.get_all_jobs_optimized(lim integer DEFAULT 100, after text
/// DEFAULT NULL)`: up to `lim` jobs of both kinds after `after`, newest
/// created_at first.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn get_all_jobs_optimized_page(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: called by PostgreSQL as a V1 function with this fcinfo.
    unsafe { list(fcinfo, &ALL_JOBS) }
}

/// `jobtrack.get_running_jobs(lim integer DEFAULT NULL, after text DEFAULT
/// NULL)`: the active jobs after `after`, newest created_at first, with
/// their progress. The symbol is the one the catalogs of 0.1.0 to 0.3.0
/// declare for `get_running_jobs()` (no arguments, every active job), which
/// it serves too until ALTER EXTENSION UPDATE.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn get_running_jobs_wrapper(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: called by PostgreSQL as a V1 function with this fcinfo.
    unsafe { list(fcinfo, &RUNNING_JOBS) }
}

/// `jobtrack.get_recent_jobs_optimized(lim integer DEFAULT 10)` (STRICT):
/// up to `lim` jobs of both kinds, newest updated_at first. Also the symbol
/// of the catalogs of 0.1.0 to 0.3.0, the first two without the Job view
/// ([`crate::reads::on_catalog`]).
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn get_recent_jobs_optimized_wrapper(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: called by PostgreSQL as a V1 function with this fcinfo; the
    // function is STRICT, so its one argument is not NULL.
    let lim = unsafe { pgrx::fcinfo::pg_getarg::<i32>(fcinfo, 0) }.unwrap_or_default();
    let lim = check_limit(lim.into()).or_raise();
    let query = crate::reads::on_catalog(queries::RECENT_JOBS).or_raise();
    // SAFETY: the running call's fcinfo.
    unsafe { materialize(fcinfo, &query, vec![i64::from(lim).into()], |_| Ok(())) }
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_get_recent_jobs_optimized_wrapper() -> &'static pg_sys::Pg_finfo_record {
    &V1
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_get_all_jobs_optimized_page() -> &'static pg_sys::Pg_finfo_record {
    &V1
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_get_running_jobs_wrapper() -> &'static pg_sys::Pg_finfo_record {
    &V1
}

const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };

/// Checks the arguments, then runs `listing` into the call's result.
///
/// # Safety
/// `fcinfo` is the running call's.
unsafe fn list(fcinfo: pg_sys::FunctionCallInfo, listing: &Listing) -> pg_sys::Datum {
    // SAFETY: argument `i` exists when the call has more than `i`; absent
    // arguments (a catalog that declares fewer) are NULL.
    let (lim, after) = unsafe {
        let nargs = (*fcinfo).nargs;
        let lim = if nargs > 0 {
            pgrx::fcinfo::pg_getarg::<i32>(fcinfo, 0)
        } else {
            None
        };
        let after = if nargs > 1 {
            pgrx::fcinfo::pg_getarg::<&str>(fcinfo, 1)
        } else {
            None
        };
        (lim, after)
    };
    let lim = checked_limit(lim, listing.null_lim_means_all).or_raise();
    let page = Page::new(None, after).or_raise();
    // The first page is the page after ('infinity', ''); a later one looks
    // its cursor's created_at up in the query itself (NULL here).
    let (created_at, job_id) = match page.after {
        Some(after) => (None, after),
        None => (Some(TimestampWithTimeZone::positive_infinity()), ""),
    };
    let query = crate::reads::on_catalog(listing.query).or_raise();
    // SAFETY: the running call's fcinfo.
    unsafe {
        materialize(
            fcinfo,
            &query,
            vec![lim.into(), created_at.into(), job_id.into()],
            |rows| match page.after {
                // A page with rows had a cursor; an empty one may have had none
                // (the query cannot tell): 22023 then, whatever lim.
                Some(after) if rows == 0 => cursor_created_at(after).map(|_| ()),
                _ => Ok(()),
            },
        )
    }
}

/// Runs `query` with `args` and its kept generic plan into the result of
/// the running call, then `check` with the number of rows; all with
/// [`LISTING_SETTINGS`] in force.
///
/// # Safety
/// `fcinfo` is the running call's.
unsafe fn materialize(
    fcinfo: pg_sys::FunctionCallInfo,
    query: &str,
    args: Vec<DatumWithOid<'_>>,
    check: impl FnOnce(u64) -> Result<(), Error>,
) -> pg_sys::Datum {
    // SAFETY: InitMaterializedSRF checks that the caller accepts a
    // materialized set (raising an ERROR otherwise) and makes the call's
    // tuplestore and result descriptor, used only after it.
    unsafe {
        let rsinfo = (*fcinfo).resultinfo.cast::<pg_sys::ReturnSetInfo>();
        let expected = !rsinfo.is_null()
            && pgrx::is_a(rsinfo.cast(), pg_sys::NodeTag::T_ReturnSetInfo)
            && !(*rsinfo).expectedDesc.is_null();
        // The expected descriptor, when the caller gives one, saves
        // building it from the catalog on every call.
        let flags = if expected {
            pg_sys::MAT_SRF_USE_EXPECTED_DESC
        } else {
            0
        };
        pg_sys::InitMaterializedSRF(fcinfo, flags);
        with_settings(&LISTING_SETTINGS, || {
            let rows = Spi::connect(|client| {
                statement_read::into_result_set(client, query, &args, rsinfo)
            })?;
            check(rows)
        })
        .or_raise();
    }
    pg_sys::Datum::from(0usize)
}

/// The settings a listing's queries are planned and run with.
const LISTING_SETTINGS: [(&CStr, &CStr); 3] = [
    PINNED_SEARCH_PATH,
    // A generic plan estimates a LIMIT that is an argument as a tenth of the
    // rows, and for that many, sorting the whole table can cost less than
    // reading an index in order, as soon as the index's order is not the
    // table's (a restore, created_at given out of order) or the LIMIT sits
    // under a join (the recent jobs). Without sorts the plan reads the index
    // in order whatever the data, which is right for every lim, a page or
    // all active jobs; no listing sorts otherwise.
    (c"enable_sort", c"off"),
    // A generic plan's cost, computed for a tenth of the rows, passes
    // jit_above_cost at a few million jobs: JIT would then compile the plan
    // at every execution (milliseconds) for a query that runs in a tenth of
    // one.
    (c"jit", c"off"),
];

/// `lim` checked as core checks it (0..=10000); NULL is every row when
/// `null_means_all`, else 22023.
fn checked_limit(lim: Option<i32>, null_means_all: bool) -> Result<Option<i64>, Error> {
    match lim {
        None if null_means_all => Ok(None),
        None => Err(Error::invalid(None, "lim", "is required")),
        Some(lim) => Ok(Page::new(Some(lim.into()), None)?.lim.map(i64::from)),
    }
}

/// The `created_at` of job `after`, looked up by primary key in both base
/// tables with the caller's rights; 22023 naming `after` when there is no
/// such job, as in the other backend. The caller pins the search_path.
fn cursor_created_at(after: &str) -> Result<TimestampWithTimeZone, Error> {
    Spi::connect(|client| {
        let rows = statement_read::select(client, queries::LISTING_CURSOR, &[after.into()])?;
        match rows.first() {
            Some(row) => req::<TimestampWithTimeZone>(row, 1),
            None => Err(unknown_cursor(after)),
        }
    })
}
