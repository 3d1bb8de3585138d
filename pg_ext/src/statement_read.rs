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
//! as for any prepared statement, except for the queries run into a
//! function's result ([`into_result_set`]), which keep the generic plan.
//! Planning a listing through the Job view costs more than running it, so
//! this matters on every call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::ptr;

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
    let plan = kept_plan(query, args, Planning::Chosen)?;
    let (mut datums, nulls) = values(args);
    // SAFETY: SPI is connected (we hold its client); the argument arrays
    // have `args.len()` elements and outlive the call; the tuple table is
    // read before any other SPI call and lives until the connection ends.
    unsafe {
        pg_sys::SPI_tuptable = std::ptr::null_mut();
        let status = pg_sys::SPI_execute_plan(plan, datums.as_mut_ptr(), nulls.as_ptr(), true, 0);
        if status != pg_sys::SPI_OK_SELECT as i32 {
            return Err(not_a_select(status));
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

/// The datums and the null flags (`'n'`, `' '`) of `args`, as SPI takes them.
fn values(args: &[DatumWithOid<'_>]) -> (Vec<pg_sys::Datum>, Vec<std::ffi::c_char>) {
    let datums: Vec<pg_sys::Datum> = args
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
    (datums, nulls)
}

fn not_a_select(status: i32) -> Error {
    Error::database(
        "XX000",
        format!("jobtrack: a read query returned SPI status {status}"),
    )
}

/// The receiver of a listing's rows: writes each into the function's
/// tuplestore, as PostgreSQL's tuplestore receiver would, but accepts a
/// query with more columns than the function declares and keeps the
/// leading ones. A catalog of an older version declares a listing's row
/// without the columns added since, and calls this library until ALTER
/// EXTENSION UPDATE: the rows it gets are the old ones, exactly (every
/// column is added at the end of a row, so the old row is a prefix of the
/// new). `#[repr(C)]` with the DestReceiver first, as the executor calls
/// it through a `*mut DestReceiver`.
#[repr(C)]
struct PrefixReceiver {
    receiver: pg_sys::DestReceiver,
    store: *mut pg_sys::Tuplestorestate,
    /// The function's declared row.
    declared: pg_sys::TupleDesc,
    /// Whether the query's row is the declared row (then each slot is
    /// stored as it is).
    same_shape: bool,
}

/// Checks that the query's row starts with the declared row, column by
/// column and type by type.
#[pg_guard]
unsafe extern "C-unwind" fn prefix_startup(
    receiver: *mut pg_sys::DestReceiver,
    _operation: std::ffi::c_int,
    query_row: pg_sys::TupleDesc,
) {
    // SAFETY: `receiver` is the PrefixReceiver made by `into_result_set`;
    // both descriptors are valid for the execution.
    unsafe {
        let this = receiver.cast::<PrefixReceiver>();
        let declared = (*this).declared;
        let (n, m) = ((*declared).natts, (*query_row).natts);
        let prefix = n <= m && {
            let declared = (*declared).attrs.as_slice(n as usize);
            let query_row = (*query_row).attrs.as_slice(m as usize);
            declared
                .iter()
                .zip(query_row)
                .all(|(d, q)| d.atttypid == q.atttypid)
        };
        if !prefix {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                "jobtrack: a listing's query does not match the function's result type",
                format!(
                    "The function declares {n} columns; the query returns {m}, which must begin with them."
                )
            );
        }
        (*this).same_shape = n == m;
    }
}

/// Stores a row: as it is when the shapes agree, else its leading columns.
#[pg_guard]
unsafe extern "C-unwind" fn prefix_receive(
    slot: *mut pg_sys::TupleTableSlot,
    receiver: *mut pg_sys::DestReceiver,
) -> bool {
    // SAFETY: as in prefix_startup; the slot holds a row of the query's
    // descriptor, deformed up to the declared columns before they are read.
    unsafe {
        let this = receiver.cast::<PrefixReceiver>();
        if (*this).same_shape {
            pg_sys::tuplestore_puttupleslot((*this).store, slot);
        } else {
            let n = (*(*this).declared).natts;
            if i32::from((*slot).tts_nvalid) < n {
                pg_sys::slot_getsomeattrs_int(slot, n);
            }
            pg_sys::tuplestore_putvalues(
                (*this).store,
                (*this).declared,
                (*slot).tts_values,
                (*slot).tts_isnull,
            );
        }
    }
    true
}

unsafe extern "C-unwind" fn prefix_shutdown(_receiver: *mut pg_sys::DestReceiver) {}

/// Runs `query` read-only with `args` in the active snapshot, with its
/// generic plan, into the result of the set-returning call `rsinfo`, whose
/// tuplestore and descriptor `InitMaterializedSRF` made: the executor
/// stores each row as it produces it, as PL/pgSQL's RETURN QUERY does. No
/// column becomes a Rust value and back, which is what the listings cost
/// when their rows went through Rust (about 4× the query, measured).
///
/// The generic plan: a listing's LIMIT is an argument, which a custom plan
/// knows and a generic one estimates (as a tenth of the rows), so the plan
/// cache would find every custom plan cheaper and plan each call, and
/// planning a listing costs several times its execution. The caller makes
/// sure that the plan is right whatever the arguments (the listings plan
/// without sorts, `listings::LISTING_SETTINGS`).
///
/// Returns the number of rows.
///
/// # Safety
/// `rsinfo` is the ReturnSetInfo of the running call, after
/// `InitMaterializedSRF`.
pub unsafe fn into_result_set(
    _client: &SpiClient<'_>,
    query: &str,
    args: &[DatumWithOid<'_>],
    rsinfo: *mut pg_sys::ReturnSetInfo,
) -> Result<u64, Error> {
    let plan = kept_plan(query, args, Planning::Generic)?;
    let (datums, nulls) = values(args);
    // SAFETY: SPI is connected (we hold its client). The parameter list is
    // allocated in SPI's procedure context and filled within its length;
    // the tuplestore and its memory context are the call's, which outlive
    // this execution; the receiver is destroyed after it.
    unsafe {
        let params = pg_sys::makeParamList(args.len() as i32);
        let slots = (*params).params.as_mut_slice(args.len());
        for (i, slot) in slots.iter_mut().enumerate() {
            *slot = pg_sys::ParamExternData {
                value: datums[i],
                isnull: nulls[i] == b'n' as std::ffi::c_char,
                pflags: pg_sys::PARAM_FLAG_CONST as u16,
                ptype: args[i].oid(),
            };
        }
        let mut prefix = PrefixReceiver {
            receiver: pg_sys::DestReceiver {
                receiveSlot: Some(prefix_receive),
                rStartup: Some(prefix_startup),
                rShutdown: Some(prefix_shutdown),
                rDestroy: Some(prefix_shutdown),
                mydest: pg_sys::CommandDest::DestTuplestore,
            },
            store: (*rsinfo).setResult,
            declared: (*rsinfo).setDesc,
            same_shape: false,
        };
        let receiver = ptr::addr_of_mut!(prefix).cast::<pg_sys::DestReceiver>();
        let options = pg_sys::SPIExecuteOptions {
            params,
            read_only: true,
            dest: receiver,
            ..Default::default()
        };
        let status = pg_sys::SPI_execute_plan_extended(plan, &options);
        if status != pg_sys::SPI_OK_SELECT as i32 {
            return Err(not_a_select(status));
        }
        Ok(pg_sys::SPI_processed)
    }
}

thread_local! {
    // A backend is one thread: the plans of this session, by planning
    // (`Planning as usize`) and query text.
    static PLANS: RefCell<[HashMap<String, pg_sys::SPIPlanPtr>; 2]> = RefCell::default();
}

/// How the plan cache plans a kept query's executions.
#[derive(Clone, Copy)]
enum Planning {
    /// Custom or generic plans, as for a prepared statement.
    Chosen,
    /// Always the generic plan, planned once (`CURSOR_OPT_GENERIC_PLAN`).
    Generic,
}

/// The kept plan of `query` for arguments of the types of `args`, planned
/// on first use in this session.
fn kept_plan(
    query: &str,
    args: &[DatumWithOid<'_>],
    planning: Planning,
) -> Result<pg_sys::SPIPlanPtr, Error> {
    if let Some(plan) = PLANS.with(|plans| plans.borrow()[planning as usize].get(query).copied()) {
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
        let options = match planning {
            // SPI_prepare's options.
            Planning::Chosen => pg_sys::CURSOR_OPT_PARALLEL_OK,
            Planning::Generic => pg_sys::CURSOR_OPT_PARALLEL_OK | pg_sys::CURSOR_OPT_GENERIC_PLAN,
        } as i32;
        let plan = pg_sys::SPI_prepare_cursor(
            cmd.as_ptr(),
            args.len() as i32,
            types.as_mut_ptr(),
            options,
        );
        if plan.is_null() || pg_sys::SPI_keepplan(plan) != 0 {
            let result = pg_sys::SPI_result;
            return Err(Error::database(
                "XX000",
                format!("jobtrack: cannot plan a read query (SPI result {result})"),
            ));
        }
        plan
    };
    PLANS.with(|plans| plans.borrow_mut()[planning as usize].insert(query.to_owned(), plan));
    Ok(plan)
}
