//! # jobtrack
//!
//! One type over both backends: a [`Store`] is an embedded SQLite file
//! ([`JobStore`]) or a PostgreSQL server with the jobtrack extension
//! ([`PgStore`]), chosen by the URL or path it is opened with; it derefs to
//! the whole API (`dyn` [`JobApi`]) and has batch transactions
//! ([`Store::transaction`]) on either. The `jobtrack` command line is built
//! on it.
//!
//! ```
//! use jobtrack_store::{NewExecution, PipelineMode, Status, Store, StoreOptions};
//!
//! # fn main() -> jobtrack_store::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = dir.path().join("jobs.db");
//! # let db = db.to_str().unwrap();
//! // "sqlite:///var/lib/jobs.db", "jobs.db", ":memory:" or
//! // "postgres://jobtrack@db.internal/jobs": the same code below.
//! let store = Store::open(db, StoreOptions::default())?;
//! let job = NewExecution {
//!     job_id: "run-1".into(),
//!     pipeline_mode: PipelineMode::Single,
//!     dataset_name: "mnist".into(),
//!     preset: "fast".into(),
//!     total_steps: Some(100),
//!     status: Status::Pending,
//! };
//! store.transaction(|tx| tx.batch_create_executions(&[job]))?;
//! store.update_execution_status("run-1", Status::Done, None)?;
//! assert_eq!(store.get_statistics_optimized()?.total_successful, 1);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

pub use jobtrack_core;
pub use jobtrack_core::{
    CacheStats, CleanupReport, DatasetStats, Error, ExperimentStats, ExperimentStatsDifference,
    Job, JobApi, JobExport, JobRecord, JobTransaction, JobType, NewExecution, NewVariation,
    PipelineMode, PoolStatus, Result, RunningJob, StaleAfter, Statistics, StatisticsDifference,
    Status, StatusUpdate, Timestamp, TransactionMetrics, RECORD_COLUMNS,
};
pub use jobtrack_postgres;
pub use jobtrack_postgres::{PgStore, PoolOptions};
pub use jobtrack_sqlite;
pub use jobtrack_sqlite::{JobStore, JobStoreOptions, Synchronous};

/// The argument that names the database, as errors name it.
const ARGUMENT: &str = "db";

/// Where a [`Store`] keeps its jobs, read from a URL or a path by
/// [`Target::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file; `:memory:` is a private in-memory database.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`), as
    /// given.
    Postgres(String),
}

impl Target {
    /// Reads `db`:
    ///
    /// - `postgres://…` or `postgresql://…`: that server's database (the
    ///   URL as libpq reads it: `postgres://user:password@host:port/database`,
    ///   `postgresql:///database?host=/run/postgresql` for a Unix socket);
    /// - `sqlite://` followed by a path: that file — `sqlite:///var/lib/jobs.db`
    ///   is `/var/lib/jobs.db`, `sqlite://jobs.db` is `jobs.db` in the current
    ///   directory, `sqlite://:memory:` a private in-memory database; the path
    ///   is taken as written (no percent-decoding, no query part);
    /// - anything else without a `scheme://` prefix: a file path (`:memory:`
    ///   included).
    ///
    /// Any other `scheme://` — or `sqlite://` naming no file — is 22023
    /// naming the argument `db`.
    pub fn parse(db: impl AsRef<OsStr>) -> Result<Target> {
        let db = db.as_ref();
        let Some(text) = db.to_str() else {
            // Not UTF-8, so no URL: a path, unless it starts like one.
            if scheme(&db.to_string_lossy()).is_some() {
                return Err(Error::invalid(
                    None,
                    ARGUMENT,
                    "is a URL that is not valid UTF-8: give the file's path itself",
                ));
            }
            return Ok(Target::Sqlite(PathBuf::from(db)));
        };
        match scheme(text) {
            None => Ok(Target::Sqlite(PathBuf::from(db))),
            Some(("postgres" | "postgresql", _)) => Ok(Target::Postgres(text.to_owned())),
            Some(("sqlite", "")) => Err(Error::invalid(
                None,
                ARGUMENT,
                "names no file: write sqlite:///absolute/path.db, sqlite://relative/path.db \
                 or sqlite://:memory:",
            )),
            Some(("sqlite", path)) => Ok(Target::Sqlite(PathBuf::from(path))),
            Some((other, _)) => Err(Error::invalid(
                None,
                ARGUMENT,
                format!(
                    "has the unknown scheme \"{other}\": give a file path, :memory:, \
                     sqlite:///path/to/jobs.db or postgres://user@host/database"
                ),
            )),
        }
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Target::Postgres(_))
    }
}

/// The scheme of a `scheme://rest` text (lowercased, as URL schemes are
/// case-insensitive) and the rest; `None` when it has none.
fn scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return None;
    }
    let known = ["postgres", "postgresql", "sqlite"]
        .into_iter()
        .find(|known| scheme.eq_ignore_ascii_case(known));
    Some((known.unwrap_or(scheme), rest))
}

impl fmt::Display for Target {
    /// The path, or the URL with its password (in the user part or a
    /// `password=` parameter) replaced by `***`: fit for messages and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "{}", path.display()),
            Target::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `url` without its password.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{hosts}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key == "password" => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The settings of both backends; a store uses those of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// For a SQLite file.
    pub sqlite: JobStoreOptions,
    /// The connection pool, for a PostgreSQL server.
    pub postgres: PoolOptions,
}

/// The jobtrack API on either backend: every [`JobApi`] method goes to the
/// store inside. `Send + Sync`, like both: share one behind an `Arc`.
#[derive(Debug)]
// A store is opened once and shared, never moved about in numbers: the
// size of the larger variant costs nothing, and a box would only stand in
// the way of `Store::Sqlite(store)` patterns.
#[allow(clippy::large_enum_variant)]
pub enum Store {
    /// An embedded SQLite file.
    Sqlite(JobStore),
    /// A PostgreSQL server with the jobtrack extension.
    Postgres(PgStore),
}

impl Store {
    /// Opens the database `db` names (see [`Target::parse`]): a SQLite file
    /// with `options.sqlite` (created when missing unless
    /// `create_if_missing` is off), or a PostgreSQL database with
    /// `options.postgres`, whose extension must be installed.
    pub fn open(db: impl AsRef<OsStr>, options: StoreOptions) -> Result<Store> {
        Store::open_target(&Target::parse(db)?, options)
    }

    /// Opens `target`, as [`Store::open`].
    pub fn open_target(target: &Target, options: StoreOptions) -> Result<Store> {
        match target {
            Target::Sqlite(path) => JobStore::open_with(path, options.sqlite).map(Store::Sqlite),
            Target::Postgres(url) => {
                PgStore::connect_with(url, options.postgres).map(Store::Postgres)
            }
        }
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled
    /// back if it returns `Err` or panics; nothing of a failed `f` is
    /// visible to anyone. See [`JobStore::transaction`] and
    /// [`PgStore::transaction`] for what each backend adds (SQLite waits
    /// for the file's write lock; neither repeats a transaction after an
    /// error).
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&mut dyn JobTransaction) -> Result<T>,
    ) -> Result<T> {
        match self {
            Store::Sqlite(store) => store.transaction(|tx| f(tx)),
            Store::Postgres(store) => store.transaction(|tx| f(tx)),
        }
    }

    /// The SQLite store, for what only SQLite has
    /// ([`JobStore::verify_summary`], [`JobStore::path`]).
    pub fn as_sqlite(&self) -> Option<&JobStore> {
        match self {
            Store::Sqlite(store) => Some(store),
            Store::Postgres(_) => None,
        }
    }

    /// The PostgreSQL store, for what only it has ([`PgStore::pool`],
    /// [`PgStore::with_client`]).
    pub fn as_postgres(&self) -> Option<&PgStore> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(store) => Some(store),
        }
    }
}

/// `Store` is shared between threads; keep it that way.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};

/// The API of the store inside: `store.get_statistics_cached()`, and a
/// `&Store` where a `&dyn JobApi` is expected. A `Deref` rather than an
/// `impl JobApi`, so that a new API function needs nothing here.
impl std::ops::Deref for Store {
    type Target = dyn JobApi + Send + Sync;

    fn deref(&self) -> &Self::Target {
        match self {
            Store::Sqlite(store) => store,
            Store::Postgres(store) => store,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str) -> Target {
        Target::Sqlite(PathBuf::from(path))
    }

    #[test]
    fn targets_from_urls_and_paths() {
        let parse = |text: &str| Target::parse(text).unwrap();
        assert_eq!(parse("jobs.db"), sqlite("jobs.db"));
        assert_eq!(parse("/var/lib/jobs.db"), sqlite("/var/lib/jobs.db"));
        assert_eq!(parse(":memory:"), sqlite(":memory:"));
        assert_eq!(
            parse("sqlite:///var/lib/jobs.db"),
            sqlite("/var/lib/jobs.db")
        );
        assert_eq!(parse("sqlite://jobs.db"), sqlite("jobs.db"));
        assert_eq!(parse("SQLite://:memory:"), sqlite(":memory:"));
        // A colon or slashes further on do not make a path a URL.
        assert_eq!(parse("runs/a:b.db"), sqlite("runs/a:b.db"));
        assert_eq!(parse("./x://y.db"), sqlite("./x://y.db"));
        for url in [
            "postgres://u@h/db",
            "postgresql:///db?host=/tmp",
            "POSTGRES://h",
        ] {
            assert_eq!(parse(url), Target::Postgres(url.to_owned()), "{url}");
        }
    }

    #[test]
    fn unknown_schemes_are_22023_naming_the_argument() {
        for bad in ["mysql://h/db", "file:///x.db", "sqlite://", "http://x"] {
            let err = Target::parse(bad).unwrap_err();
            assert_eq!(err.sqlstate(), "22023", "{bad}: {err}");
            assert!(err.to_string().starts_with("field \"db\" "), "{bad}: {err}");
        }
        let err = Target::parse("mysql://h/db").unwrap_err().to_string();
        assert!(err.contains("\"mysql\""), "{err}");
        let err = Store::open("oracle://h", StoreOptions::default()).unwrap_err();
        assert_eq!(err.sqlstate(), "22023");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        let shown = |url: &str| Target::Postgres(url.to_owned()).to_string();
        assert_eq!(
            shown("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(shown("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(shown("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            shown("postgresql:///db?host=/tmp&password=secret&user=u"),
            "postgresql:///db?host=/tmp&password=***&user=u"
        );
        assert_eq!(sqlite("a/b.db").to_string(), "a/b.db");
    }

    #[test]
    fn one_store_on_either_backend() {
        let store = Store::open("sqlite://:memory:", StoreOptions::default()).unwrap();
        assert!(store.as_sqlite().is_some() && store.as_postgres().is_none());
        let job = |id: &str| NewExecution {
            job_id: id.into(),
            pipeline_mode: PipelineMode::Batch,
            dataset_name: "d".into(),
            preset: "p".into(),
            total_steps: None,
            status: Status::Pending,
        };
        let ids = store
            .transaction(|tx| {
                let ids = tx.batch_create_executions(&[job("a"), job("b")])?;
                tx.batch_update_execution_status(&[StatusUpdate {
                    job_id: "a".into(),
                    status: Status::Failed,
                    error_message: Some("oom".into()),
                }])?;
                Ok(ids)
            })
            .unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(store.get_statistics_optimized().unwrap().total_failed, 1);
        assert_eq!(store.get_pool_status().unwrap().backend, "sqlite");

        // A failed transaction leaves nothing behind.
        let err = store
            .transaction(|tx| {
                tx.batch_create_executions(&[job("c")])?;
                tx.batch_create_executions(&[job("a")])
            })
            .unwrap_err();
        assert_eq!(err, Error::duplicate("a"));
        assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 2);
    }

    /// A new API function reaches the backend through the `Deref`, with no
    /// line here: the heartbeat functions on a SQLite store.
    #[test]
    fn heartbeats_and_stale_jobs_through_the_store() {
        let store = Store::open(":memory:", StoreOptions::default()).unwrap();
        let job = NewExecution {
            job_id: "a".into(),
            pipeline_mode: PipelineMode::Single,
            dataset_name: "d".into(),
            preset: "p".into(),
            total_steps: None,
            status: Status::Training,
        };
        store.create_execution(&job).unwrap();
        assert!(store.heartbeat("a").unwrap());
        assert!(!store.heartbeat("b").unwrap());
        let rows = store.get_all_jobs_optimized(10, None).unwrap();
        assert!(rows[0].last_heartbeat.is_some());
        // Silent for a microsecond: stale by the time it is asked.
        let tiny = StaleAfter::from_micros(1).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(store.get_stale_jobs(tiny).unwrap().len(), 1);
        assert!(store
            .get_stale_jobs(StaleAfter::DEFAULT)
            .unwrap()
            .is_empty());
        assert_eq!(store.fail_stale_jobs(tiny, Some("lost")).unwrap(), 1);
        let failed = &store.get_all_jobs_optimized(10, None).unwrap()[0];
        assert_eq!(
            (failed.status, failed.error_message.as_deref()),
            (Status::Failed, Some("lost"))
        );
    }
}
