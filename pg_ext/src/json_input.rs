//! The `jsonb` arguments of the write functions, parsed by jobtrack rather
//! than by pgrx.
//!
//! pgrx's `JsonB` parses in its `FromDatum`, before the function body runs,
//! and panics (XX000, with a Rust backtrace when one is captured) on what
//! serde_json refuses: nesting deeper than its recursion limit, say. And it
//! parses into a `serde_json::Value` tree several times the size of the
//! text, allocated by Rust's allocator, where a failed allocation aborts
//! the backend and restarts the server. [`JsonbArg`] only keeps the datum;
//! the function parses it inside `measured(...)`, in steps that each fail
//! with a jobtrack error:
//!
//! 1. a batch's element count, read from the jsonb header (54000 beyond
//!    [`MAX_BATCH`](jobtrack_core::MAX_BATCH), before any text exists);
//! 2. the text, from `jsonb_out`, in a memory context of its own freed
//!    after the parse, once a probe has found room for it
//!    ([`memory::reserve_for_text`], 53200 if not);
//! 3. a linear scan of the nesting depth (22023 naming element and field:
//!    no parser below ever meets a value deeper than it can take), which
//!    also counts the values the parse will build;
//! 4. a probe that the memory the parse will need can be allocated now
//!    ([`memory::reserve`], 53200 if not);
//! 5. serde_json and jobtrack-core, element by element: a batch never exists
//!    as one `Value` tree, only as the typed elements.
//!
//! The SQL type stays `jsonb`, so the functions' catalog entries are the
//! same as with pgrx's `JsonB`.

use std::ffi::CStr;

use jobtrack_core::{
    check_batch_size, check_nesting, parse_batch_text, parse_text, Error, JobInput, Shape,
};
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::memcxt::PgMemoryContexts;
use pgrx::{pg_sys, FromDatum};

use crate::memory;

/// A `jsonb` argument, not yet parsed.
pub struct JsonbArg {
    datum: pg_sys::Datum,
}

impl FromDatum for JsonbArg {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(JsonbArg { datum })
    }
}

// As pgrx does for its own `FromDatum` types (`argue_from_datum!`).
unsafe impl<'fcx> ArgAbi<'fcx> for JsonbArg {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the caller guarantees the argument is a jsonb datum.
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> pgrx::nullable::Nullable<Self> {
        // SAFETY: as above.
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

pgrx::impl_sql_translatable!(JsonbArg, "jsonb");

/// What the root container of a jsonb value is.
enum Root {
    /// An array of this many elements.
    Array(usize),
    /// An object or a scalar.
    Other,
}

/// The text of a jsonb value, in a memory context of its own: `jsonb_out`
/// leaves a copy of every scalar behind besides the text (measured: the
/// text, its buffer and that garbage come to about 4.6–4.8 times the
/// jsonb's size), all of which goes with the context once the elements
/// are parsed, before SPI needs memory.
struct Text {
    context: PgMemoryContexts,
    text: *const std::ffi::c_char,
}

impl Text {
    fn bytes(&self) -> &[u8] {
        // SAFETY: jsonb_out returns a NUL-terminated string, allocated in
        // `context`, which lives as long as self.
        unsafe { CStr::from_ptr(self.text) }.to_bytes()
    }

    /// Frees the text and everything `jsonb_out` allocated.
    fn free(self) {
        drop(self.context);
    }
}

impl JsonbArg {
    /// The jsonb's size, uncompressed, without expanding it.
    fn size(&self) -> usize {
        // SAFETY: the datum is a varlena for the whole call.
        unsafe { pg_sys::toast_raw_datum_size(self.datum) }
    }

    /// The root container's kind.
    fn root(&self) -> Root {
        // SAFETY: the datum is a jsonb varlena for the whole call. A jsonb
        // starts with its root container's header (`JsonbContainer.header`):
        // flags and the element count (jsonb.h). Only those 4 bytes are
        // fetched (a compressed or out-of-line value is not expanded for
        // them), into a copy freed at once; read unaligned, as a varlena
        // need not be aligned.
        let header = unsafe {
            let slice = pg_sys::pg_detoast_datum_slice(self.datum.cast_mut_ptr(), 0, 4);
            let header = std::ptr::read_unaligned(pgrx::varlena::vardata_any(slice).cast::<u32>());
            pg_sys::pfree(slice.cast());
            header
        };
        if header & pg_sys::JB_FARRAY != 0 && header & pg_sys::JB_FSCALAR == 0 {
            Root::Array((header & pg_sys::JB_CMASK) as usize)
        } else {
            Root::Other
        }
    }

    /// The text, from `jsonb_out`, once there is room for it. An ERROR
    /// raised in PostgreSQL code called from Rust is copied by pgrx into
    /// the caller's memory context; when that copy fails too for want of
    /// memory, the error repeats until PostgreSQL PANICs (seen here: a
    /// `jsonb_out` that ran out of memory under `ulimit -v` restarted the
    /// server). So the memory `jsonb_out` needs is probed first, where a
    /// failure is a clean 53200.
    fn text(&self, function: &str) -> Result<Text, Error> {
        memory::reserve_for_text(function, self.size())?;
        let mut context = PgMemoryContexts::new("jobtrack input text");
        // SAFETY: the context lives until `Text` is dropped, and nothing
        // allocated in it is used after that; jsonb_out takes one jsonb
        // datum (it detoasts it itself).
        let datum = unsafe {
            context.switch_to(|_| {
                pgrx::direct_function_call_as_datum(pg_sys::jsonb_out, &[Some(self.datum)])
            })
        };
        let datum =
            datum.ok_or_else(|| Error::database("XX000", "jobtrack: jsonb_out returned NULL"))?;
        Ok(Text {
            context,
            text: datum.cast_mut_ptr(),
        })
    }

    /// The argument of a `create_*` function: one object.
    pub fn parse_one<T: JobInput>(&self, function: &str) -> Result<T, Error> {
        let text = self.text(function)?;
        let nesting = check_nesting(text.bytes(), Shape::Object)?;
        memory::reserve(function, text.bytes().len(), nesting)?;
        let item = parse_text(text.bytes())?;
        text.free();
        Ok(item)
    }

    /// The argument of a `batch_*` function: an array of objects.
    pub fn parse_batch<T: JobInput>(&self, function: &str) -> Result<Vec<T>, Error> {
        let elements = match self.root() {
            Root::Array(n) => {
                check_batch_size(n)?;
                n
            }
            // parse_batch_text refuses it, naming its type.
            Root::Other => 0,
        };
        let text = self.text(function)?;
        let nesting = check_nesting(text.bytes(), Shape::Batch)?;
        memory::reserve(function, text.bytes().len(), nesting)?;
        let items = parse_batch_text(text.bytes(), elements)?;
        text.free();
        Ok(items)
    }
}
