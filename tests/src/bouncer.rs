//! A private PgBouncer (`/usr/sbin/pgbouncer`, from the Debian package
//! `pgbouncer`, which `make pg-deps` installs) in transaction pooling mode in
//! front of one database of a PostgreSQL server: its own configuration, log
//! and Unix socket in a fresh directory under /tmp, no TCP listener, so that
//! it can neither collide with nor disturb the system's pgbouncer service or
//! another test's pooler. Run as the `postgres` OS user when the tests run as
//! root (pgbouncer refuses root). Dropping a [`Bouncer`] kills it and removes
//! the directory.
//!
//! Every failure panics with what went wrong: a test that cannot get its
//! pooler must fail, never skip.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant};

use postgres::config::Host;
use postgres::SimpleQueryMessage;

/// The Debian package's binary.
pub const PGBOUNCER: &str = "/usr/sbin/pgbouncer";
/// The port in the name of the pooler's socket (`.s.PGSQL.<port>`). The
/// socket lives in a directory of its own and there is no TCP listener, so
/// the customary port cannot collide.
const PORT: u16 = 6432;
/// How long the pooler may take to accept its first query.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A running pgbouncer; killed on drop.
pub struct Bouncer {
    dir: tempfile::TempDir,
    child: Child,
    user: String,
    dbname: String,
    pool_size: u32,
}

impl Bouncer {
    /// Starts pgbouncer in front of the database of `server_url` (a libpq
    /// connection string with host, port, user and dbname, such as
    /// [`crate::fresh_database`] or [`crate::cluster::Cluster::url`]
    /// returns), serving it under the same name with `pool_size` server
    /// connections at most, in transaction pooling mode: a client holds a
    /// server connection only for the duration of a transaction, so many
    /// clients share the few server sessions. Returns once a query through
    /// the pooler has succeeded and all `pool_size` server connections are
    /// open.
    pub fn start(server_url: &str, pool_size: u32) -> Bouncer {
        assert!(
            Path::new(PGBOUNCER).exists(),
            "{PGBOUNCER} is missing: install the Debian package pgbouncer (`make pg-deps`)"
        );
        let server = postgres::Config::from_str(server_url)
            .unwrap_or_else(|e| panic!("parse the server's connection string {server_url:?}: {e}"));
        let host = match server.get_hosts() {
            [Host::Unix(dir)] => dir.display().to_string(),
            [Host::Tcp(name)] => name.clone(),
            hosts => panic!("{server_url:?} names {} hosts, not one", hosts.len()),
        };
        let port = match server.get_ports() {
            [] => 5432,
            [port] => *port,
            ports => panic!("{server_url:?} names {} ports, not one", ports.len()),
        };
        let user = server
            .get_user()
            .unwrap_or_else(|| panic!("{server_url:?} names no user"))
            .to_owned();
        let dbname = server
            .get_dbname()
            .unwrap_or_else(|| panic!("{server_url:?} names no database"))
            .to_owned();

        // /tmp, not $TMPDIR: a Unix socket path is limited to 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("jt-bouncer.")
            .tempdir_in("/tmp")
            .expect("create the pooler's directory in /tmp");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .expect("make the pooler's directory readable");
        let as_root = running_as_root();
        if as_root {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        // The throw-away servers trust local connections, so the pooler
        // needs no passwords; `trust` still wants the user in the auth file.
        fs::write(
            dir.path().join("userlist.txt"),
            format!("\"{user}\" \"\"\n"),
        )
        .expect("write userlist.txt");
        let ini = format!(
            "[databases]\n\
             {dbname} = host={host} port={port} dbname={dbname}\n\
             [pgbouncer]\n\
             listen_port = {PORT}\n\
             unix_socket_dir = {socket_dir}\n\
             auth_type = trust\n\
             auth_file = {socket_dir}/userlist.txt\n\
             pool_mode = transaction\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 200\n\
             ; Every server connection open from the start, used in turn\n\
             ; instead of the default LIFO reuse: consecutive transactions\n\
             ; of one client move between server sessions, so that a test\n\
             ; relying on session state fails instead of passing by luck.\n\
             min_pool_size = {pool_size}\n\
             server_round_robin = 1\n\
             ; The console (database pgbouncer) says when the pool is full.\n\
             admin_users = {user}\n",
            socket_dir = dir.path().display(),
        );
        let ini_path = dir.path().join("pgbouncer.ini");
        fs::write(&ini_path, ini).expect("write pgbouncer.ini");

        let log = fs::File::create(dir.path().join("pgbouncer.log")).expect("create the log");
        let mut command = Command::new(PGBOUNCER);
        if as_root {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log's handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {PGBOUNCER}: {e}"));
        let mut bouncer = Bouncer {
            dir,
            child,
            user,
            dbname,
            pool_size,
        };
        bouncer.wait_until_ready();
        bouncer
    }

    /// Waits until a query through the pooler succeeds and all
    /// `pool_size` server connections are open.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        // pgbouncer tops a pool up to min_pool_size only while a client is
        // connected to it: the first client that gets an answer stays.
        let mut client = None;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll pgbouncer") {
                panic!("pgbouncer exited ({status}); its log:\n{}", self.log());
            }
            let state = match &client {
                Some(_) => {
                    let open = self.server_connections();
                    if open >= self.pool_size {
                        return;
                    }
                    format!("{open} server connections")
                }
                None => match postgres::Client::connect(&self.url(), postgres::NoTls)
                    .and_then(|mut c| c.simple_query("SELECT 1").map(|_| c))
                {
                    Ok(c) => {
                        client = Some(c);
                        continue;
                    }
                    Err(e) => e.to_string(),
                },
            };
            if Instant::now() > deadline {
                panic!(
                    "pgbouncer was not ready within {}s ({state}, {} wanted); its log:\n{}",
                    READY_WITHIN.as_secs(),
                    self.pool_size,
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server connections the pooler holds for the database now, busy
    /// or idle (pgbouncer's `SHOW POOLS`).
    pub fn server_connections(&self) -> u32 {
        let url = format!(
            "host={} port={PORT} user={} dbname=pgbouncer",
            self.dir.path().display(),
            self.user
        );
        let mut console = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the pgbouncer console ({url}): {e}"));
        // The console speaks the simple query protocol only.
        let messages = console
            .simple_query("SHOW POOLS")
            .unwrap_or_else(|e| panic!("SHOW POOLS: {e}"));
        messages
            .iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) if row.get("database") == Some(&self.dbname) => {
                    Some(row)
                }
                _ => None,
            })
            .map(|row| {
                ["sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"]
                    .iter()
                    .map(|column| {
                        row.get(*column)
                            .and_then(|n| n.parse::<u32>().ok())
                            .unwrap_or_else(|| panic!("SHOW POOLS without a number in {column}"))
                    })
                    .sum::<u32>()
            })
            .sum()
    }

    /// A libpq connection string for the database through the pooler, as
    /// the server's user, over the pooler's Unix socket.
    pub fn url(&self) -> String {
        format!(
            "host={} port={PORT} user={} dbname={}",
            self.dir.path().display(),
            self.user,
            self.dbname
        )
    }

    /// An autocommit client connection through the pooler.
    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect through pgbouncer ({}): {e}", self.url()))
    }

    /// pgbouncer's log so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        if thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "--- last lines of the pgbouncer log ---\n{}",
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
        // Throw-away: nothing to flush, so SIGKILL is enough; the server
        // ends the backends whose connections close. A failure must not turn
        // a test's own failure into a double panic.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process runs as root: /proc/self belongs to its effective
/// user.
fn running_as_root() -> bool {
    fs::metadata("/proc/self").expect("stat /proc/self").uid() == 0
}
