//! What a run measured, and its renderings: JSON, Markdown and two SVG
//! charts (ratios at the largest size; time per call against the size).

use std::fmt::Write as _;

use serde::Serialize;

use crate::measure::Summary;

/// The machine, printed with every run.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub postgres_version: String,
    pub sqlite_version: String,
}

/// One measured variant of one operation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub operation: String,
    /// `before`, `after`, `jobtrack`, `cached` or `ceiling`.
    pub variant: String,
    /// How the variant does it, for the table.
    pub label: String,
    #[serde(flatten)]
    pub summary: Summary,
    /// before's median / this median: how many times faster than before.
    pub vs_before: Option<f64>,
    /// after's median / this median.
    pub vs_after: Option<f64>,
}

/// pgbench throughput of one workload at one client count.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub workload: String,
    pub clients: u32,
    pub seconds: u32,
    pub tps: f64,
    /// tps / SELECT 1's tps at the same client count.
    pub vs_select1: Option<f64>,
}

/// The price of the indexes and the summary maintenance on writes.
#[derive(Debug, Clone, Serialize)]
pub struct WriteCost {
    pub update: String,
    pub table: String,
    pub jobs: usize,
    #[serde(flatten)]
    pub summary: Summary,
    pub jobs_per_second: f64,
    /// jobtrack's median / the primary-key-only median (1 on that row).
    pub cost_vs_pk_only: f64,
}

/// Throughput of four concurrent writers on one dataset, with and without
/// the statistics counters.
#[derive(Debug, Clone, Serialize)]
pub struct WriterRun {
    pub variant: String,
    pub clients: u32,
    pub seconds: u32,
    pub tps: f64,
    /// tps / the "without counters" tps.
    pub vs_without_counters: f64,
}

/// One call through the Rust client (`PgStore`) or over a raw connection.
#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub operation: String,
    /// `raw`, `raw, unprepared`, `client` or `client, no pre-ping`.
    pub variant: String,
    /// How the variant does it, for the table.
    pub label: String,
    #[serde(flatten)]
    pub summary: Summary,
    /// This median / the raw prepared statement's median: the price of the
    /// path (1 on the raw row).
    pub vs_raw: f64,
}

/// Calls per second of threads on one pool or on raw connections.
#[derive(Debug, Clone, Serialize)]
pub struct PoolThroughput {
    pub workload: String,
    pub path: String,
    pub threads: usize,
    /// Wall time of the run, from the start to the last thread's end.
    pub seconds: f64,
    pub calls: u64,
    pub calls_per_second: f64,
    /// calls_per_second / the raw connections' (1 on that row).
    pub vs_raw: f64,
}

/// The Rust client against the same SQL over raw connections.
#[derive(Debug, Clone, Serialize)]
pub struct ClientReport {
    pub calls: Vec<CallRow>,
    pub throughput: Vec<PoolThroughput>,
}

/// Call times of the writers over one stretch of a run (ms; None when no
/// call fell in it).
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub calls: usize,
    /// Median, nearest rank.
    pub median_ms: Option<f64>,
    /// 99th percentile, nearest rank.
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// One way of deleting the old jobs, timed while the writers ran.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionRun {
    /// `one transaction` (cleanup_old_jobs) or `batches` (prune_jobs).
    pub variant: String,
    pub call: String,
    /// The call's wall time, from the client.
    pub duration_ms: f64,
    pub jobs_deleted: i64,
    /// Transactions the call took (1 for cleanup_old_jobs).
    pub batches: i64,
    /// The longest of them, from get_transaction_metrics()' max_duration
    /// (the whole call for cleanup_old_jobs).
    pub longest_batch_ms: f64,
    /// The writer calls that overlapped the call.
    pub writers: Latency,
    /// The longest writer call / the longest batch.
    pub longest_wait_vs_batch: Option<f64>,
}

/// Bounded retention (issue 15): writers while old jobs are deleted in one
/// transaction and in batches.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    /// Jobs loaded before each variant.
    pub jobs: usize,
    /// Jobs both variants must delete.
    pub qualifying: usize,
    /// Active jobs among `jobs`.
    pub active: usize,
    pub days: i32,
    pub batch_size: i32,
    pub writers: usize,
    pub jobs_per_call: usize,
    /// Pause of each writer between two calls.
    pub pause_ms: f64,
    /// The writers' calls in the second half of the wait before each
    /// deletion (the first half warms the fresh copy up), both runs.
    pub alone: Latency,
    pub runs: Vec<RetentionRun>,
    /// The longest writer call with one transaction / with batches.
    pub longest_wait_ratio: Option<f64>,
}

/// Peak memory of one process, read from `/proc/<pid>/status` while it
/// ran (KiB).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    /// VmHWM: the high-water mark of its resident set.
    pub peak_rss_kib: u64,
    /// The largest RssAnon read: its private memory (for a backend, without
    /// the shared buffers it touched, which its RSS counts).
    pub peak_anon_kib: u64,
    /// Readings taken (every 2 ms), over all its runs.
    pub samples: u64,
}

/// One way of exporting every job, timed, its output checked and its
/// memory read.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRun {
    /// `PostgreSQL` or `SQLite`.
    pub backend: String,
    /// `jobtrack` (the CLI) or `plain SQL`.
    pub variant: String,
    /// `jsonl` or `csv`.
    pub format: String,
    /// How the variant does it, for the table.
    pub how: String,
    /// Records written (a CSV's header not counted).
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Wall time of the process, from its start to its exit.
    #[serde(flatten)]
    pub summary: Summary,
    /// rows / the median.
    pub rows_per_second: f64,
    /// The exporting process (the highest of its runs); None when it ended
    /// before a reading.
    pub client: Option<Memory>,
    /// Its server backend (PostgreSQL; found by its application_name): None
    /// for SQLite, which has none, or when no backend was seen.
    pub server: Option<Memory>,
    /// The plain SQL's median of the same backend and format / this median
    /// (1 on the plain SQL's row).
    pub vs_plain: Option<f64>,
}

/// Export of every job (issue 15): the CLI and the plain SQL, JSON lines
/// and CSV, on both backends.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    /// Jobs every export must write.
    pub jobs: usize,
    /// PostgreSQL's runs, then SQLite's where SQLite was measured.
    pub runs: Vec<ExportRun>,
    /// A fresh backend after `SELECT pg_backend_pid()`: the floor of the
    /// server columns.
    pub idle_backend: Option<Memory>,
}

/// Everything measured at one size.
#[derive(Debug, Clone, Serialize)]
pub struct SizeReport {
    pub jobs: usize,
    pub executions: usize,
    pub variations: usize,
    pub postgres: Vec<Row>,
    pub pgbench: Vec<Throughput>,
    pub write_cost: Vec<WriteCost>,
    pub counter_writers: Vec<WriterRun>,
    pub client: ClientReport,
    /// Pruning while writers run.
    pub retention: RetentionReport,
    /// Every job exported, right after the load.
    pub export: ExportReport,
    /// False when SQLite was not run at this size (above
    /// `--sqlite-max-size`); `sqlite` is then empty.
    pub sqlite_measured: bool,
    pub sqlite: Vec<Row>,
    /// Differences between variants' answers (empty when they agree).
    pub mismatches: Vec<String>,
    /// Wall time of each part of this size, in the order they ran.
    pub phases: Vec<Phase>,
}

/// One part of a size (generating, loading, …) and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub machine: Machine,
    pub smoke: bool,
    pub notes: Vec<String>,
    /// The sizes the run was asked for, in its order.
    pub sizes_planned: Vec<usize>,
    /// SQLite is measured only at sizes up to this (`--sqlite-max-size`).
    pub sqlite_max_size: Option<usize>,
    /// False in the files written after each size while later sizes are
    /// still to come, and when the run stopped early.
    pub complete: bool,
    /// The size and error that stopped the run, when one did.
    pub stopped_by: Option<String>,
    pub sizes: Vec<SizeReport>,
}

/// Fills in `vs_before` and `vs_after` of each operation's rows.
pub fn add_ratios(rows: &mut [Row]) {
    let medians: Vec<(String, String, f64)> = rows
        .iter()
        .map(|r| (r.operation.clone(), r.variant.clone(), r.summary.median_ms))
        .collect();
    let find = |op: &str, variant: &str| {
        medians
            .iter()
            .find(|(o, v, _)| o == op && v == variant)
            .map(|m| m.2)
    };
    for r in rows.iter_mut() {
        let m = r.summary.median_ms;
        r.vs_before = find(&r.operation, "before").map(|b| b / m);
        r.vs_after = find(&r.operation, "after").map(|a| a / m);
    }
}

/// A duration for humans: µs, ms or s.
pub fn human_ms(ms: f64) -> String {
    if ms < 0.01 {
        format!("{:.0} ns", ms * 1e6)
    } else if ms < 1.0 {
        format!("{:.1} µs", ms * 1e3)
    } else if ms < 1000.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// A ratio for humans.
pub fn ratio(r: Option<f64>) -> String {
    match r {
        None => "—".to_owned(),
        Some(r) if r >= 100.0 => format!("{r:.0}×"),
        Some(r) if r >= 10.0 => format!("{r:.1}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The machine line printed with every run.
pub fn machine_line(m: &Machine) -> String {
    format!(
        "{} CPUs ({}), {:.1} GiB memory, Linux {}, PostgreSQL {}, SQLite {}",
        m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.postgres_version, m.sqlite_version
    )
}

fn rows_table(out: &mut String, rows: &[Row], ceiling_name: &str) {
    out.push_str(
        "| operation | variant | how | median | vs before | vs after | runs |\n\
         |---|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let variant = if r.variant == "ceiling" {
            ceiling_name
        } else {
            &r.variant
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.operation,
            variant,
            r.label,
            human_ms(r.summary.median_ms),
            ratio(r.vs_before),
            ratio(r.vs_after),
            r.summary.samples
        );
    }
}

fn median_of(rows: &[Row], operation: &str, variant: &str) -> Option<f64> {
    rows.iter()
        .find(|r| r.operation == operation && r.variant == variant)
        .map(|r| r.summary.median_ms)
}

/// Issue 6's three measured points side by side, over every size of the
/// run: get_statistics_optimized() against its time at the smallest size
/// and against the plain-SQL two-aggregate statistics ("after"), and four
/// writers' throughput with the counters against without.
fn counters_summary(out: &mut String, report: &Report) {
    let Some(smallest) = report.sizes.iter().min_by_key(|s| s.jobs) else {
        return;
    };
    let base = median_of(&smallest.postgres, "statistics", "jobtrack");
    out.push_str(
        "## Statistics in constant time (PostgreSQL counters)\n\n\
         | jobs | get_statistics_optimized() | vs its time at the smallest size | plain SQL, \
         2 aggregates | plain SQL / jobtrack | 4 writers, TPS with / without counters |\n\
         |---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &report.sizes {
        let jobtrack = median_of(&s.postgres, "statistics", "jobtrack");
        let after = median_of(&s.postgres, "statistics", "after");
        let writers = |prefix: &str| {
            s.counter_writers
                .iter()
                .find(|r| r.variant.starts_with(prefix))
                .map(|r| r.vs_without_counters)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            thousands(s.jobs),
            jobtrack.map_or("—".to_owned(), human_ms),
            ratio(jobtrack.zip(base).map(|(j, b)| j / b)),
            after.map_or("—".to_owned(), human_ms),
            ratio(after.zip(jobtrack).map(|(a, j)| a / j)),
            ratio(writers("with counters (")),
        );
    }
    out.push_str(
        "\nTargets: at 1,000,000 jobs the statistics take at most 2× their time at \
         10,000 and are at least 100× faster than the plain-SQL two-aggregate approach; four \
         writers on one dataset keep at least 0.80× of their throughput without the counters.\n\n",
    );
}

fn opt_ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "—".to_owned(), human_ms)
}

fn retention_run<'a>(r: &'a RetentionReport, variant: &str) -> Option<&'a RetentionRun> {
    r.runs.iter().find(|run| run.variant == variant)
}

/// Issue 15's measured point over every size of the run: the longest
/// writer call while old jobs are deleted in one transaction and in
/// batches, next to the longest batch.
fn retention_summary(out: &mut String, report: &Report) {
    if report.sizes.is_empty() {
        return;
    }
    out.push_str(
        "## Bounded retention: writers while old jobs are deleted (PostgreSQL)\n\n\
         | jobs | jobs deleted | cleanup_old_jobs (one transaction) | its longest writer call | \
         prune_jobs | batches | longest batch | its longest writer call | longest writer call, \
         one transaction / batches |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &report.sizes {
        let r = &s.retention;
        let one = retention_run(r, "one transaction");
        let batches = retention_run(r, "batches");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            thousands(s.jobs),
            thousands(r.qualifying),
            opt_ms(one.map(|x| x.duration_ms)),
            opt_ms(one.and_then(|x| x.writers.max_ms)),
            opt_ms(batches.map(|x| x.duration_ms)),
            batches.map_or("—".to_owned(), |x| x.batches.to_string()),
            opt_ms(batches.map(|x| x.longest_batch_ms)),
            opt_ms(batches.and_then(|x| x.writers.max_ms)),
            ratio(r.longest_wait_ratio),
        );
    }
    out.push_str(
        "\nTarget (issue 15): during a batched prune no writer waits longer than one batch — \
         compare *longest batch* with the *longest writer call* after it (a call's own work \
         comes on top of its wait). The section of each size has the writers' medians and 99th \
         percentiles.\n\n",
    );
}

fn retention_table(out: &mut String, r: &RetentionReport) {
    let _ = write!(
        out,
        "\n### PostgreSQL: deleting old jobs while {} writers run (bounded retention)\n\n\
         {} of {} jobs qualify (done or cancelled, created more than {} days ago; {} jobs are \
         active). Each variant runs on a fresh copy of the same database; {} writers loop over \
         `batch_update_execution_status` of {} executions each (half of them jobs the deletion \
         removes, half active ones), {} ms apart, and every call is timed.\n\n\
         | variant | call | duration | jobs deleted | batches | longest batch | writer calls | \
         median | p99 | longest writer call | longest call / longest batch |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        r.writers,
        thousands(r.qualifying),
        thousands(r.jobs),
        r.days,
        thousands(r.active),
        r.writers,
        r.jobs_per_call,
        r.pause_ms,
    );
    let a = &r.alone;
    let _ = writeln!(
        out,
        "| writers alone | just before each deletion | — | — | — | — | {} | {} | {} | {} | — |",
        a.calls,
        opt_ms(a.median_ms),
        opt_ms(a.p99_ms),
        opt_ms(a.max_ms),
    );
    for run in &r.runs {
        let w = &run.writers;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.variant,
            run.call,
            human_ms(run.duration_ms),
            thousands(usize::try_from(run.jobs_deleted).unwrap_or(0)),
            run.batches,
            human_ms(run.longest_batch_ms),
            w.calls,
            opt_ms(w.median_ms),
            opt_ms(w.p99_ms),
            opt_ms(w.max_ms),
            ratio(run.longest_wait_vs_batch),
        );
    }
    let _ = writeln!(
        out,
        "\nLongest writer call, one transaction / batches: **{}**. *writer calls*: those that \
         overlapped the deletion (*writers alone*: those of the second half of the wait before \
         each deletion, the first warming the fresh copy up); *longest batch*: \
         `get_transaction_metrics()`' max_duration of the call, reset before it (for \
         cleanup_old_jobs its one transaction).",
        ratio(r.longest_wait_ratio)
    );
}

/// KiB for humans: KiB, MiB or GiB.
pub fn human_kib(kib: u64) -> String {
    let k = kib as f64;
    if kib < 1024 {
        format!("{kib} KiB")
    } else if k < 1024.0 * 1024.0 {
        format!("{:.1} MiB", k / 1024.0)
    } else {
        format!("{:.2} GiB", k / (1024.0 * 1024.0))
    }
}

fn export_run<'a>(
    e: &'a ExportReport,
    backend: &str,
    variant: &str,
    format: &str,
) -> Option<&'a ExportRun> {
    e.runs
        .iter()
        .find(|r| r.backend == backend && r.variant == variant && r.format == format)
}

/// A run's client peak RSS.
fn client_rss(r: &ExportRun) -> String {
    r.client
        .map_or_else(|| "—".to_owned(), |m| human_kib(m.peak_rss_kib))
}

/// A run's backend peaks, private / RSS: "—" without a server (SQLite),
/// "not seen" when no backend of its connection was found.
fn server_memory(r: &ExportRun) -> String {
    match (r.server, r.backend == "PostgreSQL") {
        (Some(m), _) => format!(
            "{} / {}",
            human_kib(m.peak_anon_kib),
            human_kib(m.peak_rss_kib)
        ),
        (None, true) => "not seen".to_owned(),
        (None, false) => "—".to_owned(),
    }
}

/// One memory figure of one export at every size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryCell {
    /// The export was not run at that size (SQLite above --sqlite-max-size).
    NotRun,
    /// Run, but its process or backend was gone before a reading.
    NotSeen,
    Kib(u64),
}

/// One export's memory figure across the sizes.
#[derive(Debug, Clone)]
pub struct MemoryGrowthRow {
    /// "PostgreSQL, jobtrack, jsonl".
    pub export: String,
    /// "client peak RSS", "backend, private" or "backend, RSS".
    pub memory: &'static str,
    /// At each size of the run, smallest first.
    pub cells: Vec<MemoryCell>,
    /// At the largest size the export was run at / at the smallest (None
    /// with one such size, or when either was not read).
    pub factor: Option<f64>,
}

type MemoryFigure = fn(&ExportRun) -> Option<u64>;

/// The figures the growth table follows: the exporting process's peak RSS,
/// and its backend's private memory and RSS (PostgreSQL only).
const MEMORY_FIGURES: [(&str, MemoryFigure, bool); 3] = [
    (
        "client peak RSS",
        |r| r.client.map(|m| m.peak_rss_kib),
        false,
    ),
    (
        "backend, private",
        |r| r.server.map(|m| m.peak_anon_kib),
        true,
    ),
    ("backend, RSS", |r| r.server.map(|m| m.peak_rss_kib), true),
];

/// The peak memory of every export over the run's sizes (smallest first),
/// exports in the order they first appear. Returns the sizes and the rows.
pub fn memory_growth(report: &Report) -> (Vec<usize>, Vec<MemoryGrowthRow>) {
    let mut sizes: Vec<&SizeReport> = report.sizes.iter().collect();
    sizes.sort_by_key(|s| s.jobs);
    let mut keys: Vec<(&str, &str, &str)> = Vec::new();
    for s in &sizes {
        for r in &s.export.runs {
            let key = (r.backend.as_str(), r.variant.as_str(), r.format.as_str());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut rows = Vec::new();
    for (backend, variant, format) in keys {
        for (memory, figure, server_only) in MEMORY_FIGURES {
            if server_only && backend != "PostgreSQL" {
                continue;
            }
            let cells: Vec<MemoryCell> = sizes
                .iter()
                .map(|s| match export_run(&s.export, backend, variant, format) {
                    None => MemoryCell::NotRun,
                    Some(r) => figure(r).map_or(MemoryCell::NotSeen, MemoryCell::Kib),
                })
                .collect();
            let first = cells.iter().position(|c| *c != MemoryCell::NotRun);
            let last = cells.iter().rposition(|c| *c != MemoryCell::NotRun);
            let factor = match (first, last) {
                (Some(f), Some(l)) if l > f => match (cells[f], cells[l]) {
                    (MemoryCell::Kib(a), MemoryCell::Kib(b)) if a > 0 => Some(b as f64 / a as f64),
                    _ => None,
                },
                _ => None,
            };
            rows.push(MemoryGrowthRow {
                export: format!("{backend}, {variant}, {format}"),
                memory,
                cells,
                factor,
            });
        }
    }
    (sizes.iter().map(|s| s.jobs).collect(), rows)
}

/// Issue 15's export point over every size of the run: time and peak
/// memory of the CLI's JSON lines export against the plain SQL's, then
/// every export's peak memory against the size.
fn export_summary(out: &mut String, report: &Report) {
    if report.sizes.iter().all(|s| s.export.runs.is_empty()) {
        return;
    }
    out.push_str(
        "## Export of every job in bounded memory (issue 15)\n\n\
         Every job, whole (export_jobs' 24 columns), the oldest first, written to a pipe the \
         bench reads and discards: the `jobtrack` CLI (`jobtrack --db URL export`, JSON lines) \
         as a child process against the plain SQL a user would write, in a child process too. \
         Peak memory from `/proc/<pid>/status` while the process ran: *RSS* is VmHWM, \
         *private* the largest RssAnon read (a backend's RSS also counts the shared buffers it \
         read through).\n\n\
         | jobs | backend | jobtrack export | rows/s | client peak RSS | its backend, private / \
         RSS | plain SQL | plain SQL / jobtrack | plain client peak RSS | its backend, private / \
         RSS |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &report.sizes {
        for backend in ["PostgreSQL", "SQLite"] {
            let Some(j) = export_run(&s.export, backend, "jobtrack", "jsonl") else {
                continue;
            };
            let plain = export_run(&s.export, backend, "plain SQL", "jsonl");
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                thousands(s.jobs),
                backend,
                human_ms(j.summary.median_ms),
                thousands(j.rows_per_second as usize),
                client_rss(j),
                server_memory(j),
                opt_ms(plain.map(|p| p.summary.median_ms)),
                ratio(j.vs_plain),
                plain.map_or_else(|| "—".to_owned(), client_rss),
                plain.map_or_else(|| "—".to_owned(), server_memory),
            );
        }
    }
    let (sizes, rows) = memory_growth(report);
    out.push_str(
        "\nPeak memory of every export at each size; **growth** = at the largest size it was run \
         at / at the smallest (1.00× = flat):\n\n| export | memory |",
    );
    for n in &sizes {
        let _ = write!(out, " {} jobs |", thousands(*n));
    }
    out.push_str(" growth |\n|---|---|");
    for _ in &sizes {
        out.push_str("---:|");
    }
    out.push_str("---:|\n");
    for r in &rows {
        let _ = write!(out, "| {} | {} |", r.export, r.memory);
        for c in &r.cells {
            let cell = match c {
                MemoryCell::NotRun => "not run".to_owned(),
                MemoryCell::NotSeen => "—".to_owned(),
                MemoryCell::Kib(k) => human_kib(*k),
            };
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out, " {} |", ratio(r.factor));
    }
    if rows.iter().any(|r| r.cells.contains(&MemoryCell::NotRun)) {
        let _ = writeln!(
            out,
            "\n*not run*: SQLite was not run at that size{}.",
            sqlite_limit(report)
        );
    }
    out.push_str(
        "\nTarget (issue 15): an export of 1,000,000 jobs in bounded memory — jobtrack's client \
         peak RSS and its backend's private memory stay about the same from the smallest size \
         to the largest (growth near 1×). A backend's RSS grows with the shared buffers it reads \
         through until shared_buffers bounds it. The section of each size has the CSV exports \
         and the output's size.\n\n",
    );
}

fn export_table(out: &mut String, e: &ExportReport) {
    if e.runs.is_empty() {
        return;
    }
    let runs = e.runs.first().map_or(0, |r| r.summary.samples);
    let _ = write!(
        out,
        "\n### Export: every job, whole, through a pipe (the jobtrack CLI against plain SQL)\n\n\
         Each of the {} jobs once, the oldest created_at first, ties on job_id. The bench reads \
         every output, counts its records, checks the job ids in their order and the columns \
         (the CSV header, the JSON keys), and discards it. Time: the process's wall time from \
         its start to its exit, median of {runs} run{}; memory: the highest of the runs, read \
         from `/proc/<pid>/status` every 2 ms (*RSS*: VmHWM; *private*: the largest RssAnon \
         read; the backend is found by the application_name its client connects with). vs \
         plain SQL = the plain SQL's median of the same backend and format / this median \
         (above 1: faster).\n\n\
         | backend | variant | format | how | rows | output | median | rows/s | vs plain SQL | \
         client peak RSS | backend peak, private / RSS | runs |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        thousands(e.jobs),
        if runs == 1 { "" } else { "s" },
    );
    for r in &e.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.backend,
            r.variant,
            r.format,
            r.how,
            thousands(r.rows as usize),
            human_kib(r.bytes.div_ceil(1024)),
            human_ms(r.summary.median_ms),
            thousands(r.rows_per_second as usize),
            ratio(r.vs_plain),
            client_rss(r),
            server_memory(r),
            r.summary.samples,
        );
    }
    if let Some(m) = e.idle_backend {
        let _ = writeln!(
            out,
            "\nA fresh backend after one query: private {}, RSS {} — the floor of the backend \
             column.",
            human_kib(m.peak_anon_kib),
            human_kib(m.peak_rss_kib)
        );
    }
}

fn client_tables(out: &mut String, c: &ClientReport) {
    out.push_str(
        "\n### PostgreSQL: the Rust client (PgStore) against the same SQL on a raw connection\n\n\
         | call | path | how | median | vs raw | runs |\n|---|---|---|---:|---:|---:|\n",
    );
    for r in &c.calls {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.operation,
            r.variant,
            r.label,
            human_ms(r.summary.median_ms),
            ratio(Some(r.vs_raw)),
            r.summary.samples
        );
    }
    out.push_str(
        "\nvs raw = this median / the raw prepared statement's median (above 1: slower). \
         PgStore sends SQL text (parsed on every call, like *raw, unprepared*) and, with \
         pre-ping, checks the connection with an empty query before each call.\n",
    );
    out.push_str(
        "\n### PostgreSQL: threads sharing one pool against a raw connection each\n\n\
         | workload | path | calls | seconds | calls/s | vs raw |\n|---|---|---:|---:|---:|---:|\n",
    );
    for t in &c.throughput {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.0} | {} |",
            t.workload,
            t.path,
            t.calls,
            t.seconds,
            t.calls_per_second,
            ratio(Some(t.vs_raw))
        );
    }
}

/// Seconds for humans.
fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// 10000 → "10k", 10000000 → "10M": the size on a chart's axis.
fn short_jobs(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        thousands(n)
    }
}

fn sizes_list(sizes: &[usize]) -> String {
    if sizes.is_empty() {
        return "none".to_owned();
    }
    sizes
        .iter()
        .map(|&n| thousands(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a report written before the run's end says about itself.
fn partial_note(report: &Report) -> Option<String> {
    if report.complete {
        return None;
    }
    let done: Vec<usize> = report.sizes.iter().map(|s| s.jobs).collect();
    let done = format!(
        "sizes done: {} (of {} jobs)",
        sizes_list(&done),
        sizes_list(&report.sizes_planned)
    );
    Some(match &report.stopped_by {
        Some(e) => format!("**Partial report**: the run stopped at {e}; {done}."),
        None => format!(
            "**Partial report**, written after each size: {done}. If a complete report does not \
             replace it, the run was stopped before its end."
        ),
    })
}

/// Why SQLite has no rows at some sizes, as the end of a sentence.
fn sqlite_limit(report: &Report) -> String {
    match report.sqlite_max_size {
        Some(max) => format!(
            ": it is measured only at sizes up to {} jobs (`--sqlite-max-size`, `make bench \
             SQLITE_MAX_SIZE=…`)",
            thousands(max)
        ),
        None => String::new(),
    }
}

/// The name a row is matched by across sizes. A name that ends with the
/// dataset's size in parentheses ("cleanup (500 old of 10500 jobs)") changes
/// with the size, so it is matched by what precedes the parenthesis; names
/// with a fixed size in them ("status update, 10k jobs") stay as they are.
pub fn scale_key(operation: &str) -> &str {
    match operation.rfind(" (") {
        Some(i) if operation.ends_with(" jobs)") => &operation[..i],
        _ => operation,
    }
}

/// Which half of a size's per-call rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The size's rows, or None when this backend was not run there.
    fn rows(self, s: &SizeReport) -> Option<&[Row]> {
        match self {
            Backend::Postgres => Some(&s.postgres),
            Backend::Sqlite => s.sqlite_measured.then_some(&s.sqlite[..]),
        }
    }
}

/// The variants whose growth is followed: jobtrack's function and the plain
/// SQL written well.
const GROWTH_VARIANTS: [&str; 2] = ["jobtrack", "after"];

fn variant_name(variant: &str) -> &str {
    match variant {
        "after" => "plain SQL (after)",
        v => v,
    }
}

/// Each operation's median at every size of a run.
#[derive(Debug, Clone)]
pub struct Growth {
    /// Every size of the run, smallest first.
    pub sizes: Vec<usize>,
    /// Whether the backend was run at each of `sizes`.
    pub measured: Vec<bool>,
    pub rows: Vec<GrowthRow>,
}

/// One operation's variant across the sizes.
#[derive(Debug, Clone)]
pub struct GrowthRow {
    /// The name rows are matched by ([`scale_key`]).
    pub operation: String,
    /// The rows' own names where they differ from `operation`, smallest
    /// size first.
    pub names: Vec<String>,
    pub variant: String,
    /// The median at each of `Growth::sizes`, where there is one.
    pub medians: Vec<Option<f64>>,
    /// The median at the largest measured size / the median at the smallest
    /// (None with one measured size, or when either is missing).
    pub factor: Option<f64>,
}

impl Growth {
    fn first_measured(&self) -> Option<usize> {
        self.measured.iter().position(|m| *m)
    }

    fn last_measured(&self) -> Option<usize> {
        self.measured.iter().rposition(|m| *m)
    }
}

/// The growth of `backend`'s jobtrack and plain-SQL rows over the run's
/// sizes, rows matched by ([`scale_key`] of the operation, variant), in the
/// order the operations first appear.
pub fn growth(report: &Report, backend: Backend) -> Growth {
    let mut sizes: Vec<&SizeReport> = report.sizes.iter().collect();
    sizes.sort_by_key(|s| s.jobs);
    let measured: Vec<bool> = sizes.iter().map(|s| backend.rows(s).is_some()).collect();
    let mut keys: Vec<&str> = Vec::new();
    for s in &sizes {
        for r in backend.rows(s).unwrap_or_default() {
            let key = scale_key(&r.operation);
            if GROWTH_VARIANTS.contains(&r.variant.as_str()) && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let first = measured.iter().position(|m| *m);
    let last = measured.iter().rposition(|m| *m);
    let mut rows = Vec::new();
    for key in keys {
        for variant in GROWTH_VARIANTS {
            let found: Vec<Option<&Row>> = sizes
                .iter()
                .map(|s| {
                    backend
                        .rows(s)
                        .unwrap_or_default()
                        .iter()
                        .find(|r| r.variant == variant && scale_key(&r.operation) == key)
                })
                .collect();
            if found.iter().all(Option::is_none) {
                continue;
            }
            let medians: Vec<Option<f64>> = found
                .iter()
                .map(|r| {
                    r.map(|r| r.summary.median_ms)
                        .filter(|m| m.is_finite() && *m > 0.0)
                })
                .collect();
            let mut names: Vec<String> = Vec::new();
            for r in found.iter().flatten() {
                if r.operation != key && !names.contains(&r.operation) {
                    names.push(r.operation.clone());
                }
            }
            let factor = match (first, last) {
                (Some(f), Some(l)) if l > f => medians[f].zip(medians[l]).map(|(a, b)| b / a),
                _ => None,
            };
            rows.push(GrowthRow {
                operation: key.to_owned(),
                names,
                variant: variant.to_owned(),
                medians,
                factor,
            });
        }
    }
    Growth {
        sizes: sizes.iter().map(|s| s.jobs).collect(),
        measured,
        rows,
    }
}

fn growth_table(out: &mut String, g: &Growth, report: &Report) {
    let span = match (g.first_measured(), g.last_measured()) {
        (Some(f), Some(l)) if l > f => format!(
            "growth {} → {}",
            short_jobs(g.sizes[f]),
            short_jobs(g.sizes[l])
        ),
        _ => "growth".to_owned(),
    };
    out.push_str("| operation | variant |");
    for n in &g.sizes {
        let _ = write!(out, " {} jobs |", thousands(*n));
    }
    let _ = writeln!(out, " {span} |");
    out.push_str("|---|---|");
    for _ in &g.sizes {
        out.push_str("---:|");
    }
    out.push_str("---:|\n");
    for r in &g.rows {
        let _ = write!(out, "| {} | {} |", r.operation, variant_name(&r.variant));
        for (m, measured) in r.medians.iter().zip(&g.measured) {
            let cell = match (m, measured) {
                (_, false) => "not run".to_owned(),
                (None, true) => "—".to_owned(),
                (Some(m), true) => human_ms(*m),
            };
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out, " {} |", ratio(r.factor));
    }
    let mut explained: Vec<&str> = Vec::new();
    for r in &g.rows {
        if !r.names.is_empty() && !explained.contains(&r.operation.as_str()) {
            explained.push(&r.operation);
            let _ = writeln!(
                out,
                "\n*{}*: the row's name carries the size, and is matched across sizes \
                 without it: {}.",
                r.operation,
                r.names.join(", ")
            );
        }
    }
    if g.measured.iter().any(|m| !m) {
        let _ = writeln!(
            out,
            "\n*not run*: SQLite was not run at that size{}.",
            sqlite_limit(report)
        );
    }
}

/// How each operation's time per call grows from the smallest size of the
/// run to the largest: a table per backend, and the scaling chart.
fn growth_section(out: &mut String, report: &Report) {
    if report.sizes.is_empty() {
        return;
    }
    out.push_str(
        "## How cost grows with size\n\n\
         ![Median time per call of each operation at each size](scaling.svg)\n\n\
         Median time per call of jobtrack's function and of the plain SQL written well \
         (*after*) at each size of the run; **growth** = the median at the largest size / the \
         median at the smallest (1.00× = flat). scaling.svg draws the PostgreSQL table; \
         chart.svg the ratios against the original design at the largest size.\n\n",
    );
    for (title, backend) in [
        ("PostgreSQL", Backend::Postgres),
        ("SQLite", Backend::Sqlite),
    ] {
        let g = growth(report, backend);
        let _ = writeln!(out, "### {title}\n");
        if g.first_measured().is_none() {
            let _ = writeln!(
                out,
                "{title} was not run at any size of this run{}.\n",
                sqlite_limit(report)
            );
            continue;
        }
        growth_table(out, &g, report);
        out.push('\n');
    }
}

/// The Markdown report.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("# jobtrack benchmarks\n\n");
    let _ = writeln!(
        out,
        "Generated {} by `make bench`{}.\n\nMachine: {}.\n",
        report.generated_at,
        if report.smoke { " (smoke run)" } else { "" },
        machine_line(&report.machine)
    );
    if let Some(note) = partial_note(report) {
        let _ = writeln!(out, "{note}\n");
    }
    out.push_str(
        "Ratios: **vs before** = before's median / this median (how many times faster than the \
         original design), **vs after** = the same against plain SQL written well. Medians of \
         repeated runs after warm-up.\n\n",
    );
    for n in &report.notes {
        let _ = writeln!(out, "- {n}");
    }
    out.push('\n');
    counters_summary(&mut out, report);
    retention_summary(&mut out, report);
    export_summary(&mut out, report);
    growth_section(&mut out, report);
    for s in &report.sizes {
        let _ = writeln!(
            out,
            "## {} jobs ({} executions, {} variations)\n",
            thousands(s.jobs),
            thousands(s.executions),
            thousands(s.variations)
        );
        if !s.phases.is_empty() {
            let total: f64 = s.phases.iter().map(|p| p.seconds).sum();
            let parts: Vec<String> = s
                .phases
                .iter()
                .map(|p| format!("{} {}", p.name, seconds(p.seconds)))
                .collect();
            let _ = writeln!(
                out,
                "Time at this size: {} ({}).\n",
                seconds(total),
                parts.join(", ")
            );
        }
        out.push_str(
            "### PostgreSQL: one call from a client (one connection, Unix socket, prepared \
             statements)\n\n",
        );
        rows_table(&mut out, &s.postgres, "SELECT 1");
        out.push_str(
            "\n### PostgreSQL: throughput under concurrency (pgbench, prepared protocol)\n\n\
             | workload | clients | TPS | vs SELECT 1 |\n|---|---:|---:|---:|\n",
        );
        for t in &s.pgbench {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} |",
                t.workload,
                t.clients,
                t.tps,
                ratio(t.vs_select1)
            );
        }
        let against_floor: Vec<String> = crate::pgbench::CLIENTS
            .into_iter()
            .filter_map(|clients| {
                let tps = |workload: &str| {
                    s.pgbench
                        .iter()
                        .find(|t| t.workload == workload && t.clients == clients)
                        .map(|t| t.tps)
                };
                let (hit, floor) = (
                    tps(crate::pgbench::STATISTICS_CACHED)?,
                    tps(crate::pgbench::JSONB_CONSTANT)?,
                );
                Some(format!("{} at {clients}", ratio(Some(hit / floor))))
            })
            .collect();
        if !against_floor.is_empty() {
            let _ = writeln!(
                out,
                "\n*{}*: `SELECT '<the statistics>'::jsonb`, prepared — what any function returning \
                 this result as jsonb pays besides its own work: the server writes the value out \
                 as text (`jsonb_out`). Cached statistics / that constant, by clients: {}. The \
                 workloads of one client count run one after another.",
                crate::pgbench::JSONB_CONSTANT,
                against_floor.join(", ")
            );
        }
        out.push_str(
            "\n### PostgreSQL: write cost of the indexes and the summary maintenance\n\n\
             | status updates | table | median | jobs/s | cost vs primary key only |\n\
             |---|---|---:|---:|---:|\n",
        );
        for w in &s.write_cost {
            let _ = writeln!(
                out,
                "| {} of {} jobs | {} | {} | {:.0} | {} |",
                w.update,
                thousands(w.jobs),
                w.table,
                human_ms(w.summary.median_ms),
                w.jobs_per_second,
                ratio(Some(w.cost_vs_pk_only))
            );
        }
        out.push_str(
            "\n### PostgreSQL: 4 concurrent writers on one dataset (pgbench, one status change \
             per transaction)\n\n\
             | variant | clients | TPS | vs without counters |\n|---|---:|---:|---:|\n",
        );
        for r in &s.counter_writers {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} |",
                r.variant,
                r.clients,
                r.tps,
                ratio(Some(r.vs_without_counters))
            );
        }
        retention_table(&mut out, &s.retention);
        export_table(&mut out, &s.export);
        client_tables(&mut out, &s.client);
        out.push_str("\n### SQLite: one call in process (JobStore on a WAL file)\n\n");
        if s.sqlite_measured {
            rows_table(&mut out, &s.sqlite, "HashMap lookup");
        } else {
            let _ = writeln!(
                out,
                "SQLite was not run at this size{}.",
                sqlite_limit(report)
            );
        }
        if s.mismatches.is_empty() {
            out.push_str(
                "\nAll variants of each operation gave the same answer (reads: counts, job ids \
                 and their order; writes: jobs changed, created, left after cleanup), and both \
                 ways of deleting old jobs deleted exactly the jobs that qualify, every writer \
                 call changed at least its active jobs and verify_statistics() was empty \
                 afterwards; every export wrote each job once, in the order created_at, job_id, \
                 with the export's columns.\n\n",
            );
        } else {
            out.push_str("\n**Answers that differ between variants:**\n\n");
            for m in &s.mismatches {
                let _ = writeln!(out, "- {m}");
            }
            out.push('\n');
        }
    }
    out
}

const COLORS: [(&str, &str); 4] = [
    ("after", "#9e9e9e"),
    ("jobtrack", "#1f77b4"),
    ("cached", "#2ca02c"),
    ("ceiling", "#ff7f0e"),
];

/// The chart: per operation, how many times faster than the original design
/// each variant is (log scale), PostgreSQL and SQLite at the largest size.
pub fn svg(report: &Report) -> String {
    let Some(size) = report.sizes.iter().max_by_key(|s| s.jobs) else {
        return String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    };
    // SQLite may not have been run at the largest size (--sqlite-max-size):
    // its panel shows the largest size it was run at, and says so.
    let sqlite_size = report
        .sizes
        .iter()
        .filter(|s| s.sqlite_measured)
        .max_by_key(|s| s.jobs);
    let sqlite_title = match sqlite_size {
        Some(s) if s.jobs == size.jobs => "SQLite (in process)".to_owned(),
        Some(s) => format!(
            "SQLite (in process) at {} jobs: not run at larger sizes",
            thousands(s.jobs)
        ),
        None => "SQLite (in process): not run at any size of this run".to_owned(),
    };
    let panels: [(String, &[Row], &str); 2] = [
        (
            "PostgreSQL (client, one connection)".to_owned(),
            &size.postgres,
            "SELECT 1",
        ),
        (
            sqlite_title,
            sqlite_size.map_or(&[][..], |s| &s.sqlite[..]),
            "HashMap lookup",
        ),
    ];
    let label_w = 190.0;
    let plot_w = 560.0;
    let bar_h = 9.0;
    let width = label_w + plot_w + 30.0;
    // Decades on the axis: from 0.1× to the largest ratio.
    let max_ratio = panels
        .iter()
        .flat_map(|p| p.1.iter())
        .filter_map(|r| r.vs_before)
        .fold(10.0f64, f64::max);
    let decades = max_ratio.log10().ceil().max(1.0) + 1.0;
    let x = |r: f64| label_w + (r.max(0.1).log10() + 1.0) / decades * plot_w;
    let mut body = String::new();
    let mut y = 56.0;
    for (title, rows, ceiling) in panels {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-size="14" font-weight="bold">{}</text>"#,
            xml(&title)
        );
        if rows.is_empty() {
            y += 30.0;
            continue;
        }
        y += 10.0;
        let top = y;
        let mut ops: Vec<&str> = Vec::new();
        for r in rows {
            if !ops.contains(&r.operation.as_str()) {
                ops.push(&r.operation);
            }
        }
        for op in ops {
            let bars: Vec<&Row> = rows
                .iter()
                .filter(|r| r.operation == op && r.variant != "before")
                .collect();
            let group_h = bars.len() as f64 * (bar_h + 2.0) + 8.0;
            let _ = writeln!(
                body,
                r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
                label_w - 8.0,
                y + group_h / 2.0,
                xml(op)
            );
            let mut by = y + 4.0;
            for r in bars {
                let Some(v) = r.vs_before else { continue };
                let color = COLORS
                    .iter()
                    .find(|c| c.0 == r.variant)
                    .map_or("#000", |c| c.1);
                let x0 = x(1.0);
                let x1 = x(v);
                let (left, w) = if x1 >= x0 {
                    (x0, x1 - x0)
                } else {
                    (x1, x0 - x1)
                };
                let _ = writeln!(
                    body,
                    r#"<rect x="{left:.1}" y="{by:.1}" width="{:.1}" height="{bar_h}" fill="{color}"><title>{}: {} ({} vs before)</title></rect>"#,
                    w.max(1.0),
                    xml(if r.variant == "ceiling" {
                        ceiling
                    } else {
                        &r.variant
                    }),
                    human_ms(r.summary.median_ms),
                    ratio(Some(v))
                );
                let _ = writeln!(
                    body,
                    r#"<text x="{:.1}" y="{:.1}" font-size="9">{}</text>"#,
                    left + w.max(1.0) + 3.0,
                    by + bar_h - 1.0,
                    ratio(Some(v))
                );
                by += bar_h + 2.0;
            }
            y += group_h;
        }
        // Axis: one line per decade.
        for d in 0..=(decades as i32) {
            let r = 10f64.powi(d - 1);
            let xd = x(r);
            let _ = writeln!(
                body,
                r##"<line x1="{xd:.1}" y1="{top}" x2="{xd:.1}" y2="{y}" stroke="#ccc" stroke-width="{}"/>"##,
                if d == 1 { 1.5 } else { 0.5 }
            );
            let _ = writeln!(
                body,
                r#"<text x="{xd:.1}" y="{}" font-size="10" text-anchor="middle">{}×</text>"#,
                y + 12.0,
                if r < 1.0 {
                    "0.1".to_owned()
                } else {
                    format!("{r:.0}")
                }
            );
        }
        y += 36.0;
    }
    // Legend.
    let mut legend = String::new();
    let names = [
        ("after", "plain SQL, optimised"),
        ("jobtrack", "jobtrack function"),
        ("cached", "jobtrack *_cached"),
        ("ceiling", "SELECT 1 / HashMap (ceiling)"),
    ];
    let mut lx = 10.0;
    for (variant, name) in names {
        let color = COLORS
            .iter()
            .find(|c| c.0 == variant)
            .map_or("#000", |c| c.1);
        let _ = writeln!(
            legend,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11">{name}</text>"#,
            y - 6.0,
            lx + 14.0,
            y + 3.0
        );
        lx += 28.0 + name.len() as f64 * 6.0;
    }
    y += 30.0;
    client_panel(&mut legend, &size.client, &mut y, label_w, plot_w);
    let height = y + 20.0;
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="15" font-weight="bold">jobtrack: times faster than the original design ({} jobs, log scale){}</text>
<text x="10" y="38" font-size="11">{}</text>
{body}{legend}</svg>
"#,
        thousands(size.jobs),
        partial_title(report),
        xml(&machine_line(&report.machine))
    )
}

/// Marks a chart drawn before the run's end.
fn partial_title(report: &Report) -> String {
    if report.complete {
        String::new()
    } else {
        format!(
            " — partial: {} of {} sizes",
            report.sizes.len(),
            report.sizes_planned.len()
        )
    }
}

/// A power of ten of milliseconds as an axis label: 10 µs, 1 ms, 10 s.
fn decade_label(d: i32) -> String {
    let (value, unit) = if d < -3 {
        (10f64.powi(d + 6), "ns")
    } else if d < 0 {
        (10f64.powi(d + 3), "µs")
    } else if d < 3 {
        (10f64.powi(d), "ms")
    } else {
        (10f64.powi(d - 3), "s")
    };
    format!("{value} {unit}")
}

/// The scaling chart: per PostgreSQL operation, the median time per call of
/// jobtrack's function and of the plain SQL (after) at each size of the
/// run, one small panel each, log size against log time, every panel on the
/// same time axis. A flat line is a cost that does not grow with the data.
pub fn scaling_svg(report: &Report) -> String {
    const JOBTRACK: &str = "#1f77b4";
    const AFTER: &str = "#9e9e9e";
    let g = growth(report, Backend::Postgres);
    let mut ops: Vec<&str> = Vec::new();
    for r in &g.rows {
        if !ops.contains(&r.operation.as_str()) {
            ops.push(&r.operation);
        }
    }
    let values: Vec<f64> = g
        .rows
        .iter()
        .flat_map(|r| r.medians.iter().flatten().copied())
        .collect();
    let (Some(min), Some(max)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    };
    let lo = min.log10().floor() as i32;
    let hi = (max.log10().ceil() as i32).max(lo + 1);
    let (cols, pw, ph) = (4usize, 220.0, 200.0);
    let cols = cols.min(ops.len());
    let rows_n = ops.len().div_ceil(cols);
    // Wide enough for the legend however few panels there are.
    let width = (cols as f64 * pw + 20.0).max(820.0);
    let top0 = 80.0;
    let height = top0 + rows_n as f64 * ph + 10.0;
    let log_sizes: Vec<f64> = g.sizes.iter().map(|&n| (n as f64).log10()).collect();
    let (xmin, xmax) = (
        log_sizes.iter().copied().fold(f64::INFINITY, f64::min),
        log_sizes.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let mut body = String::new();
    for (i, op) in ops.iter().enumerate() {
        let px = 10.0 + (i % cols) as f64 * pw;
        let py = top0 + (i / cols) as f64 * ph;
        let (left, right) = (px + 52.0, px + pw - 18.0);
        let (top, bottom) = (py + 38.0, py + ph - 28.0);
        let x = |k: usize| {
            if xmax > xmin {
                left + (log_sizes[k] - xmin) / (xmax - xmin) * (right - left)
            } else {
                (left + right) / 2.0
            }
        };
        // Room above the top decade and below the bottom one for the
        // labels of points that lie on them.
        let (y_top, y_bottom) = (top + 12.0, bottom - 12.0);
        let y = |ms: f64| {
            y_bottom - (ms.log10() - f64::from(lo)) / f64::from(hi - lo) * (y_bottom - y_top)
        };
        let rows: Vec<&GrowthRow> = g.rows.iter().filter(|r| r.operation == *op).collect();
        let factors: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                r.factor.map(|f| {
                    let who = if r.variant == "jobtrack" {
                        "jobtrack"
                    } else {
                        "plain SQL"
                    };
                    format!("{who} {}", ratio(Some(f)))
                })
            })
            .collect();
        let _ = writeln!(
            body,
            r#"<text x="{px}" y="{}" font-size="12" font-weight="bold">{}</text>"#,
            py + 14.0,
            xml(op)
        );
        let _ = writeln!(
            body,
            r#"<text x="{px}" y="{}" font-size="10">{}</text>"#,
            py + 28.0,
            if factors.is_empty() {
                "one size: no growth".to_owned()
            } else {
                format!("growth: {}", factors.join(", "))
            }
        );
        for d in lo..=hi {
            let yd = y(10f64.powi(d));
            let _ = writeln!(
                body,
                r##"<line x1="{left}" y1="{yd:.1}" x2="{right}" y2="{yd:.1}" stroke="#ddd" stroke-width="0.5"/>"##
            );
            let _ = writeln!(
                body,
                r#"<text x="{}" y="{:.1}" font-size="9" text-anchor="end">{}</text>"#,
                left - 4.0,
                yd + 3.0,
                decade_label(d)
            );
        }
        for (k, n) in g.sizes.iter().enumerate() {
            let xk = x(k);
            let _ = writeln!(
                body,
                r##"<line x1="{xk:.1}" y1="{top}" x2="{xk:.1}" y2="{bottom}" stroke="#eee" stroke-width="0.5"/>"##
            );
            let _ = writeln!(
                body,
                r#"<text x="{xk:.1}" y="{}" font-size="9" text-anchor="middle">{}</text>"#,
                bottom + 12.0,
                short_jobs(*n)
            );
        }
        // Plain SQL first, so that jobtrack's line is drawn over it.
        for r in rows.iter().rev() {
            let color = if r.variant == "jobtrack" {
                JOBTRACK
            } else {
                AFTER
            };
            let points: Vec<(f64, f64, usize, f64)> = r
                .medians
                .iter()
                .enumerate()
                .filter_map(|(k, m)| m.map(|m| (x(k), y(m), k, m)))
                .collect();
            if points.len() > 1 {
                let path: Vec<String> = points
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", p.0, p.1))
                    .collect();
                let _ = writeln!(
                    body,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                    path.join(" ")
                );
            }
            for (px_, py_, k, m) in &points {
                let _ = writeln!(
                    body,
                    r#"<circle cx="{px_:.1}" cy="{py_:.1}" r="3" fill="{color}"><title>{} at {} jobs: {}</title></circle>"#,
                    xml(variant_name(&r.variant)),
                    thousands(g.sizes[*k]),
                    human_ms(*m)
                );
            }
            // The times at the ends of the line, on the side away from the
            // other variant's point at that size, so that two close lines do
            // not print over each other.
            let ends = match (points.first(), points.last()) {
                (Some(a), Some(b)) if points.len() > 1 => vec![(a, "start"), (b, "end")],
                (Some(a), _) => vec![(a, "middle")],
                _ => Vec::new(),
            };
            for (p, anchor) in ends {
                let other = rows
                    .iter()
                    .find(|o| o.variant != r.variant)
                    .and_then(|o| o.medians[p.2]);
                let above = match other {
                    Some(o) if o != p.3 => p.3 > o,
                    _ => r.variant == "jobtrack",
                };
                let _ = writeln!(
                    body,
                    r#"<text x="{:.1}" y="{:.1}" font-size="8" fill="{color}" text-anchor="{anchor}">{}</text>"#,
                    p.0,
                    p.1 + if above { -6.0 } else { 12.0 },
                    human_ms(p.3)
                );
            }
        }
    }
    let mut legend = String::new();
    let mut lx = 10.0;
    for (color, name) in [
        (JOBTRACK, "jobtrack function"),
        (AFTER, "plain SQL, optimised (after)"),
    ] {
        let _ = writeln!(
            legend,
            r#"<rect x="{lx}" y="50" width="10" height="10" fill="{color}"/><text x="{}" y="59" font-size="11">{name}</text>"#,
            lx + 14.0
        );
        lx += 28.0 + name.len() as f64 * 6.0;
    }
    let _ = writeln!(
        legend,
        r#"<text x="{lx}" y="59" font-size="11">x: jobs (log scale); y: median time per call (log scale, the same in every panel)</text>"#
    );
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="15" font-weight="bold">jobtrack (PostgreSQL): time per call {}{}</text>
<text x="10" y="38" font-size="11">{}</text>
{legend}{body}</svg>
"#,
        match (g.sizes.first(), g.sizes.last()) {
            (Some(a), Some(b)) if a != b =>
                format!("from {} to {} jobs", thousands(*a), thousands(*b)),
            (Some(a), _) => format!("at {} jobs", thousands(*a)),
            _ => String::new(),
        },
        partial_title(report),
        xml(&machine_line(&report.machine))
    )
}

/// The Rust client's panel: each path's time per call and the pooled
/// threads' throughput as multiples of the raw connection's (linear scale,
/// a line at 1×).
fn client_panel(body: &mut String, c: &ClientReport, y: &mut f64, label_w: f64, plot_w: f64) {
    const CLIENT_COLORS: [(&str, &str); 3] = [
        ("raw, unprepared", "#9e9e9e"),
        ("client", "#1f77b4"),
        ("client, no pre-ping", "#2ca02c"),
    ];
    let bar_h = 9.0;
    let max = c
        .calls
        .iter()
        .map(|r| r.vs_raw)
        .chain(c.throughput.iter().map(|t| t.vs_raw))
        .filter(|r| r.is_finite())
        .fold(2.0f64, f64::max)
        .ceil();
    let x = |r: f64| label_w + r.clamp(0.0, max) / max * plot_w;
    let _ = writeln!(
        body,
        r#"<text x="10" y="{y}" font-size="14" font-weight="bold">Rust client (PgStore): time per call, × one raw connection (lower is better)</text>"#
    );
    *y += 10.0;
    let top = *y;
    let mut ops: Vec<&str> = Vec::new();
    for r in &c.calls {
        if !ops.contains(&r.operation.as_str()) {
            ops.push(&r.operation);
        }
    }
    let bar = |body: &mut String, by: f64, v: f64, color: &str, title: &str| {
        let _ = writeln!(
            body,
            r#"<rect x="{label_w}" y="{by:.1}" width="{:.1}" height="{bar_h}" fill="{color}"><title>{}</title></rect>"#,
            (x(v) - label_w).max(1.0),
            xml(title)
        );
        let _ = writeln!(
            body,
            r#"<text x="{:.1}" y="{:.1}" font-size="9">{}</text>"#,
            x(v) + 3.0,
            by + bar_h - 1.0,
            ratio(Some(v))
        );
    };
    for op in ops {
        let rows: Vec<&CallRow> = c
            .calls
            .iter()
            .filter(|r| r.operation == op && r.variant != "raw")
            .collect();
        let group_h = rows.len() as f64 * (bar_h + 2.0) + 8.0;
        // The function's name only: the arguments would not fit.
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            *y + group_h / 2.0,
            xml(op.split('(').next().unwrap_or(op))
        );
        let mut by = *y + 4.0;
        for r in rows {
            let color = CLIENT_COLORS
                .iter()
                .find(|c| c.0 == r.variant)
                .map_or("#000", |c| c.1);
            let title = format!("{}: {}", r.variant, human_ms(r.summary.median_ms));
            bar(body, by, r.vs_raw, color, &title);
            by += bar_h + 2.0;
        }
        *y += group_h;
    }
    let _ = writeln!(
        body,
        r#"<text x="10" y="{:.1}" font-size="14" font-weight="bold">{} threads: calls/s, × a raw connection per thread (higher is better)</text>"#,
        *y + 24.0,
        c.throughput.first().map_or(0, |t| t.threads)
    );
    *y += 34.0;
    let mut loads: Vec<&str> = Vec::new();
    for t in &c.throughput {
        if !loads.contains(&t.workload.as_str()) {
            loads.push(&t.workload);
        }
    }
    for load in loads {
        let runs: Vec<&PoolThroughput> = c
            .throughput
            .iter()
            .filter(|t| t.workload == load && t.path.contains("PgStore"))
            .collect();
        let group_h = runs.len() as f64 * (bar_h + 2.0) + 8.0;
        let short: String = load.split(':').next().unwrap_or(load).to_owned();
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            *y + group_h / 2.0,
            xml(&short)
        );
        let mut by = *y + 4.0;
        for t in runs {
            let color = if t.path.contains("no pre-ping") {
                "#2ca02c"
            } else {
                "#1f77b4"
            };
            let title = format!("{}: {:.0} calls/s", t.path, t.calls_per_second);
            bar(body, by, t.vs_raw, color, &title);
            by += bar_h + 2.0;
        }
        *y += group_h;
    }
    for d in 0..=(max as i32) {
        let xd = x(f64::from(d));
        let _ = writeln!(
            body,
            r##"<line x1="{xd:.1}" y1="{top}" x2="{xd:.1}" y2="{}" stroke="#ccc" stroke-width="{}"/>"##,
            *y,
            if d == 1 { 1.5 } else { 0.5 }
        );
        let _ = writeln!(
            body,
            r#"<text x="{xd:.1}" y="{}" font-size="10" text-anchor="middle">{d}×</text>"#,
            *y + 12.0
        );
    }
    *y += 30.0;
    let mut lx = 10.0;
    for (variant, color) in CLIENT_COLORS {
        let name = match variant {
            "raw, unprepared" => "raw connection, SQL text each call",
            "client" => "PgStore, pre-ping on",
            _ => "PgStore, pre-ping off",
        };
        let _ = writeln!(
            body,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11">{name}</text>"#,
            *y - 6.0,
            lx + 14.0,
            *y + 3.0
        );
        lx += 28.0 + name.len() as f64 * 6.0;
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(op: &str, variant: &str, ms: f64) -> Row {
        Row {
            operation: op.into(),
            variant: variant.into(),
            label: String::new(),
            summary: Summary {
                median_ms: ms,
                min_ms: ms,
                max_ms: ms,
                samples: 1,
            },
            vs_before: None,
            vs_after: None,
        }
    }

    /// One size's report: `sqlite` None when SQLite was not run there.
    fn size(jobs: usize, postgres: Vec<Row>, sqlite: Option<Vec<Row>>) -> SizeReport {
        SizeReport {
            jobs,
            executions: jobs * 3 / 5,
            variations: jobs * 2 / 5,
            postgres,
            pgbench: Vec::new(),
            write_cost: Vec::new(),
            counter_writers: Vec::new(),
            client: ClientReport {
                calls: Vec::new(),
                throughput: Vec::new(),
            },
            retention: retention(jobs),
            export: export(jobs, sqlite.is_some()),
            sqlite_measured: sqlite.is_some(),
            sqlite: sqlite.unwrap_or_default(),
            mismatches: Vec::new(),
            phases: vec![
                Phase {
                    name: "generating".into(),
                    seconds: 1.25,
                },
                Phase {
                    name: "PostgreSQL: load".into(),
                    seconds: 42.0,
                },
            ],
        }
    }

    fn latency(calls: usize, median_ms: f64, p99_ms: f64, max_ms: f64) -> Latency {
        Latency {
            calls,
            median_ms: Some(median_ms),
            p99_ms: Some(p99_ms),
            max_ms: Some(max_ms),
        }
    }

    /// A retention section as a run at `jobs` would measure it: 80 % of
    /// the jobs deleted, writers blocked for the whole transaction and for
    /// about one batch.
    fn retention(jobs: usize) -> RetentionReport {
        let f = jobs as f64 / 10_000.0;
        let qualifying = jobs * 4 / 5;
        RetentionReport {
            jobs,
            qualifying,
            active: jobs / 20,
            days: 30,
            batch_size: 10_000,
            writers: 2,
            jobs_per_call: 100,
            pause_ms: 5.0,
            alone: latency(400, 2.0, 4.0, 6.0),
            runs: vec![
                RetentionRun {
                    variant: "one transaction".into(),
                    call: "cleanup_old_jobs(30, true)".into(),
                    duration_ms: 500.0 * f,
                    jobs_deleted: qualifying as i64,
                    batches: 1,
                    longest_batch_ms: 495.0 * f,
                    writers: latency(4, 250.0 * f, 480.0 * f, 490.0 * f),
                    longest_wait_vs_batch: Some(490.0 / 495.0),
                },
                RetentionRun {
                    variant: "batches".into(),
                    call: "CALL prune_jobs(30, true, 10000)".into(),
                    duration_ms: 600.0 * f,
                    jobs_deleted: qualifying as i64,
                    batches: (qualifying / 10_000 + 1) as i64,
                    longest_batch_ms: 70.0,
                    writers: latency(300, 3.0, 60.0, 72.0),
                    longest_wait_vs_batch: Some(72.0 / 70.0),
                },
            ],
            longest_wait_ratio: Some(490.0 * f / 72.0),
        }
    }

    fn memory(rss: u64, anon: u64) -> Option<Memory> {
        Some(Memory {
            peak_rss_kib: rss,
            peak_anon_kib: anon,
            samples: 10,
        })
    }

    /// An export section as a run at `jobs` would measure it: 10 µs a job
    /// for the CLI, 8 µs for the plain SQL; flat client and private
    /// memory, a backend RSS that grows with the shared buffers read
    /// until 128 MiB.
    fn export(jobs: usize, sqlite: bool) -> ExportReport {
        let shared = (jobs as u64 / 10).min(131_072);
        let run = |backend: &str, variant: &str, format: &str, ms: f64, client, server| ExportRun {
            backend: backend.into(),
            variant: variant.into(),
            format: format.into(),
            how: format!("{variant} {format}"),
            rows: jobs as u64,
            bytes: jobs as u64 * 700,
            summary: row("", "", ms).summary,
            rows_per_second: jobs as f64 / (ms / 1e3),
            client,
            server,
            vs_plain: None,
        };
        let t = jobs as f64 / 100.0;
        let mut runs = vec![
            run(
                "PostgreSQL",
                "jobtrack",
                "jsonl",
                t,
                memory(9_216, 3_000),
                memory(20_000 + shared, 2_048),
            ),
            run(
                "PostgreSQL",
                "plain SQL",
                "jsonl",
                0.8 * t,
                memory(6_144, 1_000),
                memory(16_000 + shared, 4_608),
            ),
            run(
                "PostgreSQL",
                "jobtrack",
                "csv",
                1.2 * t,
                memory(9_216, 3_000),
                None,
            ),
            run(
                "PostgreSQL",
                "plain SQL",
                "csv",
                0.6 * t,
                memory(6_144, 1_000),
                memory(16_000 + shared, 4_608),
            ),
        ];
        if sqlite {
            runs.push(run(
                "SQLite",
                "jobtrack",
                "jsonl",
                2.0 * t,
                memory(12_288, 5_000),
                None,
            ));
            runs.push(run(
                "SQLite",
                "plain SQL",
                "jsonl",
                t,
                memory(8_192, 2_000),
                None,
            ));
        }
        crate::export::add_ratios(&mut runs);
        ExportReport {
            jobs,
            runs,
            idle_backend: memory(14_000, 700),
        }
    }

    /// A complete run of `sizes`.
    fn report(sizes: Vec<SizeReport>, sqlite_max_size: Option<usize>) -> Report {
        Report {
            generated_at: String::new(),
            machine: Machine {
                cpus: 2,
                cpu_model: String::new(),
                memory_gib: 1.0,
                kernel: String::new(),
                postgres_version: String::new(),
                sqlite_version: String::new(),
            },
            smoke: true,
            notes: Vec::new(),
            sizes_planned: sizes.iter().map(|s| s.jobs).collect(),
            sqlite_max_size,
            complete: true,
            stopped_by: None,
            sizes,
        }
    }

    /// PostgreSQL rows as a run would measure them at `jobs`: statistics
    /// flat for jobtrack and linear for plain SQL, and a cleanup whose name
    /// carries the size.
    fn pg_rows(jobs: usize) -> Vec<Row> {
        let f = jobs as f64 / 10_000.0;
        let cleanup = format!("cleanup ({} old of {} jobs)", jobs / 20, jobs + jobs / 20);
        let mut rows = vec![
            row("statistics", "before", 6.0 * f),
            row("statistics", "after", 5.0 * f),
            row("statistics", "jobtrack", 0.25),
            row("statistics", "cached", 0.04),
            row(&cleanup, "after", 4.0 * f),
            row(&cleanup, "jobtrack", 2.0 * f),
        ];
        // Measured only at the smallest size, as an operation a later
        // version of the bench might drop.
        if jobs == 10_000 {
            rows.push(row("status update, 10k jobs", "jobtrack", 600.0));
        }
        rows
    }

    #[test]
    fn scale_keys_drop_only_a_size_in_parentheses() {
        assert_eq!(scale_key("cleanup (500 old of 10500 jobs)"), "cleanup");
        assert_eq!(scale_key("all jobs (100)"), "all jobs (100)");
        assert_eq!(
            scale_key("running jobs, a page (100)"),
            "running jobs, a page (100)"
        );
        assert_eq!(
            scale_key("status update, 10k jobs"),
            "status update, 10k jobs"
        );
        assert_eq!(short_jobs(10_000_000), "10M");
        assert_eq!(short_jobs(10_000), "10k");
        assert_eq!(short_jobs(1_500), "1,500");
        assert_eq!(decade_label(-2), "10 µs");
        assert_eq!(decade_label(4), "10 s");
    }

    #[test]
    fn growth_table_matches_rows_across_sizes() {
        // Given out of order: the table sorts the sizes.
        let report = report(
            vec![
                size(1_000_000, pg_rows(1_000_000), Some(Vec::new())),
                size(10_000, pg_rows(10_000), Some(Vec::new())),
                size(10_000_000, pg_rows(10_000_000), Some(Vec::new())),
            ],
            None,
        );
        let g = growth(&report, Backend::Postgres);
        assert_eq!(g.sizes, vec![10_000, 1_000_000, 10_000_000]);
        let keys: Vec<(&str, &str)> = g
            .rows
            .iter()
            .map(|r| (r.operation.as_str(), r.variant.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("statistics", "jobtrack"),
                ("statistics", "after"),
                ("cleanup", "jobtrack"),
                ("cleanup", "after"),
                ("status update, 10k jobs", "jobtrack"),
            ]
        );
        assert_eq!(g.rows[0].factor, Some(1.0));
        assert_eq!(g.rows[1].factor, Some(1000.0));
        assert_eq!(
            g.rows[2].medians,
            vec![Some(2.0), Some(200.0), Some(2000.0)]
        );
        assert_eq!(g.rows[2].names.len(), 3);
        assert_eq!(g.rows[4].medians, vec![Some(600.0), None, None]);
        assert_eq!(g.rows[4].factor, None);

        let md = markdown(&report);
        assert!(md.contains(
            "| operation | variant | 10,000 jobs | 1,000,000 jobs | 10,000,000 jobs | \
             growth 10k → 10M |\n|---|---|---:|---:|---:|---:|\n\
             | statistics | jobtrack | 250.0 µs | 250.0 µs | 250.0 µs | 1.00× |\n\
             | statistics | plain SQL (after) | 5.00 ms | 500.00 ms | 5.00 s | 1000× |\n"
        ));
        assert!(md.contains("| cleanup | jobtrack | 2.00 ms | 200.00 ms | 2.00 s | 1000× |"));
        assert!(md.contains("| status update, 10k jobs | jobtrack | 600.00 ms | — | — | — |"));
        assert!(md.contains(
            "*cleanup*: the row's name carries the size, and is matched across sizes without it: \
             cleanup (500 old of 10500 jobs), cleanup (50000 old of 1050000 jobs), cleanup \
             (500000 old of 10500000 jobs)."
        ));
        assert!(md.contains("![Median time per call of each operation at each size](scaling.svg)"));
        assert!(md.contains("Time at this size: 43 s (generating 1.2 s, PostgreSQL: load 42 s)."));
        assert!(!md.contains("Partial report"));

        let chart = scaling_svg(&report);
        assert!(chart.contains("time per call from 10,000 to 10,000,000 jobs</text>"));
        assert!(chart.contains("growth: jobtrack 1.00×, plain SQL 1000×"));
        assert!(chart.contains("<title>plain SQL (after) at 10,000,000 jobs: 5.00 s</title>"));
        assert!(chart.contains(">status update, 10k jobs</text>"));
        assert!(chart.contains("one size: no growth"));
        // One line per variant of the five operation rows measured at more
        // than one size.
        assert_eq!(chart.matches("<polyline").count(), 4);
    }

    #[test]
    fn a_size_without_sqlite_says_so() {
        let sqlite = |jobs: usize| {
            let mut rows = vec![
                row("statistics", "before", 2.0),
                row("statistics", "after", 1.0 * jobs as f64 / 10_000.0),
                row("statistics", "jobtrack", 0.01),
            ];
            add_ratios(&mut rows);
            rows
        };
        let mut report = report(
            vec![
                size(10_000, pg_rows(10_000), Some(sqlite(10_000))),
                size(1_000_000, pg_rows(1_000_000), Some(sqlite(1_000_000))),
                size(10_000_000, pg_rows(10_000_000), None),
            ],
            Some(1_000_000),
        );
        let g = growth(&report, Backend::Sqlite);
        assert_eq!(g.measured, vec![true, true, false]);
        assert_eq!(g.rows[0].medians, vec![Some(0.01), Some(0.01), None]);
        // Growth over the sizes SQLite was run at.
        assert_eq!(g.rows[1].factor, Some(100.0));

        let md = markdown(&report);
        let largest = md
            .split("## 10,000,000 jobs")
            .nth(1)
            .expect("the largest size");
        let sqlite_part = largest
            .split("### SQLite: one call in process (JobStore on a WAL file)\n\n")
            .nth(1)
            .expect("its SQLite section");
        assert!(sqlite_part.starts_with(
            "SQLite was not run at this size: it is measured only at sizes up to 1,000,000 jobs"
        ));
        assert!(!sqlite_part.contains("| operation |"));
        // The smaller sizes keep their SQLite tables.
        let middle = md.split("## 1,000,000 jobs").nth(1).expect("1M");
        let middle = middle.split("## 10,000,000 jobs").next().expect("1M only");
        assert!(middle.contains("| statistics | jobtrack |  | 10.0 µs | 200× | 10000× | 1 |"));
        // The SQLite growth table: a cell that says so, growth to 1M.
        assert!(md.contains(
            "| operation | variant | 10,000 jobs | 1,000,000 jobs | 10,000,000 jobs | \
             growth 10k → 1M |"
        ));
        assert!(md
            .contains("| statistics | plain SQL (after) | 1.00 ms | 100.00 ms | not run | 100× |"));
        assert!(md.contains(
            "\n*not run*: SQLite was not run at that size: it is measured only at sizes up to \
             1,000,000 jobs"
        ));

        let chart = svg(&report);
        assert!(chart.contains("SQLite (in process) at 1,000,000 jobs: not run at larger sizes"));
        assert!(chart.contains("<title>jobtrack: 10.0 µs (200× vs before)</title>"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sizes"][2]["sqlite_measured"], false);
        assert_eq!(json["sqlite_max_size"], 1_000_000);

        // No SQLite at all: every rendering says so rather than drawing an
        // empty table.
        for s in &mut report.sizes {
            s.sqlite_measured = false;
            s.sqlite.clear();
        }
        report.sqlite_max_size = Some(0);
        let md = markdown(&report);
        assert!(md.contains(
            "### SQLite\n\nSQLite was not run at any size of this run: it is measured only at \
             sizes up to 0 jobs (`--sqlite-max-size`, `make bench SQLITE_MAX_SIZE=…`).\n"
        ));
        assert!(svg(&report).contains("SQLite (in process): not run at any size of this run"));
    }

    #[test]
    fn a_partial_report_names_the_sizes_done() {
        let mut report = report(vec![size(10_000, pg_rows(10_000), Some(Vec::new()))], None);
        report.sizes_planned = vec![10_000, 1_000_000, 10_000_000];
        report.complete = false;
        assert!(markdown(&report).contains(
            "**Partial report**, written after each size: sizes done: 10,000 (of 10,000, \
             1,000,000, 10,000,000 jobs)."
        ));
        assert!(scaling_svg(&report).contains(" — partial: 1 of 3 sizes</text>"));
        assert!(svg(&report).contains(" — partial: 1 of 3 sizes</text>"));
        report.stopped_by = Some("1,000,000 jobs: connection refused".into());
        assert!(markdown(&report).contains(
            "**Partial report**: the run stopped at 1,000,000 jobs: connection refused; sizes \
             done: 10,000 (of 10,000, 1,000,000, 10,000,000 jobs)."
        ));
        assert_eq!(serde_json::to_value(&report).unwrap()["complete"], false);
    }

    #[test]
    fn ratios_are_relative_to_before_and_after() {
        let mut rows = vec![
            row("statistics", "before", 10.0),
            row("statistics", "after", 4.0),
            row("statistics", "jobtrack", 0.5),
        ];
        add_ratios(&mut rows);
        assert_eq!(rows[2].vs_before, Some(20.0));
        assert_eq!(rows[2].vs_after, Some(8.0));
        assert_eq!(rows[0].vs_before, Some(1.0));
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(ratio(Some(2.0)), "2.00×");
    }

    #[test]
    fn the_client_section_is_in_every_rendering() {
        let call = |variant: &str, ms: f64| CallRow {
            operation: "get_statistics_cached()".into(),
            variant: variant.into(),
            label: String::new(),
            summary: row("", "", ms).summary,
            vs_raw: ms / 0.04,
        };
        let run = |path: &str, rate: f64| PoolThroughput {
            workload: "get_statistics_cached()".into(),
            path: path.into(),
            threads: 8,
            seconds: 5.0,
            calls: (rate * 5.0) as u64,
            calls_per_second: rate,
            vs_raw: rate / 30_000.0,
        };
        let mut size = size(500, Vec::new(), Some(Vec::new()));
        size.client = ClientReport {
            calls: vec![call("raw", 0.04), call("client", 0.06)],
            throughput: vec![
                run("8 threads, a raw connection each", 30_000.0),
                run("8 threads, one Arc<PgStore>", 12_000.0),
            ],
        };
        let report = report(vec![size], None);
        let md = markdown(&report);
        assert!(md.contains("| get_statistics_cached() | client |  | 60.0 µs | 1.50× | 1 |"));
        assert!(md.contains("| 8 threads, one Arc<PgStore> | 60000 | 5.0 | 12000 | 0.40× |"));
        let svg = svg(&report);
        assert!(svg.contains("Rust client (PgStore)"));
        assert!(svg.contains("<title>8 threads, one Arc&lt;PgStore&gt;: 12000 calls/s</title>"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sizes"][0]["client"]["calls"][1]["vs_raw"], 1.5);
    }

    #[test]
    fn the_retention_section_shows_waits_next_to_batches() {
        let report = report(
            vec![
                size(10_000, Vec::new(), Some(Vec::new())),
                size(1_000_000, Vec::new(), Some(Vec::new())),
            ],
            None,
        );
        let md = markdown(&report);
        assert!(md.contains(
            "## Bounded retention: writers while old jobs are deleted (PostgreSQL)\n\n\
             | jobs | jobs deleted | cleanup_old_jobs (one transaction) | its longest writer call \
             | prune_jobs | batches | longest batch | its longest writer call | longest writer \
             call, one transaction / batches |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | 10,000 | 8,000 | 500.00 ms | 490.00 ms | 600.00 ms | 1 | 70.00 ms | 72.00 ms | 6.81× |\n\
             | 1,000,000 | 800,000 | 50.00 s | 49.00 s | 60.00 s | 81 | 70.00 ms | 72.00 ms | 681× |\n"
        ));
        let large = md.split("## 1,000,000 jobs").nth(1).expect("the 1M size");
        assert!(large.contains(
            "### PostgreSQL: deleting old jobs while 2 writers run (bounded retention)\n\n\
             800,000 of 1,000,000 jobs qualify (done or cancelled, created more than 30 days ago; \
             50,000 jobs are active)."
        ));
        assert!(large.contains(
            "| writers alone | just before each deletion | — | — | — | — | 400 | 2.00 ms | 4.00 ms | \
             6.00 ms | — |\n\
             | one transaction | cleanup_old_jobs(30, true) | 50.00 s | 800,000 | 1 | 49.50 s | 4 \
             | 25.00 s | 48.00 s | 49.00 s | 0.99× |\n\
             | batches | CALL prune_jobs(30, true, 10000) | 60.00 s | 800,000 | 81 | 70.00 ms | \
             300 | 3.00 ms | 60.00 ms | 72.00 ms | 1.03× |\n"
        ));
        assert!(large.contains("Longest writer call, one transaction / batches: **681×**."));

        // No writer call during a deletion (a smoke run's prune can be that
        // short): dashes, not NaN.
        let mut quiet = retention(500);
        quiet.runs[1].writers = latency_none();
        quiet.runs[1].longest_wait_vs_batch = None;
        quiet.longest_wait_ratio = None;
        let mut out = String::new();
        retention_table(&mut out, &quiet);
        assert!(out.contains("| 0 | — | — | — | — |\n"), "{out}");
        assert!(out.contains("one transaction / batches: **—**."));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sizes"][1]["retention"]["runs"][1]["batches"], 81);
        assert!(serde_json::to_value(&quiet).unwrap()["runs"][1]["writers"]["max_ms"].is_null());
    }

    #[test]
    fn the_export_section_shows_time_and_memory_against_size() {
        let report = report(
            vec![
                size(10_000, Vec::new(), Some(Vec::new())),
                size(1_000_000, Vec::new(), Some(Vec::new())),
                size(10_000_000, Vec::new(), None),
            ],
            Some(1_000_000),
        );
        let md = markdown(&report);
        assert!(md.contains("## Export of every job in bounded memory (issue 15)\n\n"));
        assert!(md.contains(
            "| jobs | backend | jobtrack export | rows/s | client peak RSS | its backend, \
             private / RSS | plain SQL | plain SQL / jobtrack | plain client peak RSS | its \
             backend, private / RSS |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | 10,000 | PostgreSQL | 100.00 ms | 100,000 | 9.0 MiB | 2.0 MiB / 20.5 MiB | \
             80.00 ms | 0.80× | 6.0 MiB | 4.5 MiB / 16.6 MiB |\n\
             | 10,000 | SQLite | 200.00 ms | 50,000 | 12.0 MiB | — | 100.00 ms | 0.50× | 8.0 MiB \
             | — |\n"
        ));
        assert!(md.contains(
            "| 10,000,000 | PostgreSQL | 100.00 s | 100,000 | 9.0 MiB | 2.0 MiB / 147.5 MiB | \
             80.00 s | 0.80× | 6.0 MiB | 4.5 MiB / 143.6 MiB |\n\n"
        ));
        // Memory against size: flat for the client and the private memory,
        // SQLite's over the sizes it was run at.
        assert!(md.contains(
            "| export | memory | 10,000 jobs | 1,000,000 jobs | 10,000,000 jobs | growth |\n\
             |---|---|---:|---:|---:|---:|\n\
             | PostgreSQL, jobtrack, jsonl | client peak RSS | 9.0 MiB | 9.0 MiB | 9.0 MiB | \
             1.00× |\n\
             | PostgreSQL, jobtrack, jsonl | backend, private | 2.0 MiB | 2.0 MiB | 2.0 MiB | \
             1.00× |\n\
             | PostgreSQL, jobtrack, jsonl | backend, RSS | 20.5 MiB | 117.2 MiB | 147.5 MiB | \
             7.19× |\n"
        ));
        assert!(md.contains("| PostgreSQL, jobtrack, csv | backend, private | — | — | — | — |\n"));
        assert!(md.contains(
            "| SQLite, jobtrack, jsonl | client peak RSS | 12.0 MiB | 12.0 MiB | not run | 1.00× |\n"
        ));
        assert!(!md.contains("| SQLite, jobtrack, jsonl | backend"));
        assert!(md.contains("\n*not run*: SQLite was not run at that size: it is measured only at sizes up to 1,000,000 jobs"));

        let large = md.split("## 10,000,000 jobs").nth(1).expect("the 10M size");
        assert!(large.contains(
            "### Export: every job, whole, through a pipe (the jobtrack CLI against plain SQL)\n\n\
             Each of the 10,000,000 jobs once,"
        ));
        assert!(large.contains(
            "| PostgreSQL | jobtrack | csv | jobtrack csv | 10,000,000 | 6.52 GiB | 120.00 s | \
             83,333 | 0.50× | 9.0 MiB | not seen | 1 |\n"
        ));
        assert!(large.contains("A fresh backend after one query: private 700 KiB, RSS 13.7 MiB"));
        assert!(!large.contains("| SQLite | jobtrack |"));
        let json = serde_json::to_value(&report).unwrap();
        let first = &json["sizes"][0]["export"]["runs"][0];
        assert_eq!(first["client"]["peak_rss_kib"], 9_216);
        assert_eq!(first["server"]["peak_anon_kib"], 2_048);
        assert_eq!(first["vs_plain"], 0.8);
        assert_eq!(first["median_ms"], 100.0);
        assert!(json["sizes"][2]["export"]["runs"][2]["server"].is_null());
        assert_eq!(human_kib(1023), "1023 KiB");
        assert_eq!(human_kib(1536), "1.5 MiB");
        assert_eq!(human_kib(3 << 20), "3.00 GiB");
    }

    fn latency_none() -> Latency {
        Latency {
            calls: 0,
            median_ms: None,
            p99_ms: None,
            max_ms: None,
        }
    }
}
