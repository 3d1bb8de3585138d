//! Throw-away PostgreSQL clusters for tests that need servers of their own
//! (a publisher and a subscriber, say), started the way
//! `tests/pg_regress/with-cluster.sh` starts the cluster of `make test`: a
//! fresh directory under /tmp holding the data directory, the server log and
//! the Unix socket; a free TCP port on 127.0.0.1 from 54320 on; owned by the
//! `postgres` OS user when the tests run as root (initdb refuses root). The
//! server comes from `PG_CONFIG` (default: `pg_config` on PATH). Dropping a
//! [`Cluster`] stops the server and removes the directory.
//!
//! Every failure panics with what went wrong: a test that cannot get its
//! server must fail, never skip.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The first port tried, as in with-cluster.sh.
const FIRST_PORT: u16 = 54320;
/// Start attempts: another cluster may take the port chosen between the
/// check that nothing answers on it and the server's bind.
const START_ATTEMPTS: u16 = 20;

/// A running throw-away cluster; stopped and removed on drop.
pub struct Cluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    as_root: bool,
    port: u16,
    running: bool,
}

impl Cluster {
    /// Initialises and starts a cluster whose postgresql.conf ends with
    /// `conf` (one setting a line, e.g. `"wal_level = logical"`; a later
    /// line wins over the defaults).
    pub fn start(conf: &[&str]) -> Cluster {
        let mut cluster = Cluster::empty();
        let data = cluster.data_dir();
        let initdb_log = cluster.dir.path().join("initdb.log");
        let mut initdb = cluster.as_owner(&cluster.bindir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(log_file(&initdb_log))
            .stderr(log_file(&initdb_log));
        let status = initdb.status().expect("run initdb");
        assert!(
            status.success(),
            "initdb failed ({status}):\n{}",
            fs::read_to_string(&initdb_log).unwrap_or_default()
        );
        cluster.configure(conf);
        cluster.launch();
        cluster
    }

    /// A hot standby of `primary`: a base backup taken with `pg_basebackup
    /// -R` (so it streams from `primary` and runs read-only queries while it
    /// replays), started with `conf` appended like [`Cluster::start`].
    pub fn standby_of(primary: &Cluster, conf: &[&str]) -> Cluster {
        let mut cluster = Cluster::empty();
        let log = cluster.dir.path().join("basebackup.log");
        let mut backup = cluster.as_owner(&cluster.bindir.join("pg_basebackup"));
        backup
            .arg("-D")
            .arg(cluster.data_dir())
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync", "-d"])
            .arg(primary.url("postgres"))
            .stdout(log_file(&log))
            .stderr(log_file(&log));
        let status = backup.status().expect("run pg_basebackup");
        assert!(
            status.success(),
            "pg_basebackup failed ({status}):\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        // The primary's own settings came with the backup; the socket
        // directory and the port must be this cluster's.
        cluster.configure(conf);
        cluster.launch();
        cluster
    }

    /// A cluster directory with nothing in it yet.
    fn empty() -> Cluster {
        let bindir = crate::dump::bindir();
        let as_root = running_as_root();
        // /tmp, not $TMPDIR: a Unix socket path is limited to 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("jt-cluster.")
            .tempdir_in("/tmp")
            .expect("create the cluster directory in /tmp");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .expect("make the cluster directory readable");
        if as_root {
            run(Command::new("chown").arg("postgres").arg(dir.path()));
        }
        Cluster {
            dir,
            bindir,
            as_root,
            port: 0,
            running: false,
        }
    }

    /// Appends this cluster's settings and then `conf` to postgresql.conf.
    fn configure(&self, conf: &[&str]) {
        let data = self.data_dir();
        let socket_dir = self.socket_dir().display().to_string();
        let mut lines = vec![
            "listen_addresses = '127.0.0.1'".to_owned(),
            format!("unix_socket_directories = '{socket_dir}'"),
            // Throw-away data: no durability needed, only speed.
            "fsync = off".to_owned(),
            "synchronous_commit = off".to_owned(),
            "full_page_writes = off".to_owned(),
        ];
        lines.extend(conf.iter().map(|line| line.to_string()));
        let conf_path = data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf_path).expect("read postgresql.conf");
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        // Rewritten in place (the file keeps its owner, postgres).
        fs::write(&conf_path, text).expect("write postgresql.conf");
    }

    /// Starts the server on a free port.
    fn launch(&mut self) {
        let data = self.data_dir();
        // The port goes on pg_ctl's command line, so that a retry with the
        // next port needs no second edit of postgresql.conf.
        let mut port = FIRST_PORT;
        for _ in 0..START_ATTEMPTS {
            port = free_port(port);
            let status = self
                .pg_ctl()
                .arg("-l")
                .arg(self.log_path())
                .args(["-w", "-t", "60", "-o", &format!("-p {port}"), "start"])
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run pg_ctl start");
            if status.success() {
                self.port = port;
                self.running = true;
                return;
            }
            // A server that came up too slowly would keep the data directory
            // busy for the next attempt.
            if data.join("postmaster.pid").exists() {
                let _ = self
                    .pg_ctl()
                    .args(["-m", "immediate", "-w", "stop"])
                    .status();
            }
            port += 1;
        }
        panic!(
            "the cluster in {} did not start; its log:\n{}",
            self.dir.path().display(),
            self.log_tail(40)
        );
    }

    /// The directory of the server's Unix socket (a libpq `host`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq connection string for database `dbname`, as superuser
    /// `postgres` over the Unix socket.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={dbname}",
            self.socket_dir().display(),
            self.port
        )
    }

    /// A connection to database `dbname`.
    pub fn connect(&self, dbname: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(dbname), postgres::NoTls).unwrap_or_else(|e| {
            panic!(
                "connect to {dbname} of the cluster in {}: {e}",
                self.dir.path().display()
            )
        })
    }

    /// The last `lines` lines of the server log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `program`, run as the cluster's owner.
    fn as_owner(&self, program: &Path) -> Command {
        if self.as_root {
            let mut command = Command::new("sudo");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl(&self) -> Command {
        let mut command = self.as_owner(&self.bindir.join("pg_ctl"));
        command.arg("-D").arg(self.data_dir());
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of the server log of the cluster on port {} ---\n{}",
                self.port,
                self.log_tail(30)
            );
        }
        if self.running {
            // Failing to stop leaves a server behind, but must not turn a
            // test's own failure into a double panic.
            let _ = self
                .pg_ctl()
                .args(["-m", "fast", "-w", "stop"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed ({status})");
}

fn log_file(path: &Path) -> fs::File {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open a log file")
}

/// The first port from `from` on that nothing answers on.
fn free_port(from: u16) -> u16 {
    (from..u16::MAX)
        .find(|&port| {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
        })
        .expect("a free TCP port")
}
