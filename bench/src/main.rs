//! `jobtrack-bench`: jobtrack side by side with the alternatives a user has,
//! in one run, on the same data and the same kind of connection.
//!
//! Run it through `make bench`, which starts a throw-away PostgreSQL cluster
//! with the extension preloaded (`tests/pg_regress/with-cluster.sh
//! --preload`) and passes its connection string in `JOBTRACK_PG_URL`.
//! Writes `results.json`, `results.md` and `chart.svg` to `--out`.

mod client;
mod data;
mod measure;
mod pg;
mod pgbench;
mod report;
mod sqlite;

use std::path::PathBuf;

use clap::Parser;
use jobtrack_core::Timestamp;

use crate::report::{Machine, Report, SizeReport};

/// The error type of the bench: it reports and exits.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Side-by-side benchmarks of jobtrack (PostgreSQL and SQLite).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Dataset sizes in jobs, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Directory for results.json, results.md and chart.svg.
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
    /// Seed of the workload generator.
    #[arg(long, default_value_t = 20261127)]
    seed: u64,
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
    let args = Args::parse();
    if let Err(e) = run(&args) {
        let mut msg = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        eprintln!("jobtrack-bench: {msg}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Res<()> {
    let started = std::time::Instant::now();
    if let Some(bad) = args.sizes.iter().find(|n| !(100..=20_000_000).contains(*n)) {
        return Err(format!("size {bad} is outside 100..=20000000 jobs").into());
    }
    let machine = machine(&args.pg_url)?;
    println!("jobtrack-bench: {}", report::machine_line(&machine));
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
    let mut sizes = Vec::new();
    let now = Timestamp::now();
    for &jobs in &args.sizes {
        println!("== {jobs} jobs: generating");
        let w = data::Workload::generate(jobs, args.seed, now);
        println!("== {jobs} jobs: PostgreSQL (load, per call)");
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
        let (mut postgres, mut mismatches) = pg::operations(&mut c, &w, args.smoke)?;
        report::add_ratios(&mut postgres);
        println!("== {jobs} jobs: PostgreSQL write cost");
        // The per-call writes left dead rows behind: vacuum (untimed) so that
        // the write-cost comparison and pgbench start from clean tables, as
        // the fresh primary-key-only copy does.
        c.batch_execute("VACUUM ANALYZE")?;
        let write_cost = pg::write_cost(&args.pg_url, &mut c, &w, args.smoke)?;
        c.batch_execute("VACUUM ANALYZE")?;
        println!("== {jobs} jobs: PostgreSQL counters under 4 writers");
        let seconds = if args.smoke { 1 } else { args.pgbench_seconds };
        let counter_writers = pgbench::counter_writers(
            &mut c,
            pg::DATABASE,
            seconds,
            if args.smoke { 20 } else { 500 },
        )?;
        c.batch_execute("VACUUM ANALYZE")?;
        println!("== {jobs} jobs: PostgreSQL through the Rust client (PgStore)");
        let (client, client_mismatches) =
            client::run(&args.pg_url, &w, args.smoke, args.pgbench_seconds)?;
        mismatches.extend(
            client_mismatches
                .into_iter()
                .map(|m| format!("Rust client: {m}")),
        );
        c.batch_execute("VACUUM ANALYZE")?;
        drop(c);
        println!("== {jobs} jobs: pgbench");
        let seconds = if args.smoke { 1 } else { args.pgbench_seconds };
        let pgbench = pgbench::run(pg::DATABASE, w.executions.len(), seconds)?;
        println!("== {jobs} jobs: SQLite");
        let (mut sqlite, sqlite_mismatches) = sqlite::run(&std::env::temp_dir(), &w, args.smoke)?;
        report::add_ratios(&mut sqlite);
        mismatches.extend(
            sqlite_mismatches
                .into_iter()
                .map(|m| format!("SQLite: {m}")),
        );
        sizes.push(SizeReport {
            jobs,
            executions: w.executions.len(),
            variations: w.variations.len(),
            postgres,
            pgbench,
            write_cost,
            counter_writers,
            client,
            sqlite,
            mismatches,
        });
    }
    let mut admin = postgres::Client::connect(&args.pg_url, postgres::NoTls)?;
    admin.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        pg::DATABASE
    ))?;
    let report = Report {
        generated_at: Timestamp::now().to_string(),
        machine,
        smoke: args.smoke,
        notes,
        sizes,
    };
    std::fs::create_dir_all(&args.out)?;
    let md = report::markdown(&report);
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    std::fs::write(args.out.join("results.md"), &md)?;
    std::fs::write(args.out.join("chart.svg"), report::svg(&report))?;
    println!("{md}");
    println!(
        "jobtrack-bench: wrote {}/results.{{json,md}} and chart.svg in {:.0} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    let bad: usize = report.sizes.iter().map(|s| s.mismatches.len()).sum();
    if bad > 0 {
        return Err(format!("{bad} answers differ between variants (see the report)").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_statements_without_comments() {
        let s = super::statements("-- a; comment\nSELECT 1;\n\n-- x\nSELECT 2\n;");
        assert_eq!(s, vec!["SELECT 1", "SELECT 2"]);
    }
}
