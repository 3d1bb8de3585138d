//! The connection pool of a [`PgStore`](crate::PgStore): `size` connections
//! kept open, up to `max_overflow` more opened when all are busy and closed
//! when they come back, a liveness check before a connection is handed out
//! (pre-ping), and a reset when one that a caller used freely comes back.
//!
//! Why not r2d2 or deadpool: neither has overflow connections that close on
//! return (they keep up to their maximum open until an idle timeout), nor a
//! hook when a connection is returned, which the reset needs; both would
//! have to be bent into these semantics. This pool is a `Mutex` and a
//! `Condvar` over `postgres::Client`, blocking, with no runtime to start.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jobtrack_core::{Error, Result};
use postgres::{Client, Config, NoTls, Statement};
use serde::Serialize;

use crate::error::client_error;

/// Settings of the pool; the defaults are those of the design jobtrack
/// comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Connections kept open once opened (default 20).
    pub size: usize,
    /// Connections opened beyond `size` when every one is busy, and closed
    /// when they are returned (default 30).
    pub max_overflow: usize,
    /// How long a caller waits for a free connection, or for the server to
    /// accept one, before failing (default 30 s; SQLSTATE 53300 when every
    /// connection is busy, 08001 when the server cannot be reached).
    pub checkout_timeout: Duration,
    /// Whether a connection is checked with an empty query before it is
    /// handed out, and replaced when dead (default true). Without it a dead
    /// connection is still noticed, by the failure of the call that uses it.
    pub pre_ping: bool,
    /// Whether a connection lent to a caller (a transaction of
    /// [`PgStore::transaction`](crate::PgStore::transaction), or
    /// [`PgStore::with_client`](crate::PgStore::with_client)) is reset when it
    /// comes back: an open transaction rolled back and every session state —
    /// settings, temporary tables, prepared statements, advisory locks —
    /// discarded (`DISCARD ALL`), so that the next caller gets a clean one
    /// (default true). The store's own calls run one statement in autocommit
    /// and leave nothing to reset.
    pub reset_on_return: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            size: 20,
            max_overflow: 30,
            checkout_timeout: Duration::from_secs(30),
            pre_ping: true,
            reset_on_return: true,
        }
    }
}

/// The pool's state now: the `pool` part of `get_pool_status()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PoolCounts {
    /// Connections kept open (`PoolOptions::size`).
    pub size: usize,
    /// Most connections beyond `size` (`PoolOptions::max_overflow`).
    pub max_overflow: usize,
    /// Connections open now, idle or handed out.
    pub open: usize,
    /// Connections handed out to callers now.
    pub checked_out: usize,
    /// Open connections beyond `size`.
    pub overflow: usize,
    /// Open connections waiting in the pool.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// An open connection and the statements prepared on it.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }
}

struct State {
    idle: Vec<Conn>,
    open: usize,
    checked_out: usize,
    waiting: usize,
}

/// A pool of connections to one server.
pub struct Pool {
    config: Config,
    options: PoolOptions,
    state: Mutex<State>,
    returned: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("options", &self.options)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

/// A connection taken from the pool; it goes back when dropped.
pub struct PooledClient<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Whether the connection must be reset when it comes back.
    lent: bool,
    /// Whether it must be closed instead.
    broken: bool,
}

impl std::ops::Deref for PooledClient<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self
            .conn
            .as_ref()
            .expect("a pooled client until dropped")
            .client
    }
}

impl std::ops::DerefMut for PooledClient<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self
            .conn
            .as_mut()
            .expect("a pooled client until dropped")
            .client
    }
}

impl Drop for PooledClient<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.check_in(conn, self.lent, self.broken);
        }
    }
}

impl PooledClient<'_> {
    /// Marks the connection as lent to a caller's own statements: it is
    /// reset when it comes back (when `reset_on_return` is on).
    pub(crate) fn lend(&mut self) {
        self.lent = true;
    }

    /// `sql` prepared on this connection: once per connection, so that a
    /// call costs one round trip, not two.
    pub(crate) fn prepared(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        let conn = self.conn.as_mut().expect("a pooled client until dropped");
        if let Some(statement) = conn.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = conn.client.prepare(sql)?;
        conn.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Closes the connection when it comes back instead of pooling it:
    /// after a failure that leaves its state in doubt.
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Closes the connection now.
    pub(crate) fn discard(mut self) {
        self.mark_broken();
    }
}

impl Pool {
    /// A pool for the server `config` names; no connection is opened yet.
    pub fn new(config: Config, options: PoolOptions) -> Pool {
        Pool {
            config,
            options,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                checked_out: 0,
                waiting: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// The settings.
    pub fn options(&self) -> &PoolOptions {
        &self.options
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere never leaves the counts half-updated: every
        // update is a few integer operations under the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counts now.
    pub fn counts(&self) -> PoolCounts {
        let state = self.lock();
        PoolCounts {
            size: self.options.size,
            max_overflow: self.options.max_overflow,
            open: state.open,
            checked_out: state.checked_out,
            overflow: state.open.saturating_sub(self.options.size),
            idle: state.idle.len(),
            waiting: state.waiting,
        }
    }

    /// A connection: an idle one (checked first with pre-ping), else a new
    /// one while fewer than `size + max_overflow` are open, else the next
    /// one returned, waiting up to `checkout_timeout` in all.
    pub fn get(&self) -> Result<PooledClient<'_>> {
        let deadline = Instant::now() + self.options.checkout_timeout;
        let mut state = self.lock();
        loop {
            if let Some(mut conn) = state.idle.pop() {
                state.checked_out += 1;
                drop(state);
                if self.alive(&mut conn.client) {
                    return Ok(self.handed_out(conn));
                }
                drop(conn);
                state = self.lock();
                state.checked_out -= 1;
                state.open -= 1;
                continue;
            }
            if state.open < self.options.size + self.options.max_overflow {
                state.open += 1;
                state.checked_out += 1;
                drop(state);
                return match self.connect(deadline) {
                    Ok(client) => Ok(self.handed_out(Conn::new(client))),
                    Err(e) => {
                        let mut state = self.lock();
                        state.open -= 1;
                        state.checked_out -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.exhausted());
            }
            state.waiting += 1;
            let (guard, _) = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner());
            state = guard;
            state.waiting -= 1;
        }
    }

    /// Closes every idle connection: after one was found dead, because the
    /// server ended its session (a restart or a mass termination ends the
    /// others too), so that the next call opens a new one instead of trying
    /// each dead one in turn.
    pub(crate) fn discard_idle(&self) {
        let idle = {
            let mut state = self.lock();
            let idle = std::mem::take(&mut state.idle);
            state.open -= idle.len();
            idle
        };
        drop(idle);
        self.returned.notify_all();
    }

    fn handed_out(&self, conn: Conn) -> PooledClient<'_> {
        PooledClient {
            pool: self,
            conn: Some(conn),
            lent: false,
            broken: false,
        }
    }

    fn exhausted(&self) -> Error {
        Error::database(
            "53300",
            format!(
                "jobtrack connection pool exhausted: all {} connections (size {}, overflow {}) \
                 stayed busy for {:?}",
                self.options.size + self.options.max_overflow,
                self.options.size,
                self.options.max_overflow,
                self.options.checkout_timeout
            ),
        )
    }

    /// Whether an idle connection still works: not closed, and, with
    /// pre-ping, answering an empty query within a second.
    fn alive(&self, client: &mut Client) -> bool {
        !client.is_closed()
            && (!self.options.pre_ping || client.is_valid(Duration::from_secs(1)).is_ok())
    }

    /// Opens a connection, trying again until `deadline` while the server
    /// refuses or cannot be reached (a restart), so that callers see the
    /// server back instead of an error.
    fn connect(&self, deadline: Instant) -> Result<Client> {
        let mut pause = Duration::from_millis(20);
        loop {
            match self.config.connect(NoTls) {
                Ok(client) => return Ok(client),
                Err(e)
                    if e.as_db_error()
                        .is_some_and(|db| !retryable(db.code().code())) =>
                {
                    return Err(client_error(e))
                }
                Err(e) => {
                    let now = Instant::now();
                    if now + pause >= deadline {
                        let cause = client_error(e);
                        return Err(Error::database(
                            "08001",
                            format!("jobtrack connection pool: cannot connect: {cause}"),
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
            }
        }
    }

    fn check_in(&self, mut conn: Conn, lent: bool, broken: bool) {
        let mut keep = !broken && !conn.client.is_closed();
        if keep && lent && self.options.reset_on_return {
            keep = reset(&mut conn);
        }
        let mut state = self.lock();
        state.checked_out -= 1;
        if keep && state.idle.len() < self.options.size {
            state.idle.push(conn);
        } else {
            state.open -= 1;
            drop(state);
            drop(conn);
        }
        self.returned.notify_one();
    }
}

/// Resets a connection a caller used freely: its transaction rolled back,
/// its session state discarded, its prepared statements with it. Whether it
/// can be kept.
fn reset(conn: &mut Conn) -> bool {
    conn.statements.clear();
    // DISCARD ALL refuses to run in a transaction block (25001, or 25P02 in
    // a failed one): only then is a ROLLBACK needed, so that a connection
    // without a transaction costs one round trip and no server warning.
    match conn.client.batch_execute("DISCARD ALL") {
        Ok(()) => true,
        Err(e)
            if e.code()
                .is_some_and(|c| matches!(c.code(), "25001" | "25P02")) =>
        {
            conn.client.batch_execute("ROLLBACK").is_ok()
                && conn.client.batch_execute("DISCARD ALL").is_ok()
        }
        Err(_) => false,
    }
}

/// Whether a refusal to connect may end by itself: the server starting up,
/// shutting down or out of connection slots.
fn retryable(sqlstate: &str) -> bool {
    matches!(sqlstate, "57P03" | "57P01" | "57P02" | "53300")
}
