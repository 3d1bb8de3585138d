//! The schema, its versions, and how a file is opened.
//!
//! The schema is hand-written SQL under `sql/sqlite/`: `schema.sql` is the
//! current schema, the one a new file gets; `migrations/000N_*.sql` takes a
//! file from version N − 1 to N. `PRAGMA user_version` holds the version of a
//! file. A test checks that a file migrated from every earlier version has
//! exactly the schema of a new one.
//!
//! Opening reads before it writes: the version and the tables are inspected
//! in a read transaction, and only a file that needs creating or migrating
//! is written to, under `BEGIN IMMEDIATE`, after checking again.

use std::path::Path;
use std::time::{Duration, Instant};

use jobtrack_core::{Error, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::DbResultExt;
use crate::store::{JobStoreOptions, Synchronous};

/// The current schema, complete.
const SCHEMA: &str = include_str!("../../sql/sqlite/schema.sql");

/// One step of the schema's history.
struct Migration {
    /// The statements that take a file from the previous version to this
    /// one; run in the migration's transaction.
    script: &'static str,
    /// A query run first, listing (SQLSTATE, problem) for each row of the
    /// file the new version refuses; the migration stops on the first.
    precheck: Option<&'static str>,
}

/// `MIGRATIONS[i]` takes a file from version `i` to version `i + 1`.
/// Version 1's script is what the first release ran on a new file; a new
/// file now gets [`SCHEMA`] instead, and the script stays to say what a
/// version-1 file holds.
const MIGRATIONS: &[Migration] = &[
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0001_initial.sql"),
        precheck: None,
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0002_counters.sql"),
        precheck: None,
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0003_guards.sql"),
        precheck: Some(include_str!(
            "../../sql/sqlite/migrations/0003_guards_precheck.sql"
        )),
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0004_jobs_view.sql"),
        precheck: None,
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0005_batch_status.sql"),
        precheck: None,
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0006_worker.sql"),
        precheck: None,
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0007_heartbeat.sql"),
        precheck: None,
    },
    Migration {
        script: include_str!("../../sql/sqlite/migrations/0008_experiment_counters.sql"),
        precheck: None,
    },
];

/// The schema version this release writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The columns of [`TABLES`] added after their table, with the version that
/// added each (always last, as ALTER TABLE ADD COLUMN puts them).
const ADDED_COLUMNS: &[(&str, &str, i32)] = &[
    ("executions", "worker", 6),
    ("variations", "worker", 6),
    ("executions", "last_heartbeat", 7),
    ("variations", "last_heartbeat", 7),
    ("job_summary_cache", "experiment_name", 8),
    ("job_summary_cache", "total_combinations", 8),
];

/// The columns of jobtrack's tables, in order: those of version 1, then
/// `worker` (version 6), `last_heartbeat` (version 7) and the summary's
/// `experiment_name` and `total_combinations` (version 8), the
/// [`ADDED_COLUMNS`]; `job_counters` exists from version 2 on,
/// `experiment_counters` from version 8. A file whose user_version claims
/// jobtrack's schema must have these, or it is another program's.
const TABLES: &[(&str, i32, &[&str])] = &[
    (
        "executions",
        1,
        &[
            "job_id",
            "status",
            "pipeline_mode",
            "dataset_name",
            "preset",
            "total_steps",
            "current_step",
            "start_time",
            "end_time",
            "duration_seconds",
            "success",
            "error_message",
            "output_path",
            "created_at",
            "updated_at",
            "worker",
            "last_heartbeat",
        ],
    ),
    (
        "variations",
        1,
        &[
            "job_id",
            "status",
            "variation_id",
            "experiment_name",
            "dataset_name",
            "preset",
            "total_combinations",
            "varied_parameters",
            "parameter_values",
            "parent_experiment_id",
            "total_steps",
            "current_step",
            "start_time",
            "end_time",
            "duration_seconds",
            "success",
            "error_message",
            "output_path",
            "created_at",
            "updated_at",
            "worker",
            "last_heartbeat",
        ],
    ),
    (
        "job_summary_cache",
        1,
        &[
            "job_id",
            "job_type",
            "status",
            "dataset_name",
            "preset",
            "start_time",
            "duration_seconds",
            "success",
            "last_updated",
            "experiment_name",
            "total_combinations",
        ],
    ),
    (
        "job_counters",
        2,
        &[
            "dataset_name",
            "job_type",
            "status",
            "jobs",
            "successful",
            "failed",
            "duration_count",
            "duration_micros_sum",
        ],
    ),
    (
        "experiment_counters",
        8,
        &[
            "experiment_name",
            "total_combinations",
            "status",
            "jobs",
            "successful",
            "failed",
            "duration_count",
            "duration_micros_sum",
        ],
    ),
];

/// Statements prepared once per connection and kept: every runtime query
/// plus a margin.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// What a file needs, found by [`inspect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    /// Creating (from version 0) or migrating from this version.
    Migration(i32),
}

fn foreign(message: String) -> Error {
    Error::database("0A000", message)
}

/// Reads the version and tables of the file and decides whether it is
/// jobtrack's and what it needs. Only reads.
fn inspect(conn: &Connection) -> Result<Needs> {
    let version: i32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .db()?;
    if version < 0 {
        return Err(foreign(format!(
            "the database has PRAGMA user_version = {version}, which is no jobtrack schema \
             version; it is another program's file, left as it is"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(foreign(format!(
            "the database has jobtrack schema version {version}, newer than the version \
             {SCHEMA_VERSION} this release knows; use a newer jobtrack"
        )));
    }
    if version == 0 {
        let objects: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                [],
                |row| row.get(0),
            )
            .db()?;
        if objects > 0 {
            return Err(foreign(
                "the database already holds tables but no jobtrack schema version \
                 (PRAGMA user_version = 0); refusing to add jobtrack's tables to it"
                    .into(),
            ));
        }
        return Ok(Needs::Migration(0));
    }
    for (table, since, expected) in TABLES {
        if version < *since {
            continue;
        }
        let mut stmt = conn
            .prepare_cached("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .db()?;
        let columns = stmt
            .query_map([table], |row| row.get::<_, String>(0))
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        // A file of an older version lacks the columns added since.
        let expected: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|column| {
                !ADDED_COLUMNS
                    .iter()
                    .any(|(t, c, since)| t == table && c == column && version < *since)
            })
            .collect();
        if columns != expected {
            let found = if columns.is_empty() {
                "is missing".to_owned()
            } else {
                format!("has the columns ({})", columns.join(", "))
            };
            return Err(foreign(format!(
                "the database says jobtrack schema version {version} (PRAGMA user_version) but \
                 its table {table} {found}; it is not a jobtrack file, left as it is"
            )));
        }
    }
    Ok(if version == SCHEMA_VERSION {
        Needs::Nothing
    } else {
        Needs::Migration(version)
    })
}

/// Runs [`inspect`] in one read transaction, so that the version and the
/// tables come from one snapshot.
fn inspect_read_only(conn: &mut Connection) -> Result<Needs> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
    let needs = inspect(&tx)?;
    tx.commit().db()?;
    Ok(needs)
}

/// Takes a file from version `from` to [`SCHEMA_VERSION`] inside the
/// caller's transaction.
fn upgrade(conn: &Connection, from: i32, migrations: &[Migration]) -> Result<()> {
    if from == 0 {
        conn.execute_batch(SCHEMA).db()?;
    } else {
        for (done, migration) in migrations.iter().enumerate().skip(from as usize) {
            let to = done as i32 + 1;
            if let Some(check) = migration.precheck {
                refuse_if_any(conn, check, to)?;
            }
            conn.execute_batch(migration.script).db()?;
        }
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .db()
}

/// Fails with the first problem `check` lists, naming the version that
/// refuses it.
fn refuse_if_any(conn: &Connection, check: &str, version: i32) -> Result<()> {
    let mut stmt = conn.prepare(check).db()?;
    let mut rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .db()?;
    match rows.next() {
        None => Ok(()),
        Some(row) => {
            let (sqlstate, problem) = row.db()?;
            let more = rows.count();
            let more = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            Err(Error::database(
                &sqlstate,
                format!(
                    "cannot migrate the database to jobtrack schema version {version}: \
                     {problem}{more}; correct it with plain SQL and open it again \
                     (nothing was changed)"
                ),
            ))
        }
    }
}

/// Brings the schema of `conn` to [`SCHEMA_VERSION`]: inspects it read-only
/// and, when it needs creating or migrating, does so under `BEGIN IMMEDIATE`
/// after inspecting again — another process may have done it meanwhile.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_with(conn, MIGRATIONS)
}

fn migrate_with(conn: &mut Connection, migrations: &[Migration]) -> Result<()> {
    if inspect_read_only(conn)? == Needs::Nothing {
        return Ok(());
    }
    // WAL before the transaction (a journal mode cannot change inside
    // one), and only now that the file is known to be jobtrack's or empty.
    use_wal(conn)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    if let Needs::Migration(from) = inspect(&tx)? {
        upgrade(&tx, from, migrations)?;
    }
    tx.commit().db()
}

/// Switches a file to WAL unless it is there already (asking changes
/// nothing). A file system without shared memory keeps the old mode, which
/// is slower but still correct; an in-memory database stays in memory.
fn use_wal(conn: &Connection) -> Result<()> {
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .db()?;
    if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") {
        return Ok(());
    }
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .db()?;
    Ok(())
}

fn is_busy(e: &Error) -> bool {
    e.sqlstate() == "55P03"
}

/// Opens the read-write connection of a file store and brings its schema
/// up to date. Paths are file names, never `file:` URIs, so that the
/// readers are sure to open the writer's file.
///
/// SQLite returns "busy" at once, without waiting, where waiting could
/// deadlock (two connections converting a new file to WAL at the same
/// time, one reading while the other takes the write lock); such a step is
/// retried from the start until `busy_timeout` has passed.
pub(crate) fn open_file(path: &Path, options: &JobStoreOptions) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if options.create_if_missing {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = match Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(e)
            if !options.create_if_missing
                && e.sqlite_error_code() == Some(ErrorCode::CannotOpen)
                && !path.exists() =>
        {
            return Err(Error::database(
                "58P01",
                format!(
                    "database file {} does not exist (not created: create_if_missing is off)",
                    path.display()
                ),
            ));
        }
        Err(e) => return Err(crate::error::db_error(e)),
    };
    conn.busy_timeout(options.busy_timeout).db()?;
    configure(&conn, options.synchronous)?;
    let deadline = Instant::now() + options.busy_timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match migrate(&mut conn) {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result.map(|()| conn),
        }
    }
}

/// Opens a read-only connection to a file store (readers and the cache's
/// change monitor). The writer must have created the file first.
pub(crate) fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .db()?;
    conn.busy_timeout(busy_timeout).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(conn)
}

/// Settings of a read-write connection, file or memory. None of them
/// writes to the file.
pub(crate) fn configure(conn: &Connection, synchronous: Synchronous) -> Result<()> {
    conn.pragma_update(None, "synchronous", synchronous.pragma_value())
        .db()?;
    // No foreign keys today; on so that a later schema's are enforced.
    conn.pragma_update(None, "foreign_keys", true).db()?;
    // Statement journals, and the working table of status changes, in
    // memory rather than in temporary files: a write statement inside a
    // transaction copies each page it first touches to its statement
    // journal.
    conn.pragma_update(None, "temp_store", "MEMORY").db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // Private to this connection and empty between calls; creating it
    // writes nothing to the file.
    conn.execute_batch(crate::queries::STATUS_CHANGE_TABLE)
        .db()?;
    conn.execute_batch(crate::queries::PRUNE_BATCH_TABLE).db()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(conn: &Connection) -> i32 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    fn options() -> JobStoreOptions {
        JobStoreOptions {
            busy_timeout: Duration::from_secs(1),
            ..JobStoreOptions::default()
        }
    }

    #[test]
    fn new_file_gets_current_version_and_reopening_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let conn = open_file(&path, &options()).unwrap();
        assert_eq!(user_version(&conn), SCHEMA_VERSION);
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        conn.execute(
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
             VALUES ('kept', 'single', 'd', 'p')",
            [],
        )
        .unwrap();
        drop(conn);
        let again = open_file(&path, &options()).unwrap();
        let n: i64 = again
            .query_row("SELECT COUNT(*) FROM executions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "re-opening must not touch existing data");
    }

    #[test]
    fn a_failing_migration_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].script).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
                 VALUES ('old', 'single', 'd', 'p')",
                [],
            )
            .unwrap();
        }
        let mut conn = Connection::open(&path).unwrap();
        let broken = [
            Migration {
                script: MIGRATIONS[0].script,
                precheck: None,
            },
            Migration {
                script: "ALTER TABLE executions ADD COLUMN x INTEGER; SELECT * FROM no_such_table;",
                precheck: None,
            },
        ];
        migrate_with(&mut conn, &broken).unwrap_err();
        assert_eq!(user_version(&conn), 1);
        assert!(conn.prepare("SELECT x FROM executions").is_err());
        // A precheck that finds a problem stops the migration before its
        // script, with the problem's SQLSTATE.
        let refused = [
            Migration {
                script: MIGRATIONS[0].script,
                precheck: None,
            },
            Migration {
                script: "ALTER TABLE executions ADD COLUMN x INTEGER;",
                precheck: Some("SELECT '23514', 'job ' || job_id || ' is old' FROM executions"),
            },
        ];
        let err = migrate_with(&mut conn, &refused).unwrap_err();
        assert_eq!(err.sqlstate(), "23514");
        assert!(err.to_string().contains("job old is old"), "{err}");
        assert_eq!(user_version(&conn), 1);
        assert!(conn.prepare("SELECT x FROM executions").is_err());
    }

    #[test]
    fn newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
        assert_eq!(err.sqlstate(), "0A000");
    }

    #[test]
    fn foreign_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE executions (x INTEGER)")
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
        // With a version that claims jobtrack's schema as well.
        conn.pragma_update(None, "user_version", 2).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            err.to_string()
                .contains("its table executions has the columns (x)"),
            "{err}"
        );
        conn.pragma_update(None, "user_version", -1).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("user_version = -1"), "{err}");
    }

    #[test]
    fn the_known_columns_are_the_schemas() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for (table, _, expected) in TABLES {
            let columns: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .unwrap()
                .query_map([table], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(columns, *expected, "{table}");
        }
    }

    #[test]
    fn defaults_produce_the_fixed_width_format() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
             VALUES ('a', 'single', 'd', 'p')",
            [],
        )
        .unwrap();
        let (created, updated): (String, String) = conn
            .query_row("SELECT created_at, updated_at FROM executions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(created.len(), 27, "{created}");
        let parsed: jobtrack_core::Timestamp = created.parse().unwrap();
        assert_eq!(parsed.to_string(), created);
        assert_eq!(created, updated);
        // Another spelling would break text order; the CHECK refuses it.
        let err = conn
            .execute(
                "UPDATE executions SET created_at = datetime('now') WHERE job_id = 'a'",
                [],
            )
            .unwrap_err();
        assert_eq!(crate::error::db_error(err).sqlstate(), "23514");
    }
}
