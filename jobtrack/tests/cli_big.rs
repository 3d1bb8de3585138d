//! Large imports: `kill -9` in the middle leaves the file as it was, and
//! memory stays bounded however long the file.

mod cli_common;

use std::io::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cli_common::*;

/// Writes a file of `n` jobs, one variation in three, as JSON lines or as
/// one pretty-printed array.
fn big_file(path: &Path, n: usize, array: bool) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    if array {
        writeln!(f, "[").unwrap();
    }
    for i in 0..n {
        let id = format!("big-{i:07}");
        let line = if i % 3 == 2 {
            var_line(&id)
        } else {
            exec_line(&id)
        };
        let sep = if array && i + 1 < n { "," } else { "" };
        writeln!(f, "  {line}{sep}").unwrap();
    }
    if array {
        writeln!(f, "]").unwrap();
    }
    f.flush().unwrap();
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// `kill -9` late in a large mixed import — once its one transaction has
/// written three quarters of what the whole import writes — leaves the file
/// exactly as it was, and verify clean. Should any part of the import
/// commit before (as executions did when import ran two transactions), the
/// watcher sees it and kills at once, and the comparison fails.
#[test]
fn kill_9_during_a_large_mixed_import_leaves_the_file_as_before() {
    const JOBS: usize = 120_000;
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let before = snapshot(&db);
    let seeded_jobs = rows(&db, "job_summary_cache");
    let file = dir.path().join("big.jsonl");
    big_file(&file, JOBS, false);

    // How much the import writes: a complete run on a copy.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let out = jobtrack(&copy, &["import", p(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = file_len(&copy) - file_len(&db);
    assert!(written > 16 << 20, "{written} bytes");

    let wal = db.with_extension("db-wal");
    let watcher =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let committed = || -> i64 {
        watcher
            .query_row("SELECT COUNT(*) FROM job_summary_cache", [], |r| r.get(0))
            .unwrap()
    };
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args(["import", p(&file)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The transaction's pages spill into the WAL as it goes. The deadline
    // only keeps a broken build from hanging the test run.
    let deadline = Instant::now() + Duration::from_secs(900);
    while file_len(&wal) < written / 4 * 3 && committed() == seeded_jobs {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended before it was killed: {status:?}");
        }
        assert!(Instant::now() < deadline, "the import never got that far");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed, not finished: {status:?}");
    eprintln!(
        "killed with {} MB in the WAL, of {} MB the import writes",
        file_len(&wal) >> 20,
        written >> 20
    );
    drop(watcher);

    assert_eq!(snapshot(&db), before);
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// Runs `jobtrack --db DB ARGS` and returns its peak resident set size in
/// bytes (wait4's ru_maxrss), asserting success.
fn peak_rss(db: &Path, args: &[&str]) -> u64 {
    let child = bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data, filled in by wait4 for our own
    // child; the Child is not waited for elsewhere.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "jobtrack {args:?} failed: status {status}"
    );
    drop(child);
    // Linux reports ru_maxrss in kilobytes.
    usage.ru_maxrss as u64 * 1024
}

/// The whole file is never in memory: importing 300,000 jobs as JSON lines
/// (37 MB), or 100,000 in a pretty-printed array, peaks far below what
/// parsing the whole file takes (the whole-file reader of 0.1.0 peaked at
/// 510 MB for the 300,000 lines).
#[test]
fn import_memory_is_bounded() {
    const LIMIT: u64 = 150 << 20;
    let dir = tempfile::tempdir().unwrap();
    for (name, jobs, array) in [("big.jsonl", 300_000, false), ("big.json", 100_000, true)] {
        let db = dir.path().join(format!("{name}.db"));
        let file = dir.path().join(name);
        big_file(&file, jobs, array);
        let rss = peak_rss(&db, &["import", p(&file)]);
        eprintln!(
            "{name}: {} MB file, peak RSS {:.1} MB",
            file_len(&file) >> 20,
            rss as f64 / 1048576.0
        );
        assert!(rss < LIMIT, "{name}: peak RSS {rss} bytes");
        assert_eq!(rows(&db, "job_summary_cache"), jobs as i64);
        std::fs::remove_file(&file).unwrap();
    }
}
