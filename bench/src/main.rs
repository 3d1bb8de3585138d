//! `jobtrack-bench`: jobtrack side by side with the alternatives a user has,
//! in one run, on the same data and the same kind of connection.
//!
//! Run it through `make bench`, which starts a throw-away PostgreSQL cluster
//! with the extension preloaded (`tests/pg_regress/with-cluster.sh
//! --preload`) and passes its connection string in `JOBTRACK_PG_URL`.
//! Writes `results.json`, `results.md`, `chart.svg` and `scaling.svg` to
//! `--out` after each size (marked partial until the last one is done).

mod client;
mod data;
mod export;
mod measure;
mod pg;
mod pgbench;
mod report;
mod retention;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use jobtrack_core::Timestamp;

use crate::report::{Machine, Phase, Report, SizeReport};

/// The error type of the bench: it reports and exits.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Side-by-side benchmarks of jobtrack (PostgreSQL and SQLite).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Dataset sizes in jobs, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Directory for results.json, results.md, chart.svg and scaling.svg
    /// (rewritten after each size).
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Seconds of each pgbench run and of each throughput run of the Rust
    /// client.
    #[arg(long, default_value_t = 5)]
    pgbench_seconds: u32,
    /// Tiny budgets: proves every part runs (for `make test`), measures
    /// nothing worth reading.
    #[arg(long)]
    smoke: bool,
    /// libpq connection string of the server (the database is the bench's
    /// own, created afresh).
    #[arg(long, env = "JOBTRACK_PG_URL")]
    pg_url: String,
    /// Measure SQLite only at sizes up to this many jobs (default: at every
    /// size). Loading millions of jobs through SQLite's triggers takes far
    /// longer than the PostgreSQL part.
    #[arg(long, value_name = "JOBS")]
    sqlite_max_size: Option<usize>,
    /// Seed of the workload generator.
    #[arg(long, default_value_t = 20261127)]
    seed: u64,
    /// The jobtrack CLI whose export is measured (default: `jobtrack` next
    /// to this binary, as `cargo build -p jobtrack` of the same profile
    /// puts it).
    #[arg(long, env = "JOBTRACK_BIN", value_name = "PATH")]
    jobtrack_bin: Option<PathBuf>,
}

/// Splits a SQL file into its statements, dropping `--` comment lines.
pub fn statements(sql: &str) -> Vec<String> {
    let text: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn meminfo_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn machine(pg_url: &str) -> Res<Machine> {
    let mut c = postgres::Client::connect(pg_url, postgres::NoTls)?;
    let version: String = c.query_one("SHOW server_version", &[])?.get(0);
    Ok(Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model: cpu_model(),
        memory_gib: meminfo_gib(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        postgres_version: version,
        sqlite_version: rusqlite::version().to_owned(),
    })
}

fn main() {
    // The plain-SQL export client, run by the export phase as a child
    // process of its own (src/export.rs).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == export::CHILD_ARG)
    {
        let rest: Vec<String> = std::env::args().skip(2).collect();
        if let Err(e) = export::child_main(&rest) {
            eprintln!(
                "jobtrack-bench {}: {}",
                export::CHILD_ARG,
                error_chain(e.as_ref())
            );
            std::process::exit(1);
        }
        return;
    }
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("jobtrack-bench: {}", error_chain(e.as_ref()));
        std::process::exit(1);
    }
}

/// The error and its sources, on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// Prints the progress lines of one size, each with the seconds since the
/// run began (the largest sizes run long), and times its parts for the
/// report.
struct Progress {
    run_started: Instant,
    jobs: usize,
    current: Option<(String, Instant)>,
    phases: Vec<Phase>,
}

impl Progress {
    fn new(run_started: Instant, jobs: usize) -> Progress {
        Progress {
            run_started,
            jobs,
            current: None,
            phases: Vec::new(),
        }
    }

    fn line(&self, what: &str) {
        println!(
            "== {} jobs: {what} (at {:.0} s)",
            self.jobs,
            self.run_started.elapsed().as_secs_f64()
        );
    }

    fn start(&mut self, name: &str) {
        self.end_current();
        self.line(name);
        self.current = Some((name.to_owned(), Instant::now()));
    }

    fn end_current(&mut self) {
        if let Some((name, since)) = self.current.take() {
            self.phases.push(Phase {
                name,
                seconds: since.elapsed().as_secs_f64(),
            });
        }
    }

    fn finish(mut self) -> Vec<Phase> {
        self.end_current();
        self.phases
    }
}

/// Writes results.json, results.md, chart.svg and scaling.svg, each through
/// a temporary file and a rename, so that a run killed while writing leaves
/// the previous complete file rather than half a file. Returns the Markdown.
fn write_report(out: &Path, report: &Report) -> Res<String> {
    let md = report::markdown(report);
    let files = [
        ("results.json", serde_json::to_string_pretty(report)? + "\n"),
        ("results.md", md.clone()),
        ("chart.svg", report::svg(report)),
        ("scaling.svg", report::scaling_svg(report)),
    ];
    for (name, text) in files {
        let path = out.join(name);
        let tmp = out.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(md)
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    if args.sizes.is_empty() {
        return Err("--sizes names no size".into());
    }
    if let Some(bad) = args.sizes.iter().find(|n| !(100..=20_000_000).contains(*n)) {
        return Err(format!("size {bad} is outside 100..=20000000 jobs").into());
    }
    // Before the long part: a directory that cannot be made fails now, not
    // after the first size.
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("creating {}: {e}", args.out.display()))?;
    let cli = export::locate_cli(args.jobtrack_bin.as_deref())?;
    let machine = machine(&args.pg_url)?;
    println!("jobtrack-bench: {}", report::machine_line(&machine));
    println!("jobtrack-bench: the export phase runs {}", cli.display());
    let mut notes = vec![
        format!("Machine: {}.", report::machine_line(&machine)),
        "PostgreSQL runs as a throw-away cluster with fsync = off, synchronous_commit = off and \
         full_page_writes = off (tests/pg_regress/with-cluster.sh), shared_preload_libraries = \
         'jobtrack'; the client shares the machine's cores with the server. Write timings are \
         therefore relative: compare rows, not absolute times."
            .to_owned(),
        "before: the original design's client (bench/sql/before/*.sql); after: the same questions \
         in plain SQL written well (bench/sql/after/*.sql); both on jobtrack's own tables, with \
         jobtrack's indexes in place. SQLite's writes use bench/sql/sqlite/*.sql."
            .to_owned(),
    ];
    notes.push(format!(
        "Export: the CLI measured is {} (`--jobtrack-bin`); the plain-SQL exports run in this \
         bench's binary as a child process of their own (`{} …`).",
        cli.display(),
        export::CHILD_ARG
    ));
    if let Some(max) = args.sqlite_max_size {
        notes.push(format!(
            "SQLite is measured only at sizes up to {} jobs (--sqlite-max-size); at larger sizes \
             it was not run.",
            report::thousands(max)
        ));
    }
    let mut report = Report {
        generated_at: Timestamp::now().to_string(),
        machine,
        smoke: args.smoke,
        notes,
        sizes_planned: args.sizes.clone(),
        sqlite_max_size: args.sqlite_max_size,
        complete: false,
        stopped_by: None,
        sizes: Vec::new(),
    };
    let now = Timestamp::now();
    for &jobs in &args.sizes {
        match run_size(args, &cli, jobs, now, started, &mut report.notes) {
            Ok(size) => report.sizes.push(size),
            Err(e) => {
                // What the finished sizes measured stays readable; with none
                // finished, the previous run's files are left as they are.
                if !report.sizes.is_empty() {
                    report.stopped_by = Some(format!(
                        "{} jobs: {}",
                        report::thousands(jobs),
                        error_chain(e.as_ref())
                    ));
                    report.generated_at = Timestamp::now().to_string();
                    write_report(&args.out, &report)?;
                    eprintln!(
                        "jobtrack-bench: the report of the finished sizes is in {}",
                        args.out.display()
                    );
                }
                return Err(e);
            }
        }
        report.generated_at = Timestamp::now().to_string();
        report.complete = report.sizes.len() == args.sizes.len();
        let md = write_report(&args.out, &report)?;
        if report.complete {
            println!("{md}");
        } else {
            println!(
                "== {jobs} jobs: done (at {:.0} s); the report so far is in {}",
                started.elapsed().as_secs_f64(),
                args.out.display()
            );
        }
    }
    println!(
        "jobtrack-bench: wrote {}/results.{{json,md}}, chart.svg and scaling.svg in {:.0} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    let mut admin = postgres::Client::connect(&args.pg_url, postgres::NoTls)?;
    admin.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        pg::DATABASE
    ))?;
    let bad: usize = report.sizes.iter().map(|s| s.mismatches.len()).sum();
    if bad > 0 {
        return Err(format!("{bad} answers differ between variants (see the report)").into());
    }
    Ok(())
}

/// Measures everything at one size. Adds the note on the result cache to
/// `notes` when it is not there yet.
fn run_size(
    args: &Args,
    cli: &Path,
    jobs: usize,
    now: Timestamp,
    started: Instant,
    notes: &mut Vec<String>,
) -> Res<SizeReport> {
    let mut progress = Progress::new(started, jobs);
    progress.start("generating");
    let w = data::Workload::generate(jobs, args.seed, now);
    progress.start("PostgreSQL: load");
    let mut c = pg::setup(&args.pg_url, &w)?;
    let cache_shared: bool = {
        let v: serde_json::Value = c
            .query_one("SELECT jobtrack.get_cache_stats()", &[])?
            .get(0);
        v.get("shared").and_then(|s| s.as_bool()).unwrap_or(false)
    };
    let note = if cache_shared {
        "PostgreSQL: the shared-memory result cache is in effect (get_cache_stats().shared = \
         true): the cached rows are cache hits."
    } else {
        "PostgreSQL: the shared-memory result cache is not in effect (get_cache_stats().shared \
         = false: the library is not in shared_preload_libraries): the *_cached functions \
         compute every call, so their rows measure the uncached path plus the cache's \
         bookkeeping."
    };
    if !notes.iter().any(|n| n == note) {
        notes.push(note.to_owned());
    }
    // Right after the load, while the tables hold just the generated jobs
    // (the phases below write).
    progress.start("PostgreSQL: export");
    let exporter = export::Exporter::new(cli, &w, args.smoke)?;
    let (mut export, export_mismatches) = export::postgres(&args.pg_url, &exporter)?;
    progress.start("PostgreSQL: per call");
    let (mut postgres, mut mismatches) = pg::operations(&mut c, &w, args.smoke)?;
    mismatches.extend(export_mismatches);
    report::add_ratios(&mut postgres);
    progress.start("PostgreSQL: write cost");
    // The per-call writes left dead rows behind: vacuum (untimed) so that
    // the write-cost comparison and pgbench start from clean tables, as
    // the fresh primary-key-only copy does.
    c.batch_execute("VACUUM ANALYZE")?;
    let write_cost = pg::write_cost(&args.pg_url, &mut c, &w, args.smoke)?;
    c.batch_execute("VACUUM ANALYZE")?;
    progress.start("PostgreSQL: counters under 4 writers");
    let seconds = if args.smoke { 1 } else { args.pgbench_seconds };
    let counter_writers = pgbench::counter_writers(
        &mut c,
        pg::DATABASE,
        seconds,
        if args.smoke { 20 } else { 500 },
    )?;
    c.batch_execute("VACUUM ANALYZE")?;
    progress.start("PostgreSQL: through the Rust client (PgStore)");
    let (client, client_mismatches) =
        client::run(&args.pg_url, &w, args.smoke, args.pgbench_seconds)?;
    mismatches.extend(
        client_mismatches
            .into_iter()
            .map(|m| format!("Rust client: {m}")),
    );
    c.batch_execute("VACUUM ANALYZE")?;
    let cached_result: String = c
        .query_one("SELECT jobtrack.get_statistics_cached()::text", &[])?
        .get(0);
    drop(c);
    progress.start("pgbench");
    let pgbench = pgbench::run(pg::DATABASE, w.executions.len(), seconds, &cached_result)?;
    let sqlite_measured = args.sqlite_max_size.is_none_or(|max| jobs <= max);
    let sqlite = if sqlite_measured {
        progress.start("SQLite");
        let (mut sqlite, sqlite_mismatches, sqlite_export) =
            sqlite::run(&std::env::temp_dir(), &w, args.smoke, Some(&exporter))?;
        report::add_ratios(&mut sqlite);
        export.runs.extend(sqlite_export);
        mismatches.extend(
            sqlite_mismatches
                .into_iter()
                .map(|m| format!("SQLite: {m}")),
        );
        sqlite
    } else {
        progress.line(&format!(
            "SQLite not run (above --sqlite-max-size {})",
            args.sqlite_max_size.unwrap_or_default()
        ));
        Vec::new()
    };
    export::add_ratios(&mut export.runs);
    let (executions, variations) = (w.executions.len(), w.variations.len());
    // Last, as it ages the workload's jobs for its own database.
    progress.start("PostgreSQL: pruning while writers run");
    let (retention, retention_mismatches) = retention::run(&args.pg_url, w, now, args.smoke)?;
    mismatches.extend(retention_mismatches);
    Ok(SizeReport {
        jobs,
        executions,
        variations,
        postgres,
        pgbench,
        write_cost,
        counter_writers,
        client,
        retention,
        export,
        sqlite_measured,
        sqlite,
        mismatches,
        phases: progress.finish(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_statements_without_comments() {
        let s = super::statements("-- a; comment\nSELECT 1;\n\n-- x\nSELECT 2\n;");
        assert_eq!(s, vec!["SELECT 1", "SELECT 2"]);
    }
}
