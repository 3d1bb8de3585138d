//! Bounding memory before a parse.
//!
//! In a backend, Rust's global allocator is `malloc`, and a failed Rust
//! allocation aborts the process (signal 6): the postmaster then restarts
//! every session of the server. A failed `palloc` is an ordinary ERROR —
//! except in PostgreSQL code called from Rust when the backend is that
//! short of memory: pgrx copies the ERROR into the caller's memory context,
//! that copy fails too, and PostgreSQL PANICs. So before a write function
//! turns its `jsonb` argument into text, and again before it parses the
//! text into Rust values, it asks PostgreSQL's allocator, which can fail
//! cleanly, for as much memory as the step will take, and gives it back at
//! once: when that fails, the call fails with 53200 and nothing was
//! allocated for it; when it works, the memory is there to be had
//! (PostgreSQL gets such a huge chunk from `malloc` and returns it with
//! `free`, so `malloc` can hand it out again).
//!
//! # The estimates
//! Measured on this project's release build (PostgreSQL 15, x86-64,
//! glibc), with inputs of 500,000 elements of the shape of
//! `tests/pg_regress/sql/large_batch.sql` (executions 54 MB of text, jsonb
//! 60 MB; variations with `parameter_values` `{"i": n}` 88 MB, jsonb
//! 102 MB; status updates 22 MB, jsonb 26 MB) and single variations whose
//! `parameter_values` hold 200,000 keys, or an array of 1,000,000 numbers,
//! or 300,000 one-key objects (3–3.6 MB of text each):
//!
//! - `jsonb_out` (the detoasted copy, the text's buffer and a copy of
//!   every scalar it leaves behind): growth of the backend's peak resident
//!   memory (VmHWM, reset before, minus VmRSS then) 4.8 × the jsonb's size
//!   for the executions, 4.6 × for the variations, 4.0 × for the numbers;
//!   [`reserve_for_text`] asks for 6 ×.
//! - the parse (bytes requested from Rust's allocator at the peak, counted
//!   by a counting global allocator in a build made for the measurement,
//!   the text excluded): 0.92 × the text for the executions, 1.4 × for the
//!   updates, 4.9 × for the variations; 223 bytes per key of the
//!   200,000-key object, 67 per number of the array, 1,356 per one-key
//!   object (a B-tree node, built once in the element's `Value` and once in
//!   its clone). What costs is what the parse keeps as `serde_json`
//!   values, so [`estimate`] counts those (in the nesting scan,
//!   [`Nesting`]) besides the text, with the per-value costs below: the
//!   measured ones rounded up for `malloc`'s own overhead (a 7-byte string
//!   takes a 32-byte chunk) and for vectors' spare capacity. They give
//!   162 MB for the executions, 1.19 GB for the variations, 67 MB for the
//!   updates, 75, 137 and 604 MB for the three single variations.
//!
//! The Rust allocations after the parse (the columns handed to SPI, 16
//! bytes per element and column, one column at a time; the ids returned)
//! stay well within what the parse had, once the text is freed. What
//! PostgreSQL allocates for the statements themselves is not probed: when
//! it runs out, the ERROR comes out as the ordinary 53200 it is, through
//! an [`ErrorReserve`].
//!
//! Checked under `ulimit -v` with 500,000 executions built in SQL (as
//! large_batch.sql builds them; `jit = off`): between 1,100,000 and
//! 1,410,000 KB the call fails with this module's 53200, from 1,420,000 KB
//! PostgreSQL's own 53200 in the INSERT or the call succeeds (from
//! 1,470,000 KB), below 1,100,000 KB building the batch in SQL fails
//! first; never a crash. The same for 500,000 status updates and
//! variations at limits from 700,000 to 3,400,000 KB.

use jobtrack_core::{Error, Nesting};
use pgrx::pg_sys;

/// Bytes per byte of text: the typed elements, their strings, the vector.
const PER_TEXT_BYTE: usize = 3;
/// Bytes per object inside a field value (a B-tree node, twice).
const PER_OBJECT: usize = 1536;
/// Bytes per array inside a field value.
const PER_ARRAY: usize = 64;
/// Bytes per key and value of such an object.
const PER_OBJECT_ENTRY: usize = 320;
/// Bytes per element of such an array.
const PER_ARRAY_ENTRY: usize = 128;
/// `jsonb_out`'s need, per byte of the jsonb.
const TEXT_PER_JSONB_BYTE: usize = 6;
/// Allocations of a step whatever its size.
const BASE_BYTES: usize = 64 * 1024;

/// The most PostgreSQL's allocator hands out in one chunk
/// (`MaxAllocHugeSize`, `SIZE_MAX / 2`).
const MAX_ALLOC_HUGE: usize = usize::MAX / 2;

/// The bytes of memory the parse of a jsonb text of `text_len` bytes with
/// `nesting` needs (see the module documentation).
pub fn estimate(text_len: usize, nesting: Nesting) -> usize {
    [
        (text_len, PER_TEXT_BYTE),
        (nesting.objects, PER_OBJECT),
        (nesting.arrays, PER_ARRAY),
        (nesting.object_entries, PER_OBJECT_ENTRY),
        (nesting.array_entries, PER_ARRAY_ENTRY),
    ]
    .iter()
    .fold(BASE_BYTES, |sum, &(n, cost)| {
        sum.saturating_add(n.saturating_mul(cost))
    })
}

/// Checks that the parse of the jsonb text of `function` can get its
/// memory now; 53200 naming the sizes if not.
pub fn reserve(function: &str, text_len: usize, nesting: Nesting) -> Result<(), Error> {
    let needed = estimate(text_len, nesting);
    probe(needed)
        .ok_or_else(|| Error::out_of_memory(&format!("jobtrack.{function}"), text_len, needed))
}

/// Checks that `jsonb_out` can get the memory for the text of a jsonb of
/// `jsonb_size` bytes (uncompressed); 53200 if not.
pub fn reserve_for_text(function: &str, jsonb_size: usize) -> Result<(), Error> {
    let needed = jsonb_size
        .saturating_mul(TEXT_PER_JSONB_BYTE)
        .saturating_add(BASE_BYTES);
    probe(needed)
        .ok_or_else(|| Error::out_of_memory(&format!("jobtrack.{function}"), jsonb_size, needed))
}

/// Whether `bytes` can be allocated now (and are freed again).
fn probe(bytes: usize) -> Option<()> {
    if bytes > MAX_ALLOC_HUGE {
        return None;
    }
    // SAFETY: allocates in the current memory context; NO_OOM makes a
    // failure a NULL, not an ERROR; the chunk is freed right away.
    unsafe {
        let chunk = pg_sys::MemoryContextAllocExtended(
            pg_sys::CurrentMemoryContext,
            bytes,
            (pg_sys::MCXT_ALLOC_HUGE | pg_sys::MCXT_ALLOC_NO_OOM) as i32,
        );
        if chunk.is_null() {
            return None;
        }
        pg_sys::pfree(chunk);
    }
    Some(())
}

/// Bytes kept free for an ERROR raised under SPI.
const ERROR_RESERVE_BYTES: usize = 64 * 1024;

/// A memory context whose one block is allocated up front and kept free
/// for an ERROR: made current around the SPI calls of a write, it is where
/// pgrx copies an ERROR raised in them (the context current when the call
/// was made) and, since error unwinding leaves it current, where the
/// re-raise copies the message again. When the statement ran out of memory
/// that is the one place left with room, and the ERROR comes out as the
/// clean 53200 it is instead of a PANIC.
pub struct ErrorReserve(pg_sys::MemoryContext);

impl ErrorReserve {
    /// A reserve in the current memory context.
    pub fn new() -> Self {
        // SAFETY: creates a child of the current context; with the minimum,
        // initial and maximum block size all equal, the block is allocated
        // now and kept (the context's "keeper" block).
        ErrorReserve(unsafe {
            pg_sys::AllocSetContextCreateInternal(
                pg_sys::CurrentMemoryContext,
                c"jobtrack error reserve".as_ptr(),
                ERROR_RESERVE_BYTES,
                ERROR_RESERVE_BYTES,
                ERROR_RESERVE_BYTES,
            )
        })
    }

    /// Runs `f` with the reserve as the current memory context; `f` must
    /// not keep anything allocated in it beyond [`release`](Self::release).
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: the context lives until `release` or, after an ERROR,
        // until its parent is reset; the previous context is restored on
        // return (not after an ERROR, on purpose: see the type's comment).
        unsafe { pgrx::PgMemoryContexts::For(self.0).switch_to(|_| f()) }
    }

    /// Deletes the reserve after a call that succeeded. (After an ERROR it
    /// goes with its parent context.)
    pub fn release(self) {
        // SAFETY: `run` restored the previous context, so this one is not
        // current.
        unsafe { pg_sys::MemoryContextDelete(self.0) };
    }
}
