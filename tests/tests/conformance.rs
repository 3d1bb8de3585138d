//! The conformance suite: every scenario of `tests/conformance/scenarios.json`
//! runs against the SQLite library, through `jobtrack_core::call` on its
//! `JobApi`, and against the PostgreSQL extension (the server of
//! `JOBTRACK_PG_URL`, which `make test` starts), through SQL calls built
//! from each Operation's signature. Both must produce the scenario's
//! expected JSON — and therefore the same JSON. The scenario loop and the
//! SQL backend are in `jobtrack_tests::conformance`, which
//! `tests/tests/pg_bouncer.rs` runs through PgBouncer too.

use jobtrack_core::{Error, Operation};
use jobtrack_sqlite::JobStore;
use jobtrack_tests::conformance::{
    fresh_session, report, run_all, Backend, Outcome, Postgres, Statements,
};
use serde_json::Value;

// ---------------------------------------------------------------- SQLite

struct Sqlite {
    store: JobStore,
    other_program: rusqlite::Connection,
    _dir: tempfile::TempDir,
}

fn err(e: Error) -> (String, String) {
    (e.sqlstate().to_owned(), e.to_string())
}

impl Backend for Sqlite {
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome {
        jobtrack_core::call(&self.store, op, args).map_err(err)
    }

    fn plain_sql(&mut self, sql: &str) {
        self.other_program
            .execute_batch(sql)
            .unwrap_or_else(|e| panic!("plain SQL failed in SQLite: {sql}: {e}"));
    }
}

#[test]
fn sqlite_conformance() {
    report(run_all("sqlite", &mut |_| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conformance.db");
        let store = JobStore::open(&path).unwrap();
        let other_program = rusqlite::Connection::open(&path).unwrap();
        other_program
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        Box::new(Sqlite {
            store,
            other_program,
            _dir: dir,
        })
    }));
}

// ------------------------------------------------------------ PostgreSQL

/// The scenarios on the server twice: as SQL calls built from each
/// Operation's signature (the server parses every argument, as a SQL client
/// would send it), then through the Rust client `PgStore`.
#[test]
fn postgres_conformance() {
    // A database of its own, so that other tests against the same server do
    // not disturb the scenarios, and the scenarios do not disturb them.
    let db_url = jobtrack_tests::fresh_database("jobtrack_conformance");
    let failures = run_all("postgresql", &mut |_| {
        let client = fresh_session(&db_url);
        Box::new(Postgres::new(client, Statements::Prepared))
    });
    let mut failures = failures;
    failures.extend(postgres_client_conformance(&db_url));
    report(failures);
}

// ------------------------------------------ PostgreSQL through PgStore

/// The server through the Rust client: the same `jobtrack_core::call` on
/// `PgStore`'s `JobApi` as on SQLite's `JobStore`, so that the two stores
/// cannot drift apart; plain SQL through a connection of its own.
struct PgClient {
    store: jobtrack_postgres::PgStore,
    other_program: postgres::Client,
}

impl Backend for PgClient {
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome {
        jobtrack_core::call(&self.store, op, args).map_err(err)
    }

    fn plain_sql(&mut self, sql: &str) {
        self.other_program
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("plain SQL failed in PostgreSQL: {sql}: {e}"));
    }
}

/// Run by `postgres_conformance`, after the SQL runner: the transaction
/// metrics are server-wide, so the two must not run at once.
fn postgres_client_conformance(db_url: &str) -> Vec<String> {
    run_all("postgresql-client", &mut |_| {
        let other_program = fresh_session(db_url);
        let store = jobtrack_postgres::PgStore::connect(db_url).unwrap();
        Box::new(PgClient {
            store,
            other_program,
        })
    })
}
