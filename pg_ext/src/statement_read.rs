//! Queries of the read functions, run in the calling statement's snapshot.
//!
//! pgrx runs SPI read-only only until the transaction has a transaction id;
//! after that every query takes a fresh snapshot (under READ COMMITTED), so
//! two reads in one statement of a writing transaction could see different
//! commits. That is wrong for STABLE functions, and it would let a cached and
//! an uncached read in one statement differ. The read functions therefore
//! run their queries read-only, as PL/pgSQL runs those of a STABLE function:
//! in the statement's snapshot, which includes the transaction's own changes
//! made before the statement.
//!
//! Each query is planned once per session, as PL/pgSQL does: its plan is
//! kept (`SPI_keepplan`) and run again with new arguments. The plan cache
//! revalidates a kept plan when a relation it reads changes (an ALTER, the
//! view created by an upgrade), and chooses between custom and generic plans
//! as for any prepared statement. Planning a listing through the Job view
//! costs more than running it, so this matters on every call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;

use jobtrack_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiHeapTupleData};

use crate::error::spi;

/// Runs `query` with `args` read-only in the active snapshot; the rows live
/// as long as the SPI connection of `_client`.
pub fn select<'conn>(
    _client: &SpiClient<'conn>,
    query: &str,
    args: &[DatumWithOid<'_>],
) -> Result<Vec<SpiHeapTupleData<'conn>>, Error> {
    let plan = kept_plan(query, args)?;
    let mut datums: Vec<pg_sys::Datum> = args
        .iter()
        .map(|a| {
            a.datum()
                .map_or(pg_sys::Datum::from(0usize), |d| d.sans_lifetime())
        })
        .collect();
    let nulls: Vec<std::ffi::c_char> = args
        .iter()
        .map(|a| if a.datum().is_some() { b' ' } else { b'n' } as std::ffi::c_char)
        .collect();
    // SAFETY: SPI is connected (we hold its client); the argument arrays
    // have `args.len()` elements and outlive the call; the tuple table is
    // read before any other SPI call and lives until the connection ends.
    unsafe {
        pg_sys::SPI_tuptable = std::ptr::null_mut();
        let status = pg_sys::SPI_execute_plan(plan, datums.as_mut_ptr(), nulls.as_ptr(), true, 0);
        if status != pg_sys::SPI_OK_SELECT as i32 {
            return Err(Error::database(
                "XX000",
                format!("jobtrack: a read query returned SPI status {status}"),
            ));
        }
        let table = pg_sys::SPI_tuptable;
        if table.is_null() {
            return Ok(Vec::new());
        }
        let mut rows = Vec::with_capacity(pg_sys::SPI_processed as usize);
        for i in 0..pg_sys::SPI_processed as usize {
            if let Some(row) =
                SpiHeapTupleData::new((*table).tupdesc, *(*table).vals.add(i)).map_err(spi)?
            {
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

thread_local! {
    // A backend is one thread: the plans of this session, by query text.
    static PLANS: RefCell<HashMap<String, pg_sys::SPIPlanPtr>> = RefCell::new(HashMap::new());
}

/// The kept plan of `query` for arguments of the types of `args`, planned
/// on first use in this session.
fn kept_plan(query: &str, args: &[DatumWithOid<'_>]) -> Result<pg_sys::SPIPlanPtr, Error> {
    if let Some(plan) = PLANS.with(|plans| plans.borrow().get(query).copied()) {
        return Ok(plan);
    }
    let cmd = CString::new(query)
        .map_err(|_| Error::database("XX000", "jobtrack: a query contains a NUL byte"))?;
    let mut types: Vec<pg_sys::Oid> = args.iter().map(DatumWithOid::oid).collect();
    // SAFETY: SPI is connected (the caller holds its client); `types` has
    // `args.len()` elements. An ERROR in planning is raised as a Rust panic
    // by pgrx's guard and nothing is kept. SPI_keepplan moves the plan out of
    // the SPI procedure's memory into the session's, where it stays.
    let plan = unsafe {
        let plan = pg_sys::SPI_prepare(cmd.as_ptr(), args.len() as i32, types.as_mut_ptr());
        if plan.is_null() || pg_sys::SPI_keepplan(plan) != 0 {
            let result = pg_sys::SPI_result;
            return Err(Error::database(
                "XX000",
                format!("jobtrack: cannot plan a read query (SPI result {result})"),
            ));
        }
        plan
    };
    PLANS.with(|plans| plans.borrow_mut().insert(query.to_owned(), plan));
    Ok(plan)
}
