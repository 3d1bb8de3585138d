//! The schema, its versions, and how connections are set up.
//!
//! The schema is hand-written SQL under `sql/sqlite/`. `PRAGMA user_version`
//! holds the version of a file; [`migrate`] applies every later script in
//! one transaction, so a file written by an older release is upgraded in
//! place when a newer release opens it.

use std::path::Path;
use std::time::Duration;

use jobtrack_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::DbResultExt;

/// The migration scripts; script `i` takes a file from version `i` to
/// version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../sql/sqlite/schema_v1.sql"),
    include_str!("../../sql/sqlite/schema_v2.sql"),
];

/// The schema version this release writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Statements prepared once per connection and kept: every runtime query
/// plus a margin.
const STATEMENT_CACHE_CAPACITY: usize = 32;

/// Brings the schema of `conn` to [`SCHEMA_VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    apply_migrations(conn, MIGRATIONS)
}

/// Applies the scripts of `migrations` the file has not seen yet, all in one
/// transaction: a failing script leaves the file as it was.
fn apply_migrations(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let latest = migrations.len() as i32;
    // IMMEDIATE: two processes opening a new file at once must not both run
    // the scripts; the second waits, then finds the version already current.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let version: i32 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .db()?;
    if version > latest {
        return Err(Error::database(
            "0A000",
            format!(
                "the database has jobtrack schema version {version}, newer than the \
                 version {latest} this release knows; use a newer jobtrack"
            ),
        ));
    }
    if version == 0 {
        let foreign: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                [],
                |row| row.get(0),
            )
            .db()?;
        if foreign > 0 {
            return Err(Error::database(
                "0A000",
                "the database already holds tables but no jobtrack schema version \
                 (PRAGMA user_version = 0); refusing to add jobtrack's tables to it",
            ));
        }
    }
    for (done, script) in migrations.iter().enumerate().skip(version as usize) {
        tx.execute_batch(script).db()?;
        tx.pragma_update(None, "user_version", done as i32 + 1)
            .db()?;
    }
    tx.commit().db()
}

/// Opens the read-write connection of a file store: WAL so that readers
/// never block the writer, NORMAL sync (in WAL mode never corrupt, durable
/// from the next checkpoint on), and a busy timeout for other processes'
/// locks. Paths are file names, never `file:` URIs, so that the readers are
/// sure to open the writer's file.
pub(crate) fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .db()?;
    conn.busy_timeout(busy_timeout).db()?;
    // journal_mode answers with the mode in effect; a file system without
    // shared memory keeps the old mode, which is slower but still correct.
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .db()?;
    configure(&conn)?;
    Ok(conn)
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

/// Settings of a read-write connection, file or memory.
pub(crate) fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "synchronous", "NORMAL").db()?;
    // No foreign keys today; on so that a later schema's are enforced.
    conn.pragma_update(None, "foreign_keys", true).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(conn: &Connection) -> i32 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn new_file_gets_current_version_and_reopening_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = open_writer(&path, Duration::from_secs(1)).unwrap();
        migrate(&mut conn).unwrap();
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
        let mut again = open_writer(&path, Duration::from_secs(1)).unwrap();
        migrate(&mut again).unwrap();
        let n: i64 = again
            .query_row("SELECT COUNT(*) FROM executions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "re-migrating must not touch existing data");
    }

    #[test]
    fn a_later_release_migrates_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = open_writer(&path, Duration::from_secs(1)).unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
             VALUES ('old', 'single', 'd', 'p')",
            [],
        )
        .unwrap();
        let v2 = "ALTER TABLE executions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;";
        let broken_v2 = "ALTER TABLE executions ADD COLUMN x INTEGER; SELECT * FROM no_such_table;";

        // A failing script changes nothing, the version included.
        let mut scripts = MIGRATIONS.to_vec();
        scripts.push(broken_v2);
        apply_migrations(&mut conn, &scripts).unwrap_err();
        assert_eq!(user_version(&conn), SCHEMA_VERSION);
        assert!(conn.prepare("SELECT x FROM executions").is_err());

        let mut scripts = MIGRATIONS.to_vec();
        scripts.push(v2);
        apply_migrations(&mut conn, &scripts).unwrap();
        assert_eq!(user_version(&conn), SCHEMA_VERSION + 1);
        // Applied once: running it again would fail on the duplicate column.
        apply_migrations(&mut conn, &scripts).unwrap();
        let (id, priority): (String, i64) = conn
            .query_row("SELECT job_id, priority FROM executions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((id.as_str(), priority), ("old", 0));
    }

    #[test]
    fn newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn foreign_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE executions (x INTEGER)")
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
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
