//! `jobtrack`: the command line, on an embedded SQLite file or a
//! PostgreSQL server with the extension.

mod cli;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{OsStringValueParser, TypedValueParser as _};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use jobtrack_sqlite::{JobStoreOptions, SummaryDifference, Synchronous};
use jobtrack_store::{
    ExperimentStatsDifference, StaleAfter, StatisticsDifference, Store, StoreOptions, Target,
    Timestamp,
};
use serde::Serialize;

use cli::error::CliError;
use cli::output::Out;

/// Exit statuses, shown by `--help`; the README lists the same.
const EXIT_STATUSES: &str = "\
Exit status:
  0  success
  1  verify found differences (it lists them)
  2  usage error: the command line is wrong
  3  failure: the message names the SQLSTATE; a failed import or update
     wrote nothing";

/// Track ML training jobs in an embedded SQLite file or on a PostgreSQL
/// server with the jobtrack extension.
#[derive(Parser)]
#[command(name = "jobtrack", version, after_help = EXIT_STATUSES)]
struct Cli {
    /// The database: a SQLite file (a path, sqlite:///path/to/jobs.db, or
    /// :memory:), or postgres://user@host/database, a PostgreSQL database
    /// with the jobtrack extension. import and demo create a missing file;
    /// the other commands refuse one.
    #[arg(
        long,
        global = true,
        default_value = "jobtrack.db",
        value_parser = OsStringValueParser::new().try_map(Target::parse)
    )]
    db: Target,
    /// Print the API's JSON (what the SQL functions return) instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// SQLite only: how long a write waits for another process's write lock
    /// before it fails with 55P03: milliseconds, or a number with ms, s, m
    /// or h. Reads never wait for writers.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = cli::parse_busy_timeout
    )]
    busy_timeout: Duration,
    /// SQLite only: durability of commits. normal: a crash of jobtrack never
    /// loses a commit, a power loss may lose the last ones (never half of
    /// one); full: a commit waits until it is on disk.
    #[arg(long, global = true, value_enum, ignore_case = true, default_value_t = Durability::Normal)]
    synchronous: Durability,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Durability {
    Normal,
    Full,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a training pipeline and show what jobtrack answers about it.
    Demo {
        /// Executions to create.
        #[arg(long, default_value_t = 4000)]
        executions: usize,
        /// Experiments of the hyper-parameter sweep.
        #[arg(long, default_value_t = 40)]
        experiments: usize,
        /// Combinations per experiment.
        #[arg(long, default_value_t = 50)]
        combinations: usize,
    },
    /// Statistics over all jobs.
    Stats,
    /// Statistics of one dataset.
    Dataset {
        /// The dataset name.
        name: String,
    },
    /// Progress of one hyper-parameter sweep.
    Experiment {
        /// The experiment name.
        name: String,
    },
    /// The most recently updated jobs.
    Recent {
        /// How many (0 to 10000).
        #[arg(short = 'n', default_value_t = 10)]
        n: i32,
    },
    /// Jobs in an active status, newest created first: every one, or a page.
    Running {
        /// At most this many (0 to 10000); every one when left out.
        #[arg(short = 'n')]
        n: Option<i32>,
        /// The page after this job: the job_id of the last row of the
        /// previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// Record that the process of an active job is alive.
    ///
    /// Sets the job's last_heartbeat to now; nothing else changes. Says
    /// whether an active job (any status but done, failed and cancelled)
    /// has that id; finding none is no failure.
    Heartbeat {
        /// The job, of either kind.
        job_id: String,
    },
    /// Jobs that have gone silent: what fail-stale would fail.
    ///
    /// Jobs a worker has taken (any active status but pending) whose last
    /// sign of life — heartbeat, progress or status change — lies longer
    /// ago than the interval; the longest silent first.
    Stale {
        /// How long a job may stay silent: '15 minutes', '2 hours 30
        /// minutes', '90s', '00:15:00' (units from microseconds to weeks).
        #[arg(long, value_name = "INTERVAL", default_value = "15 minutes", value_parser = cli::parse_stale_after)]
        after: StaleAfter,
    },
    /// Fail the jobs that have gone silent, in one transaction.
    ///
    /// The jobs stale lists move to failed, as a status update to failed
    /// would move them; each gets the message given, or one naming its last
    /// sign of life. A heartbeat that commits first keeps its job.
    FailStale {
        /// How long a job may stay silent, as for stale (the same default,
        /// so that stale shows what this fails).
        #[arg(long, value_name = "INTERVAL", default_value = "15 minutes", value_parser = cli::parse_stale_after)]
        after: StaleAfter,
        /// The error message of the failed jobs.
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
    },
    /// Jobs of both kinds, newest created first, a page at a time.
    Jobs {
        /// How many (0 to 10000).
        #[arg(short = 'n', default_value_t = 100)]
        n: i32,
        /// The page after this job: the job_id of the last row of the
        /// previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// Delete terminal jobs created more than DAYS days ago.
    Cleanup {
        /// Age in days.
        #[arg(long)]
        days: i32,
        /// Keep failed jobs.
        #[arg(long)]
        keep_failed: bool,
    },
    /// Delete what cleanup deletes, a batch of jobs per transaction.
    ///
    /// Terminal jobs created more than DAYS days before it starts, the
    /// oldest first, at most BATCH_SIZE jobs a transaction, each committed
    /// on its own: no transaction holds them all. Interrupted, it keeps the
    /// batches it committed; run it again to go on from there.
    Prune {
        /// Age in days.
        #[arg(long)]
        days: i32,
        /// Keep failed jobs.
        #[arg(long)]
        keep_failed: bool,
        /// Jobs per transaction, at least 1.
        #[arg(long, default_value_t = 10000)]
        batch_size: i32,
    },
    /// Write every job, whole, to standard output.
    ///
    /// JSON lines (one record per job, every column) or CSV with a header,
    /// the oldest created first, read from one snapshot a page at a time:
    /// memory stays bounded whatever the number of jobs. import restores
    /// the JSON lines, on either backend.
    Export {
        /// jsonl or csv.
        #[arg(long, value_enum, default_value_t = cli::export::Format::Jsonl)]
        format: cli::export::Format,
        /// Only the jobs created at or after this time (RFC 3339:
        /// 2026-01-31T12:00:00Z).
        #[arg(long, value_name = "TIME", value_parser = cli::parse_time)]
        since: Option<Timestamp>,
    },
    /// Create jobs from a file, all in one transaction.
    ///
    /// The file is a JSON array, JSON lines, or one JSON object; elements
    /// with a `job_type` are whole jobs as export writes them (restored as
    /// they are: status, results, times), elements with a `variation_id`
    /// new variations, the others new executions. A bad element, a job_id
    /// twice or one that exists already, and nothing is written.
    Import {
        /// The file (UTF-8, a byte order mark allowed).
        file: PathBuf,
    },
    /// Apply status updates from a file, all in one transaction.
    ///
    /// Elements `{"job_id","status","error_message"?}`, in a file as import
    /// reads it, for jobs of either kind; unknown ids are skipped, and for a
    /// job_id given twice the later element wins.
    Update {
        /// The file.
        file: PathBuf,
    },
    /// Check the counters and the summary table against the base tables.
    ///
    /// A full scan: the statistics and experiment counters are compared with
    /// a recount, the summary table with the base tables (on SQLite;
    /// PostgreSQL has no summary check). Lists the differences; exit status
    /// 1 when there are any.
    Verify,
    /// Rebuild the summary table and the counters from the base tables.
    ///
    /// The repair for what verify finds.
    Refresh,
}

impl Command {
    /// Whether the command may create the database file: only the commands
    /// that add jobs; the others on a new, empty file would only hide a
    /// mistyped path.
    fn creates(&self) -> bool {
        matches!(self, Command::Import { .. } | Command::Demo { .. })
    }
}

/// How a command that did not fail ended.
enum Outcome {
    Done,
    /// `verify` found this many differences (`summary`: `None` where the
    /// summary is not checked).
    Differences {
        counters: usize,
        experiments: usize,
        summary: Option<usize>,
    },
}

/// The options that only a SQLite file has, by their ids in clap.
const SQLITE_ONLY: &[(&str, &str)] = &[
    ("busy_timeout", "--busy-timeout"),
    ("synchronous", "--synchronous"),
];

const EXIT_DIFFERENCES: u8 = 1;
const EXIT_FAILURE: u8 = 3;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    refuse_sqlite_only_options(&cli, &matches);
    let mut out = Out::new(cli.json);
    let result = run(&cli, &mut out);
    let flushed = out.finish();
    match result.and_then(|outcome| flushed.map(|()| outcome)) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Differences {
            counters,
            experiments,
            summary,
        }) => {
            let summary = summary.map_or(String::new(), |summary| {
                format!(", {summary} jobs' summary rows from the base tables")
            });
            report(&format!(
                "verify found differences: {counters} statistics counter rows and \
                 {experiments} experiment counter rows differ from a full recount{summary}"
            ));
            ExitCode::from(EXIT_DIFFERENCES)
        }
        Err(e) => {
            report(&format!("{e} (SQLSTATE {})", e.sqlstate()));
            for note in e.notes() {
                report(&note);
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// A line on stderr; if even that fails there is no one left to tell.
fn report(message: &str) {
    let _ = writeln!(std::io::stderr(), "jobtrack: {message}");
}

/// A usage error (status 2) for an option that only a SQLite file has,
/// given with a PostgreSQL database: it would change nothing there, and
/// ignoring it would hide that. The server's own settings
/// (`lock_timeout`, `synchronous_commit`) govern the same things.
fn refuse_sqlite_only_options(cli: &Cli, matches: &ArgMatches) {
    if !cli.db.is_postgres() {
        return;
    }
    // Global options land in the subcommand's matches when given after it.
    let given = |id: &str| {
        let mut m = Some(matches);
        while let Some(current) = m {
            if current.value_source(id) == Some(ValueSource::CommandLine) {
                return true;
            }
            m = current.subcommand().map(|(_, sub)| sub);
        }
        false
    };
    for (id, flag) in SQLITE_ONLY {
        if given(id) {
            Cli::command()
                .error(
                    ErrorKind::ArgumentConflict,
                    format!(
                        "{flag} applies to SQLite files only, not to a PostgreSQL database \
                         (the server's settings, such as lock_timeout and synchronous_commit, \
                         decide there)"
                    ),
                )
                .exit();
        }
    }
}

fn open(cli: &Cli) -> Result<Store, CliError> {
    let options = StoreOptions {
        sqlite: JobStoreOptions {
            // One call per run: one reader is enough.
            reader_connections: 1,
            busy_timeout: cli.busy_timeout,
            synchronous: match cli.synchronous {
                Durability::Normal => Synchronous::Normal,
                Durability::Full => Synchronous::Full,
            },
            create_if_missing: cli.command.creates(),
            // Only the demo calls the cached functions.
            cache_enabled: matches!(cli.command, Command::Demo { .. }),
            ..JobStoreOptions::default()
        },
        // The pool's defaults: connections are opened as calls need them
        // (one at a time here), and a call waits up to the checkout timeout
        // for a server that is restarting.
        postgres: Default::default(),
    };
    Store::open_target(&cli.db, options).map_err(|error| CliError::Open {
        target: cli.db.clone(),
        error,
    })
}

/// What `verify --json` prints: every check's differences; `summary` is
/// `null` on PostgreSQL, which has no summary check.
#[derive(Serialize)]
struct Verification {
    statistics: Vec<StatisticsDifference>,
    experiments: Vec<ExperimentStatsDifference>,
    summary: Option<Vec<SummaryDifference>>,
}

impl Verification {
    fn found_any(&self) -> bool {
        !self.statistics.is_empty()
            || !self.experiments.is_empty()
            || self.summary.as_ref().is_some_and(|s| !s.is_empty())
    }
}

fn run(cli: &Cli, out: &mut Out) -> Result<Outcome, CliError> {
    let open = || open(cli);
    // An import or update that fails rolls back: say so, unless what
    // failed is the output after the commit.
    let nothing_written = |e: CliError| match e {
        CliError::Output(_) => e,
        e => CliError::NothingWritten(Box::new(e)),
    };
    match &cli.command {
        Command::Import { file } => {
            cli::files::import(open, file, out).map_err(nothing_written)?;
            return Ok(Outcome::Done);
        }
        Command::Update { file } => {
            cli::files::update(open, file, out).map_err(nothing_written)?;
            return Ok(Outcome::Done);
        }
        _ => {}
    }
    let store = open()?;
    match &cli.command {
        Command::Import { .. } | Command::Update { .. } => unreachable!("handled above"),
        Command::Demo {
            executions,
            experiments,
            combinations,
        } => cli::demo::demo(
            &store,
            &cli.db,
            out,
            *executions,
            *experiments,
            *combinations,
        )?,
        Command::Stats => out.statistics(&store.get_statistics_optimized()?)?,
        Command::Dataset { name } => out.dataset(&store.get_dataset_stats_optimized(name)?)?,
        Command::Experiment { name } => out.experiment(&store.get_experiment_stats(name)?)?,
        Command::Recent { n } => out.jobs(&store.get_recent_jobs_optimized(*n)?)?,
        Command::Running { n, after } => {
            out.running(&store.get_running_jobs(*n, after.as_deref())?)?
        }
        Command::Jobs { n, after } => {
            out.jobs(&store.get_all_jobs_optimized(*n, after.as_deref())?)?
        }
        Command::Heartbeat { job_id } => {
            let found = store.heartbeat(job_id)?;
            out.value(&found, |out| {
                if found {
                    out.line(format_args!("recorded a heartbeat of {job_id}"))
                } else {
                    out.line(format_args!("no active job {job_id}: nothing recorded"))
                }
            })?;
        }
        Command::Stale { after } => out.stale(&store.get_stale_jobs(*after)?)?,
        Command::Export { format, since } => {
            cli::export::export(&store, *format, *since, out)?;
        }
        Command::FailStale { after, message } => {
            let failed = store.fail_stale_jobs(*after, message.as_deref())?;
            out.value(&failed, |out| {
                out.line(format_args!(
                    "failed {failed} stale {}",
                    if failed == 1 { "job" } else { "jobs" }
                ))
            })?;
        }
        Command::Cleanup { days, keep_failed } => {
            let report = store.cleanup_old_jobs(*days, *keep_failed)?;
            out.value(&report, |out| {
                out.line(format_args!(
                    "deleted {} executions, {} variations ({} summary rows)",
                    report.executions_deleted,
                    report.variations_deleted,
                    report.cache_entries_deleted
                ))
            })?;
        }
        Command::Prune {
            days,
            keep_failed,
            batch_size,
        } => {
            let report = store.prune_jobs(*days, *keep_failed, *batch_size)?;
            out.value(&report, |out| {
                out.line(format_args!(
                    "deleted {} executions, {} variations ({} summary rows) in {} {}",
                    report.executions_deleted,
                    report.variations_deleted,
                    report.cache_entries_deleted,
                    report.batches,
                    if report.batches == 1 {
                        "batch"
                    } else {
                        "batches"
                    }
                ))
            })?;
        }
        Command::Refresh => {
            let rows = store.refresh_job_cache()?;
            out.value(&rows, |out| {
                out.line(format_args!(
                    "rebuilt the summary table ({rows} rows) and the statistics counters"
                ))
            })?;
        }
        Command::Verify => {
            let found = Verification {
                statistics: store.verify_statistics()?,
                experiments: store.verify_experiment_stats()?,
                summary: store.as_sqlite().map(|s| s.verify_summary()).transpose()?,
            };
            out.value(&found, |out| verify_table(out, &found))?;
            if found.found_any() {
                return Ok(Outcome::Differences {
                    counters: found.statistics.len(),
                    experiments: found.experiments.len(),
                    summary: found.summary.as_ref().map(Vec::len),
                });
            }
        }
    }
    Ok(Outcome::Done)
}

/// The five figures of one side of a counter difference, as one cell.
fn figures(jobs: i64, successful: i64, failed: i64, durations: i64, micros: i64) -> String {
    format!("{jobs}/{successful}/{failed}/{durations}/{micros}")
}

/// One counter check's part of `verify`: a line when it found nothing, else
/// a table of the keys that differ (three key cells, then the two sides).
fn counter_block(
    out: &mut Out,
    counters: &str,
    keys: [&str; 3],
    unit: &str,
    rows: Vec<Vec<String>>,
) -> Result<(), CliError> {
    if rows.is_empty() {
        return out.line(format!("the {counters} counters match a full recount"));
    }
    out.line(format!(
        "the {counters} counters differ from a full recount:"
    ))?;
    let [a, b, c] = keys;
    out.table(&[a, b, c, "counted", "actual"], &rows)?;
    out.line(format!("({unit}/successful/failed/durations/microseconds)"))
}

fn verify_table(out: &mut Out, found: &Verification) -> Result<(), CliError> {
    let statistics = found
        .statistics
        .iter()
        .map(|d| {
            vec![
                d.job_type.to_string(),
                d.dataset_name.clone(),
                d.status.to_string(),
                figures(
                    d.counted_jobs,
                    d.counted_successful,
                    d.counted_failed,
                    d.counted_duration_count,
                    d.counted_duration_micros_sum,
                ),
                figures(
                    d.actual_jobs,
                    d.actual_successful,
                    d.actual_failed,
                    d.actual_duration_count,
                    d.actual_duration_micros_sum,
                ),
            ]
        })
        .collect();
    counter_block(
        out,
        "statistics",
        ["type", "dataset", "status"],
        "jobs",
        statistics,
    )?;
    let experiments = found
        .experiments
        .iter()
        .map(|d| {
            vec![
                d.experiment_name.clone(),
                d.total_combinations.to_string(),
                d.status.to_string(),
                figures(
                    d.counted_jobs,
                    d.counted_successful,
                    d.counted_failed,
                    d.counted_duration_count,
                    d.counted_duration_micros_sum,
                ),
                figures(
                    d.actual_jobs,
                    d.actual_successful,
                    d.actual_failed,
                    d.actual_duration_count,
                    d.actual_duration_micros_sum,
                ),
            ]
        })
        .collect();
    counter_block(
        out,
        "experiment",
        ["experiment", "combinations", "status"],
        "variations",
        experiments,
    )?;
    match &found.summary {
        None => out.line("the summary table is not checked on PostgreSQL (SQLite only)")?,
        Some(summary) if summary.is_empty() => {
            out.line("the summary table matches the base tables")?
        }
        Some(summary) => {
            out.line("the summary table differs from the base tables:")?;
            let rows: Vec<Vec<String>> = summary
                .iter()
                .map(|d| {
                    vec![
                        d.job_id.clone(),
                        d.job_type.to_string(),
                        d.problem.to_string(),
                        d.columns.join(", "),
                    ]
                })
                .collect();
            out.table(&["job_id", "type", "problem", "columns"], &rows)?;
        }
    }
    if found.found_any() {
        out.line("`jobtrack refresh` rebuilds them from the base tables")?;
    }
    Ok(())
}
