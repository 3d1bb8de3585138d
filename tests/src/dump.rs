//! Helpers for the tests that run PostgreSQL's own client programs
//! (`pg_dump`, `pg_restore`, `psql`) and connect as other roles, against the
//! server of `make test` (`JOBTRACK_PG_URL`). Like [`crate::fresh_database`]
//! these never skip: a test that cannot reach its server fails, saying why.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

/// The connection string of the server (`JOBTRACK_PG_URL`); panics when it
/// is not set.
pub fn server_url() -> String {
    crate::pg_url().unwrap_or_else(|| {
        panic!(
            "JOBTRACK_PG_URL is not set: this test needs a PostgreSQL server with jobtrack \
             installed. Run the PostgreSQL tests through `make pg-test`, which starts one, or \
             one test file as `tests/pg_regress/with-cluster.sh --preload -- cargo test \
             -p jobtrack-tests --test <name>`"
        )
    })
}

/// `url` with its database replaced by `name` (libpq and the `postgres`
/// crate both take the last value of a repeated key).
pub fn with_database(url: &str, name: &str) -> String {
    format!("{url} dbname={name}")
}

/// `url` connecting as role `user` instead (the test clusters trust local
/// connections).
pub fn as_user(url: &str, user: &str) -> String {
    format!("{url} user={user}")
}

/// An autocommit connection; panics naming `url` when it fails.
pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect with {url:?}: {e}"))
}

/// Creates database `name` afresh (dropping an old one) from `template0`,
/// with `CREATE EXTENSION jobtrack` when `extension`; returns its
/// connection string.
pub fn create_database(name: &str, extension: bool) -> String {
    let url = server_url();
    let mut admin = connect(&url);
    // Two calls: DROP / CREATE DATABASE refuse to run in a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap_or_else(|e| panic!("drop database {name}: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    let db_url = with_database(&url, name);
    if extension {
        connect(&db_url)
            .batch_execute("SET client_min_messages = warning; CREATE EXTENSION jobtrack")
            .unwrap_or_else(|e| panic!("CREATE EXTENSION jobtrack in {name}: {e}"));
    }
    db_url
}

/// Drops database `name` (a test's own, when it is done with it).
pub fn drop_database(name: &str) {
    connect(&server_url())
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap_or_else(|e| panic!("drop database {name}: {e}"));
}

/// The directory of the server's client programs: `pg_config --bindir`
/// (`PG_CONFIG` chooses the server, as in with-cluster.sh), so that the
/// dump tools match the server.
pub fn bindir() -> PathBuf {
    let pg_config = std::env::var("PG_CONFIG").unwrap_or_else(|_| "pg_config".to_owned());
    let output = Command::new(&pg_config)
        .arg("--bindir")
        .output()
        .unwrap_or_else(|e| panic!("run {pg_config} --bindir: {e}"));
    assert!(
        output.status.success(),
        "{pg_config} --bindir failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// Runs `program` (from [`bindir`]) with `args`; panics with its exit
/// status and stderr unless it succeeds. Returns its stderr (warnings).
pub fn run_tool<S: AsRef<OsStr>>(program: &str, args: &[S]) -> String {
    let path = bindir().join(program);
    let output = Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    assert!(
        output.status.success(),
        "{program} {shown:?} failed ({}):\n{stderr}",
        output.status
    );
    stderr
}

/// The SQLSTATE of a server error, or a description of the error when it
/// has none (a broken connection, say), so that assertions on the code show
/// what happened instead.
pub fn sqlstate(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.code().code().to_owned(),
        None => format!("(no SQLSTATE: {e})"),
    }
}

/// `SQLSTATE: message` of a server error, for failure reports.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => format!("(no SQLSTATE) {e}"),
    }
}
