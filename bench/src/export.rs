//! Export (issue 15): every job, whole, streamed out of each backend —
//! the real `jobtrack --db … export` as a child process against the plain
//! SQL a user would write, also in a child process (this binary, run with
//! [`CHILD_ARG`]) — with the wall time and the peak memory of the
//! exporting process and, for PostgreSQL, of its server backend.
//!
//! Peak memory is read from `/proc/<pid>/status` while the process runs
//! (VmHWM: the high-water mark of its resident set), not from wait4's
//! `ru_maxrss`: Linux carries the peak of the address space a process
//! leaves at exec into its `ru_maxrss`, and a child starts in a copy of
//! its parent's (fork) or in the parent's own (vfork, posix_spawn) — here
//! the bench holding millions of generated jobs, so every child would
//! report the bench's peak. VmHWM belongs to the address space exec made,
//! the child's own. A backend is found by the unique `application_name`
//! its client connects with (`pg_stat_activity`), and read the same way;
//! its RSS also counts the shared buffers it touched, so the largest
//! RssAnon read (its private memory: sorts, tuple stores, the query's
//! state) is reported beside it.
//!
//! Each export's output goes through a pipe to the bench, which counts its
//! records and checks the job ids in their order against the generated
//! jobs (a digest of the first field of every record), then discards it.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use jobtrack_core::RECORD_COLUMNS;
use postgres::{Client, NoTls};
use rusqlite::types::ValueRef;

use crate::data::Workload;
use crate::measure::{measure, Budget, Summary};
use crate::pg;
use crate::report::{ExportReport, ExportRun, Memory};
use crate::{statements, Res};

/// The first argument that makes this binary a plain-SQL export client
/// instead of the bench: `jobtrack-bench __export-child pg|sqlite
/// jsonl|csv CONNINFO|FILE`.
pub const CHILD_ARG: &str = "__export-child";

const PLAIN_PG: &str = include_str!("../sql/after/export_jobs.sql");
const PLAIN_SQLITE: &str = include_str!("../sql/sqlite/export_jobs.sql");

/// Between two readings of a process's memory. A streaming export's
/// memory is flat after its first page; a reading every few milliseconds
/// misses at most the growth of its last few.
const POLL: Duration = Duration::from_millis(2);
/// How often `pg_stat_activity` is asked again for backends of the
/// export's application_name once one is known (a pool may open more).
const FIND_BACKENDS_EVERY: Duration = Duration::from_millis(50);

const POSTGRES: &str = "PostgreSQL";
const SQLITE: &str = "SQLite";
const JOBTRACK: &str = "jobtrack";
/// The variant name of the plain SQL's rows.
pub const PLAIN: &str = "plain SQL";

/// The output format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// The name `jobtrack export --format` takes, and the report shows.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }

    fn parse(text: &str) -> Res<Format> {
        match text {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown export format {other:?} (jsonl or csv)").into()),
        }
    }
}

/// FNV-1a over job ids, each followed by a byte no id contains: equal
/// digests, the same ids in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest(u64);

impl Digest {
    fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }

    fn id(&mut self, id: &[u8]) {
        for &b in id {
            self.byte(b);
        }
        self.byte(0xff);
    }
}

/// What every export must write: each generated job once, the oldest
/// `created_at` first, ties on job_id in byte order (the tables' C
/// collation, SQLite's binary one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub rows: u64,
    digest: Digest,
}

impl Expected {
    pub fn of(w: &Workload) -> Expected {
        let mut keys: Vec<(i64, &str)> = w
            .executions
            .iter()
            .map(|e| &e.common)
            .chain(w.variations.iter().map(|v| &v.common))
            .map(|c| (c.created_at.unix_micros(), c.job_id.as_str()))
            .collect();
        keys.sort_unstable();
        let mut digest = Digest::new();
        for (_, id) in &keys {
            digest.id(id.as_bytes());
        }
        Expected {
            rows: keys.len() as u64,
            digest,
        }
    }
}

const JSON_PREFIX: &[u8] = b"{\"job_id\":\"";
/// The first line kept for the checks of the columns (a record is far
/// shorter).
const FIRST_LINE_MAX: usize = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a record.
    Start,
    /// JSON lines: this many bytes of `{"job_id":"` matched.
    Prefix(usize),
    /// In the job id (JSON: after the prefix; CSV: an unquoted field).
    Id,
    /// JSON: after a backslash in the id.
    Escape,
    /// CSV: in a quoted first field.
    Quoted,
    /// CSV: a quote in a quoted first field — its end, or the first of two.
    QuotedQuote,
    /// After the id, to the end of the record; CSV: whether in quotes.
    Rest { quoted: bool },
}

/// An export's output, read as it streams: its bytes, its records, a
/// digest of their job ids in order and the first line (CSV: the header,
/// which is not a record).
#[derive(Debug)]
pub struct Tally {
    format: Format,
    pub bytes: u64,
    pub rows: u64,
    digest: Digest,
    state: State,
    id: Vec<u8>,
    /// CSV: the header line is still to come.
    header: bool,
    first_line: Vec<u8>,
    first_line_done: bool,
    /// The first thing wrong with the output.
    pub fault: Option<String>,
}

impl Tally {
    pub fn new(format: Format) -> Tally {
        Tally {
            format,
            bytes: 0,
            rows: 0,
            digest: Digest::new(),
            state: State::Start,
            id: Vec::new(),
            header: format == Format::Csv,
            first_line: Vec::new(),
            first_line_done: false,
            fault: None,
        }
    }

    fn fault(&mut self, what: &str) {
        if self.fault.is_none() {
            self.fault = Some(format!("record {}: {what}", self.rows + 1));
        }
    }

    /// The end of the first field.
    fn end_id(&mut self) {
        if !self.header {
            self.digest.id(&self.id);
        } else if self.id != b"job_id" {
            self.fault("the CSV header does not begin with job_id");
        }
    }

    fn end_record(&mut self) {
        if self.header {
            self.header = false;
        } else {
            self.rows += 1;
        }
        self.id.clear();
        self.state = State::Start;
    }

    pub fn feed(&mut self, buf: &[u8]) {
        self.bytes += buf.len() as u64;
        if !self.first_line_done {
            let end = buf.iter().position(|&b| b == b'\n');
            let part = &buf[..end.unwrap_or(buf.len())];
            let room = FIRST_LINE_MAX.saturating_sub(self.first_line.len());
            self.first_line
                .extend_from_slice(&part[..part.len().min(room)]);
            self.first_line_done = end.is_some();
        }
        for &b in buf {
            match self.format {
                Format::Jsonl => self.json_byte(b),
                Format::Csv => self.csv_byte(b),
            }
        }
    }

    fn json_byte(&mut self, b: u8) {
        if b == b'\n' {
            // JSON text has no raw newline: every one ends a record.
            if matches!(self.state, State::Start | State::Prefix(_)) {
                self.fault("a line that does not begin with {\"job_id\":\"");
            } else if self.state != (State::Rest { quoted: false }) {
                self.fault("a line that ends in its job_id");
            }
            self.end_record();
            return;
        }
        self.state = match self.state {
            State::Start | State::Prefix(_) => {
                let n = match self.state {
                    State::Prefix(n) => n,
                    _ => 0,
                };
                if b == JSON_PREFIX[n] {
                    if n + 1 == JSON_PREFIX.len() {
                        State::Id
                    } else {
                        State::Prefix(n + 1)
                    }
                } else {
                    self.fault("a line that does not begin with {\"job_id\":\"");
                    State::Rest { quoted: false }
                }
            }
            State::Id => match b {
                b'"' => {
                    self.end_id();
                    State::Rest { quoted: false }
                }
                b'\\' => {
                    self.id.push(b);
                    State::Escape
                }
                _ => {
                    self.id.push(b);
                    State::Id
                }
            },
            State::Escape => {
                self.id.push(b);
                State::Id
            }
            other => other,
        };
    }

    fn csv_byte(&mut self, b: u8) {
        self.state = match (self.state, b) {
            (State::Start, b'"') => State::Quoted,
            (State::Start | State::Id | State::QuotedQuote, b',') => {
                self.end_id();
                State::Rest { quoted: false }
            }
            (State::Start | State::Id | State::QuotedQuote, b'\n') => {
                self.end_id();
                self.end_record();
                return;
            }
            // The CR of a CRLF line end.
            (state @ (State::Start | State::Id | State::QuotedQuote), b'\r') => state,
            (State::Start | State::Id, _) => {
                self.id.push(b);
                State::Id
            }
            (State::Quoted, b'"') => State::QuotedQuote,
            (State::Quoted, _) => {
                self.id.push(b);
                State::Quoted
            }
            (State::QuotedQuote, b'"') => {
                self.id.push(b'"');
                State::Quoted
            }
            (State::QuotedQuote, _) => {
                self.fault("text after the closing quote of the job_id");
                self.end_id();
                State::Rest { quoted: false }
            }
            (State::Rest { quoted }, b'"') => State::Rest { quoted: !quoted },
            (State::Rest { quoted: false }, b'\n') => {
                self.end_record();
                return;
            }
            (state, _) => state,
        };
    }

    /// At the end of the output.
    pub fn finish(&mut self) {
        if self.state != State::Start {
            self.fault("the output does not end with a line end");
            if matches!(self.state, State::Id | State::QuotedQuote) {
                self.end_id();
            }
            self.end_record();
        }
    }

    /// The checks of the output against what it must be: the jobs in
    /// order, and the columns (the CSV header; the first JSON object's
    /// keys).
    pub fn check(&self, expected: &Expected) -> Vec<String> {
        let mut faults: Vec<String> = self.fault.iter().cloned().collect();
        if self.rows != expected.rows {
            faults.push(format!("{} records, expected {}", self.rows, expected.rows));
        } else if self.digest != expected.digest {
            faults.push(
                "the job ids differ from the generated jobs in the order created_at, job_id"
                    .to_owned(),
            );
        }
        let first = String::from_utf8_lossy(&self.first_line);
        match self.format {
            Format::Csv => {
                let want = RECORD_COLUMNS.join(",");
                if first.trim_end_matches('\r') != want {
                    faults.push(format!("the CSV header is {first:?}, expected {want:?}"));
                }
            }
            Format::Jsonl if expected.rows > 0 => {
                let keys: Option<Vec<String>> = serde_json::from_str::<serde_json::Value>(&first)
                    .ok()
                    .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()));
                let mut want: Vec<String> = RECORD_COLUMNS.iter().map(|c| c.to_string()).collect();
                want.sort();
                match keys {
                    Some(mut keys) => {
                        keys.sort();
                        if keys != want {
                            faults.push(format!(
                                "the first record's keys are {keys:?}, expected the {} columns",
                                want.len()
                            ));
                        }
                    }
                    None => faults.push("the first line is not a JSON object".to_owned()),
                }
            }
            Format::Jsonl => {}
        }
        faults
    }
}

/// `status`'s value of `field` in kB (`VmHWM:    1724 kB`).
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the memory of `pid` into `m`; false when it has none any more
/// (gone, or a zombie: its address space is released at exit).
fn sample(pid: u32, m: &mut Option<Memory>) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let Some(hwm) = status_kib(&status, "VmHWM:") else {
        return false;
    };
    let anon = status_kib(&status, "RssAnon:").unwrap_or(0);
    let m = m.get_or_insert_with(Memory::default);
    m.peak_rss_kib = m.peak_rss_kib.max(hwm);
    m.peak_anon_kib = m.peak_anon_kib.max(anon);
    m.samples += 1;
    true
}

/// The peak memory of an exporting process and of its backend.
struct Watched {
    client: Option<Memory>,
    backend: Option<Memory>,
}

/// Reads the memory of `pid`, and of the backends `pg_stat_activity` shows
/// with application_name `app`, every [`POLL`] until `done`. The backend
/// reported is the largest of them (the one that ran the export; a pool may
/// have opened others).
fn watch(pid: u32, backends: Option<(&mut Client, &str)>, done: &AtomicBool) -> Res<Watched> {
    let mut client = None;
    let mut found: Vec<(u32, Option<Memory>)> = Vec::new();
    let mut next_lookup = Instant::now();
    let (mut db, app) = match backends {
        Some((c, app)) => (Some(c), app),
        None => (None, ""),
    };
    let lookup = match db.as_mut() {
        Some(c) => Some(c.prepare("SELECT pid FROM pg_stat_activity WHERE application_name = $1")?),
        None => None,
    };
    loop {
        let last = done.load(Ordering::Acquire);
        sample(pid, &mut client);
        if let (Some(c), Some(st)) = (db.as_mut(), lookup.as_ref()) {
            if !last && Instant::now() >= next_lookup {
                for row in c.query(st, &[&app])? {
                    let p = u32::try_from(row.get::<_, i32>(0)).unwrap_or(0);
                    if !found.iter().any(|f| f.0 == p) {
                        found.push((p, None));
                    }
                }
                // Until the backend shows up, ask at every reading.
                next_lookup = Instant::now()
                    + if found.is_empty() {
                        Duration::ZERO
                    } else {
                        FIND_BACKENDS_EVERY
                    };
            }
            for (p, m) in &mut found {
                sample(*p, m);
            }
        }
        if last {
            break;
        }
        std::thread::sleep(POLL);
    }
    let backend = found
        .iter()
        .filter_map(|f| f.1)
        .max_by_key(|m| (m.peak_rss_kib, m.peak_anon_kib));
    Ok(Watched { client, backend })
}

/// One export run.
struct Outcome {
    elapsed: Duration,
    tally: Tally,
    client: Option<Memory>,
    backend: Option<Memory>,
}

/// Runs `cmd`, its output read into a [`Tally`], its memory (and its
/// backend's, given `backends`) read while it runs; fails with its stderr
/// when it fails.
fn run_child(
    mut cmd: Command,
    format: Format,
    backends: Option<(&mut Client, &str)>,
) -> Res<Outcome> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("starting {what}: {e}"))?;
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let done = AtomicBool::new(false);
    let (status, elapsed, tally, errors, watched) = std::thread::scope(|s| {
        let done = &done;
        let reader = s.spawn(move || -> std::io::Result<Tally> {
            let mut tally = Tally::new(format);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = stdout.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                tally.feed(&buf[..n]);
            }
            tally.finish();
            Ok(tally)
        });
        let errors = s.spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        // Res is not Send: the error crosses the thread as text.
        let watcher = s.spawn(move || watch(pid, backends, done).map_err(|e| e.to_string()));
        let status = child.wait();
        let elapsed = start.elapsed();
        done.store(true, Ordering::Release);
        (
            status,
            elapsed,
            reader.join(),
            errors.join(),
            watcher.join(),
        )
    });
    let errors = errors.unwrap_or_default();
    let status = status.map_err(|e| format!("waiting for {what}: {e}"))?;
    if !status.success() {
        let tail: String = {
            let t = errors.trim();
            let skip = t.chars().count().saturating_sub(2000);
            t.chars().skip(skip).collect()
        };
        return Err(format!("{what} failed ({status}): {tail}").into());
    }
    let tally = tally
        .map_err(|_| "the output reader panicked")?
        .map_err(|e| format!("reading the output of {what}: {e}"))?;
    let watched = watched
        .map_err(|_| "the memory watcher panicked")?
        .map_err(|e| format!("reading the memory of {what}: {e}"))?;
    Ok(Outcome {
        elapsed,
        tally,
        client: watched.client,
        backend: watched.backend,
    })
}

/// The `postgres://` URL the CLI takes (it reads no key=value strings) for
/// `conninfo` (libpq key=value pairs, as with-cluster.sh passes them) with
/// `dbname` and `application_name` set.
pub fn cli_url(conninfo: &str, dbname: &str, app: &str) -> Res<String> {
    fn pct(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let mut query = Vec::new();
    for pair in conninfo.split_whitespace() {
        let (key, value) = pair
            .split_once('=')
            .filter(|(_, v)| !v.starts_with('\''))
            .ok_or_else(|| {
                format!(
                    "cannot turn {pair:?} of the connection string into a URL for the CLI: the \
                     export needs plain key=value pairs"
                )
            })?;
        if key != "dbname" && key != "application_name" {
            query.push(format!("{}={}", pct(key), pct(value)));
        }
    }
    query.push(format!("application_name={}", pct(app)));
    Ok(format!("postgres:///{}?{}", pct(dbname), query.join("&")))
}

/// The plain SQL's COPY.
fn copy_sql(format: Format) -> String {
    let select = statements(PLAIN_PG).remove(0);
    match format {
        Format::Jsonl => format!("COPY (SELECT row_to_json(t) FROM ({select}) AS t) TO STDOUT"),
        Format::Csv => format!("COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"),
    }
}

/// A CSV field as RFC 4180 quotes it: a NULL empty.
fn csv_field(out: &mut impl Write, v: ValueRef<'_>) -> std::io::Result<()> {
    match v {
        ValueRef::Null => Ok(()),
        ValueRef::Integer(i) => write!(out, "{i}"),
        ValueRef::Real(f) => write!(out, "{f}"),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            if t.iter().any(|b| matches!(b, b'"' | b',' | b'\n' | b'\r')) {
                out.write_all(b"\"")?;
                for (i, part) in t.split(|&b| b == b'"').enumerate() {
                    if i > 0 {
                        out.write_all(b"\"\"")?;
                    }
                    out.write_all(part)?;
                }
                out.write_all(b"\"")
            } else {
                out.write_all(t)
            }
        }
    }
}

/// The plain-SQL export client (`jobtrack-bench __export-child …`): writes
/// every job to stdout as a user's program would, with COPY from
/// PostgreSQL (the postgres crate's copy_out) or rusqlite from SQLite.
pub fn child_main(args: &[String]) -> Res<()> {
    let [kind, format, target] = args else {
        return Err(format!("usage: {CHILD_ARG} pg|sqlite jsonl|csv CONNINFO|FILE").into());
    };
    let format = Format::parse(format)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match kind.as_str() {
        "pg" => {
            let mut c = Client::connect(target, NoTls)?;
            let mut reader = c.copy_out(copy_sql(format).as_str())?;
            std::io::copy(&mut reader, &mut out)?;
        }
        "sqlite" => {
            let conn = rusqlite::Connection::open_with_flags(
                target,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            let sql = statements(PLAIN_SQLITE);
            match format {
                Format::Jsonl => {
                    let mut st = conn.prepare(&sql[1])?;
                    let mut rows = st.query([])?;
                    while let Some(r) = rows.next()? {
                        out.write_all(r.get_ref(0)?.as_str()?.as_bytes())?;
                        out.write_all(b"\n")?;
                    }
                }
                Format::Csv => {
                    let mut st = conn.prepare(&sql[0])?;
                    let names: Vec<String> =
                        st.column_names().iter().map(|n| n.to_string()).collect();
                    writeln!(out, "{}", names.join(","))?;
                    let n = names.len();
                    let mut rows = st.query([])?;
                    while let Some(r) = rows.next()? {
                        for i in 0..n {
                            if i > 0 {
                                out.write_all(b",")?;
                            }
                            csv_field(&mut out, r.get_ref(i)?)?;
                        }
                        out.write_all(b"\n")?;
                    }
                }
            }
        }
        other => return Err(format!("unknown export client {other:?} (pg or sqlite)").into()),
    }
    out.flush()?;
    Ok(())
}

/// Where the CLI is: `--jobtrack-bin`, or `jobtrack` next to this binary
/// (the same target directory and profile, as `cargo build` puts them).
pub fn locate_cli(given: Option<&Path>) -> Res<PathBuf> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(format!("--jobtrack-bin {}: no such file", path.display()).into())
        };
    }
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .ok_or("the bench binary has no directory")?
        .to_owned();
    let path = dir.join("jobtrack");
    if path.is_file() {
        return Ok(path);
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    Err(format!(
        "the export phase runs the jobtrack CLI, and {} is missing: build it first with `cargo \
         build{} -p jobtrack --bin jobtrack` (the profile of this bench binary), or name one \
         with --jobtrack-bin",
        path.display(),
        if release { " --release" } else { "" }
    )
    .into())
}

/// What every export of one size shares: the binaries, the jobs to expect
/// and how often to run each variant.
pub struct Exporter {
    cli: PathBuf,
    bench: PathBuf,
    expected: Expected,
    budget: Budget,
    runs: AtomicU32,
}

impl Exporter {
    pub fn new(cli: &Path, w: &Workload, smoke: bool) -> Res<Exporter> {
        // A warm-up and three timed runs where an export takes seconds;
        // one run at the largest sizes, where it takes minutes and the
        // data outgrow the caches anyway.
        let (warmup, samples) = if smoke || w.len() > 1_000_000 {
            (0, 1)
        } else {
            (1, 3)
        };
        Ok(Exporter {
            cli: cli.to_owned(),
            bench: std::env::current_exe()?,
            expected: Expected::of(w),
            budget: Budget {
                warmup,
                min_samples: samples,
                max_samples: samples,
                time: Duration::ZERO,
            },
            runs: AtomicU32::new(0),
        })
    }

    /// A unique application_name for one run's connection.
    fn app_name(&self) -> String {
        format!(
            "jobtrack-bench-export-{}-{}",
            std::process::id(),
            self.runs.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Measures one variant: `run` once per run of the budget, with the
    /// application_name of its connection. Memory is the highest of the
    /// runs; every run's output is checked.
    fn variant(
        &self,
        backend: &str,
        variant: &str,
        format: Format,
        how: String,
        faults: &mut Vec<String>,
        mut run: impl FnMut(&str) -> Res<Outcome>,
    ) -> Res<ExportRun> {
        eprintln!("  export: {backend} / {variant} / {}", format.name());
        let (mut client, mut server) = (None::<Memory>, None::<Memory>);
        let (mut rows, mut bytes) = (0, 0);
        let mut checked = false;
        let summary: Summary = measure(self.budget, |_| {
            let o = run(&self.app_name())?;
            client = max_memory(client, o.client);
            server = max_memory(server, o.backend);
            (rows, bytes) = (o.tally.rows, o.tally.bytes);
            let found = o.tally.check(&self.expected);
            if !checked && !found.is_empty() {
                checked = true;
                faults.extend(
                    found
                        .into_iter()
                        .map(|f| format!("export, {backend}, {variant}, {}: {f}", format.name())),
                );
            }
            Ok::<_, Box<dyn std::error::Error>>(o.elapsed)
        })?;
        Ok(ExportRun {
            backend: backend.to_owned(),
            variant: variant.to_owned(),
            format: format.name().to_owned(),
            how,
            rows,
            bytes,
            rows_per_second: rows as f64 / (summary.median_ms / 1e3),
            summary,
            client,
            server,
            vs_plain: None,
        })
    }
}

fn max_memory(a: Option<Memory>, b: Option<Memory>) -> Option<Memory> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Memory {
            peak_rss_kib: a.peak_rss_kib.max(b.peak_rss_kib),
            peak_anon_kib: a.peak_anon_kib.max(b.peak_anon_kib),
            samples: a.samples + b.samples,
        }),
        (a, b) => a.or(b),
    }
}

/// Fills in `vs_plain`: the plain SQL's median of the same backend and
/// format / this median.
pub fn add_ratios(runs: &mut [ExportRun]) {
    let plain: Vec<(String, String, f64)> = runs
        .iter()
        .filter(|r| r.variant == PLAIN)
        .map(|r| (r.backend.clone(), r.format.clone(), r.summary.median_ms))
        .collect();
    for r in runs.iter_mut() {
        r.vs_plain = plain
            .iter()
            .find(|(b, f, _)| *b == r.backend && *f == r.format)
            .map(|p| p.2 / r.summary.median_ms);
    }
}

/// The PostgreSQL exports from the bench database (loaded, vacuumed, not
/// written yet): the CLI and the plain COPY, JSON lines then CSV. Returns
/// the section without SQLite's runs, and the checks that failed.
pub fn postgres(url: &str, ex: &Exporter) -> Res<(ExportReport, Vec<String>)> {
    let mut faults = Vec::new();
    let mut lookups = pg::connect(url, pg::DATABASE)?;
    let idle_backend = {
        let mut c = pg::connect(url, pg::DATABASE)?;
        let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[])?.get(0);
        let mut m = None;
        sample(u32::try_from(pid).unwrap_or(0), &mut m);
        m
    };
    let mut runs = Vec::new();
    for format in [Format::Jsonl, Format::Csv] {
        let flag = match format {
            Format::Jsonl => String::new(),
            Format::Csv => " --format csv".to_owned(),
        };
        runs.push(ex.variant(
            POSTGRES,
            JOBTRACK,
            format,
            format!(
                "`jobtrack --db postgres://… export{flag}`: a cursor over export_jobs(), 1000 \
                 rows a fetch"
            ),
            &mut faults,
            |app| {
                let mut cmd = Command::new(&ex.cli);
                cmd.arg("--db")
                    .arg(cli_url(url, pg::DATABASE, app)?)
                    .arg("export");
                if format == Format::Csv {
                    cmd.args(["--format", "csv"]);
                }
                run_child(cmd, format, Some((&mut lookups, app)))
            },
        )?);
        runs.push(
            ex.variant(
                POSTGRES,
                PLAIN,
                format,
                match format {
                    Format::Jsonl => "`COPY (SELECT row_to_json(t) FROM (… UNION ALL … ORDER BY \
                                  created_at, job_id) AS t) TO STDOUT`, copy_out"
                        .to_owned(),
                    Format::Csv => "`COPY (… UNION ALL … ORDER BY created_at, job_id) TO STDOUT \
                                WITH (FORMAT csv, HEADER)`, copy_out"
                        .to_owned(),
                },
                &mut faults,
                |app| {
                    let mut cmd = Command::new(&ex.bench);
                    cmd.args([CHILD_ARG, "pg", format.name()]).arg(format!(
                        "{url} dbname={} application_name={app}",
                        pg::DATABASE
                    ));
                    run_child(cmd, format, Some((&mut lookups, app)))
                },
            )?,
        );
    }
    Ok((
        ExportReport {
            jobs: ex.expected.rows as usize,
            runs,
            idle_backend,
        },
        faults,
    ))
}

/// The SQLite exports from the file at `path` (loaded, not written yet):
/// the CLI and the plain SELECT through rusqlite, JSON lines then CSV.
/// Returns the runs and the checks that failed.
pub fn sqlite(path: &Path, ex: &Exporter) -> Res<(Vec<ExportRun>, Vec<String>)> {
    let mut faults = Vec::new();
    let mut runs = Vec::new();
    for format in [Format::Jsonl, Format::Csv] {
        let flag = match format {
            Format::Jsonl => String::new(),
            Format::Csv => " --format csv".to_owned(),
        };
        runs.push(ex.variant(
            SQLITE,
            JOBTRACK,
            format,
            format!(
                "`jobtrack --db FILE export{flag}`: keyset pages of 1000 in one read transaction"
            ),
            &mut faults,
            |_| {
                let mut cmd = Command::new(&ex.cli);
                cmd.arg("--db").arg(path).arg("export");
                if format == Format::Csv {
                    cmd.args(["--format", "csv"]);
                }
                run_child(cmd, format, None)
            },
        )?);
        runs.push(
            ex.variant(
                SQLITE,
                PLAIN,
                format,
                match format {
                    Format::Jsonl => "`SELECT json_object(…) … UNION ALL … ORDER BY created_at, \
                                  job_id`, rusqlite"
                        .to_owned(),
                    Format::Csv => "`SELECT … UNION ALL … ORDER BY created_at, job_id`, rusqlite, \
                                CSV written by the client"
                        .to_owned(),
                },
                &mut faults,
                |_| {
                    let mut cmd = Command::new(&ex.bench);
                    cmd.args([CHILD_ARG, "sqlite", format.name()]).arg(path);
                    run_child(cmd, format, None)
                },
            )?,
        );
    }
    Ok((runs, faults))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobtrack_core::Timestamp;

    fn tally(format: Format, text: &str, chunk: usize) -> Tally {
        let mut t = Tally::new(format);
        for part in text.as_bytes().chunks(chunk) {
            t.feed(part);
        }
        t.finish();
        t
    }

    fn expected(ids: &[&str]) -> Expected {
        let mut digest = Digest::new();
        for id in ids {
            digest.id(id.as_bytes());
        }
        Expected {
            rows: ids.len() as u64,
            digest,
        }
    }

    /// A record's line with `id` as JSON text (escapes as written), job_id
    /// first as both exporters write it.
    fn json_line(id: &str) -> String {
        let mut m = serde_json::Map::new();
        for c in &RECORD_COLUMNS[1..] {
            m.insert((*c).to_owned(), serde_json::Value::Null);
        }
        let rest = serde_json::to_string(&m).unwrap();
        format!("{{\"job_id\":\"{id}\",{}\n", &rest[1..])
    }

    #[test]
    fn json_lines_are_counted_and_their_ids_checked_in_order() {
        let text: String = ["a-1", "b\\\"2", "c-3"]
            .iter()
            .map(|id| json_line(id))
            .collect();
        for chunk in [1, 3, 7, 1 << 16] {
            let t = tally(Format::Jsonl, &text, chunk);
            assert_eq!(t.rows, 3, "chunk {chunk}");
            assert_eq!(t.bytes, text.len() as u64);
            assert_eq!(
                t.check(&expected(&["a-1", "b\\\"2", "c-3"])),
                Vec::<String>::new()
            );
            let wrong = t.check(&expected(&["a-1", "c-3", "b\\\"2"]));
            assert_eq!(wrong.len(), 1, "{wrong:?}");
            assert!(wrong[0].contains("order"), "{wrong:?}");
        }
        let short = tally(Format::Jsonl, &text, 5).check(&expected(&["a-1", "b\\\"2"]));
        assert_eq!(short, vec!["3 records, expected 2"]);
        let bad = tally(Format::Jsonl, "{\"status\":\"done\"}\n", 4);
        assert_eq!(bad.rows, 1);
        assert!(
            bad.fault.as_deref().unwrap().contains("does not begin"),
            "{bad:?}"
        );
        let cut = tally(Format::Jsonl, &json_line("a")[..20], 4);
        assert!(cut.fault.is_some());
    }

    #[test]
    fn csv_records_follow_quotes_across_lines() {
        let header = RECORD_COLUMNS.join(",");
        let text = format!(
            "{header}\r\nx-1,execution,\"a, \"\"b\"\"\nc\",1\n\"y\"\"2\",variation,,\"{{\"\"lr\"\":1}}\"\nz-3,e\n"
        );
        for chunk in [1, 2, 5, 1 << 16] {
            let t = tally(Format::Csv, &text, chunk);
            assert_eq!(t.rows, 3, "chunk {chunk}");
            assert_eq!(t.fault, None);
            assert_eq!(
                t.check(&expected(&["x-1", "y\"2", "z-3"])),
                Vec::<String>::new()
            );
        }
        let no_header = tally(Format::Csv, "x-1,a\n", 3);
        assert!(no_header.fault.as_deref().unwrap().contains("header"));
        let faults = no_header.check(&expected(&[]));
        assert!(
            faults
                .iter()
                .any(|f| f.contains("the CSV header is \"x-1,a\"")),
            "{faults:?}"
        );
    }

    #[test]
    fn the_expected_order_is_created_at_then_job_id() {
        let w = Workload::generate(300, 7, Timestamp::from_unix_micros(1_790_000_000_000_000));
        let e = Expected::of(&w);
        assert_eq!(e.rows, 300);
        let mut all: Vec<_> = w
            .executions
            .iter()
            .map(|x| &x.common)
            .chain(w.variations.iter().map(|x| &x.common))
            .collect();
        all.sort_by(|a, b| (a.created_at, &a.job_id).cmp(&(b.created_at, &b.job_id)));
        let ids: Vec<&str> = all.iter().map(|c| c.job_id.as_str()).collect();
        assert_eq!(e, expected(&ids));
    }

    #[test]
    fn the_cli_gets_a_url_of_the_same_server() {
        let url = cli_url(
            "host=/tmp/jt-cluster.Ab1 port=54321 user=postgres dbname=postgres",
            "jobtrack_bench",
            "jobtrack-bench-export-1-0",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres:///jobtrack_bench?host=%2Ftmp%2Fjt-cluster.Ab1&port=54321&user=postgres\
             &application_name=jobtrack-bench-export-1-0"
        );
        // The postgres crate, which the CLI's PgStore uses, reads it back.
        let config: postgres::Config = url.parse().unwrap();
        assert_eq!(config.get_dbname(), Some("jobtrack_bench"));
        assert_eq!(config.get_user(), Some("postgres"));
        assert_eq!(config.get_ports(), &[54321]);
        assert_eq!(
            config.get_application_name(),
            Some("jobtrack-bench-export-1-0")
        );
        assert!(cli_url("host='/a b'", "d", "x").is_err());
    }

    #[test]
    fn proc_status_fields_are_read_in_kib() {
        let status =
            "Name:\tpostgres\nVmHWM:\t   17240 kB\nVmRSS:\t   9000 kB\nRssAnon:\t    1084 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(17240));
        assert_eq!(status_kib(status, "RssAnon:"), Some(1084));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let mut m = None;
        assert!(sample(std::process::id(), &mut m));
        let m = m.unwrap();
        assert!(
            m.peak_rss_kib > 0 && m.peak_anon_kib > 0 && m.samples == 1,
            "{m:?}"
        );
        assert!(!sample(u32::MAX, &mut None));
    }

    /// The plain SQLite SQL has the export's columns, in their order, and
    /// its JSON objects their keys, on a store jobtrack made.
    #[test]
    fn the_plain_sqlite_sql_has_the_export_columns() {
        let dir = std::env::temp_dir().join(format!("jt-bench-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let _ = std::fs::remove_file(&path);
        drop(jobtrack_sqlite::JobStore::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, \
                 success, created_at, updated_at) \
             VALUES ('e-1', 'done', 'single', 'd', 'p', 1, '2026-01-02T00:00:00.000000Z', \
                 '2026-01-02T00:00:00.000000Z');
             INSERT INTO variations (job_id, status, variation_id, experiment_name, \
                 dataset_name, preset, total_combinations, varied_parameters, \
                 parameter_values, created_at, updated_at) \
             VALUES ('v-1', 'pending', 'v001', 'x', 'd', 'p', 2, '{\"lr\":[1,2]}', \
                 '{\"lr\":1}', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');",
        )
        .unwrap();
        let sql = statements(PLAIN_SQLITE);
        assert_eq!(sql.len(), 2);
        let st = conn.prepare(&sql[0]).unwrap();
        assert_eq!(st.column_names(), RECORD_COLUMNS.to_vec());
        let mut st = conn.prepare(&sql[1]).unwrap();
        let lines: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("{\"job_id\":\"v-1\","), "{}", lines[0]);
        let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["varied_parameters"]["lr"][1], 2);
        let mut t = Tally::new(Format::Jsonl);
        for l in &lines {
            t.feed(format!("{l}\n").as_bytes());
        }
        t.finish();
        assert_eq!(t.check(&expected(&["v-1", "e-1"])), Vec::<String>::new());
        let e: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(e["success"], true);
        assert_eq!(e["mode"], "single");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        let mut out = Vec::new();
        for v in [
            ValueRef::Null,
            ValueRef::Integer(3),
            ValueRef::Real(1.5),
            ValueRef::Text(b"plain"),
            ValueRef::Text(b"{\"a\":1,\"b\":2}"),
        ] {
            csv_field(&mut out, v).unwrap();
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "|3|1.5|plain|\"{\"\"a\"\":1,\"\"b\"\":2}\"|"
        );
    }

    #[test]
    fn the_plain_copy_wraps_one_statement() {
        let sql = copy_sql(Format::Jsonl);
        assert!(sql.starts_with("COPY (SELECT row_to_json(t) FROM (SELECT job_id, "));
        assert!(
            sql.ends_with("ORDER BY created_at, job_id) AS t) TO STDOUT"),
            "{sql}"
        );
        assert!(copy_sql(Format::Csv).ends_with(") TO STDOUT WITH (FORMAT csv, HEADER)"));
    }
}
