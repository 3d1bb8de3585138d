//! [`PgStore`]: the jobtrack API on a PostgreSQL server with the extension,
//! through a pool of connections. Every method is one call of the SQL
//! function of the same name, built from the function's signature in
//! `jobtrack_core::Operation`; results come back as the functions' JSON and
//! deserialize into core's types, errors into core's variants.

use std::sync::LazyLock;
use std::time::Duration;

use jobtrack_core::{
    check_no_nul, CacheStats, CleanupReport, ClientPool, DatasetStats, Error, ExperimentStats,
    ExperimentStatsDifference, Job, JobApi, JobExport, JobRecord, JobTransaction, NewExecution,
    NewVariation, Operation, OperationKind, PoolStatus, PruneReport, Result, Returns, RunningJob,
    StaleAfter, Statistics, StatisticsDifference, Status, StatusUpdate, Timestamp,
    TransactionMetrics, EXPORT_PAGE,
};
use postgres::types::ToSql;
use postgres::{Client, Config};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{client_error, connection_lost};
use crate::pool::{Pool, PoolOptions, PooledClient};

/// The SQL of every operation, built once: it is also the key of the
/// statements prepared per connection, looked up on every call.
static CALL_SQL: LazyLock<Vec<String>> = LazyLock::new(|| {
    Operation::ALL
        .iter()
        .map(|&op| build_call_sql(op))
        .collect()
});

/// The SQL that calls `op` with its arguments as `$1…` and returns its
/// result as JSON text: one value, or one row per result row.
fn call_sql(op: Operation) -> &'static str {
    // Operation::ALL lists the variants in declaration order (a test in
    // core checks it), so a variant's discriminant is its index there.
    &CALL_SQL[op as usize]
}

fn build_call_sql(op: Operation) -> String {
    let arguments: Vec<String> = op
        .parameters()
        .iter()
        .enumerate()
        .map(|(i, p)| match p.sql_type {
            // jsonb travels as text: the server parses it, as it would a
            // literal.
            "jsonb" => format!("${}::text::jsonb", i + 1),
            // An interval travels as text too, in microseconds (Arg::interval),
            // which the server reads exactly.
            "interval" => format!("${}::text::interval", i + 1),
            // A time as jobtrack's RFC 3339 text, which the server reads
            // exactly whatever the session's DateStyle.
            "timestamp with time zone" => format!("${}::text::timestamptz", i + 1),
            ty => format!("${}::{ty}", i + 1),
        })
        .collect();
    let call = format!("jobtrack.{}({})", op.name(), arguments.join(", "));
    match op.returns() {
        Returns::Table => format!("SELECT row_to_json(t)::text FROM {call} AS t"),
        Returns::Scalar(_) => format!("SELECT to_json({call})::text"),
        Returns::Nothing => format!("SELECT {call}::text"),
        // Its one row holds the INOUT report, read as JSON text by
        // `JsonText`; CALL cannot cast it.
        Returns::Procedure(_) => format!("CALL {call}"),
    }
}

/// A result column as JSON text: `text` and `json` as they are, `jsonb`
/// (a procedure's report, which CALL returns uncast) from its binary form,
/// a version byte and the text.
struct JsonText(String);

impl<'a> postgres::types::FromSql<'a> for JsonText {
    fn from_sql(
        ty: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let text = match *ty {
            postgres::types::Type::JSONB => match raw.split_first() {
                Some((1, text)) => text,
                _ => return Err("unsupported jsonb format version".into()),
            },
            _ => raw,
        };
        Ok(JsonText(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        matches!(*ty, Type::TEXT | Type::JSON | Type::JSONB)
    }
}

/// An argument of a call.
enum Arg {
    Text(Option<String>),
    Integer(Option<i32>),
    Boolean(bool),
}

impl Arg {
    fn json<T: Serialize + ?Sized>(value: &T) -> Result<Arg> {
        serde_json::to_string(value)
            .map(|text| Arg::Text(Some(text)))
            .map_err(|e| Error::database("XX000", format!("jobtrack: {e}")))
    }

    fn text(value: &str) -> Arg {
        Arg::Text(Some(value.to_owned()))
    }

    fn timestamp(value: Option<Timestamp>) -> Arg {
        Arg::Text(value.map(|t| t.to_string()))
    }

    fn interval(value: StaleAfter) -> Arg {
        Arg::Text(Some(format!("{} microseconds", value.micros())))
    }

    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(v) => v,
            Arg::Integer(v) => v,
            Arg::Boolean(v) => v,
        }
    }
}

/// The one value a scalar call returned.
fn single<T: DeserializeOwned>(op: Operation, rows: &[String]) -> Result<T> {
    let text = rows.first().ok_or_else(|| {
        Error::database("XX000", format!("jobtrack: {} returned no row", op.name()))
    })?;
    parse(op, text)
}

fn parse<T: DeserializeOwned>(op: Operation, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::database(
            "XX000",
            format!("jobtrack: unexpected result of {}: {e}", op.name()),
        )
    })
}

/// Runs `sql`, prepared once per connection, as [`PgStore`] and
/// [`PgTransaction`] do.
fn query(
    client: &mut PooledClient<'_>,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<String>, postgres::Error> {
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::sql).collect();
    let statement = client.prepared(sql)?;
    let rows = client.query(&statement, &params)?;
    Ok(rows
        .iter()
        .map(|row| {
            row.get::<_, Option<JsonText>>(0)
                .map(|t| t.0)
                .unwrap_or_default()
        })
        .collect())
}

/// How a call failed.
enum Failure {
    /// Nothing of it can have been applied.
    NotApplied(postgres::Error),
    /// The connection was lost during its COMMIT.
    InDoubt(postgres::Error),
}

/// Runs the write `sql` in a transaction of its own — `BEGIN`, the call,
/// `COMMIT` — so that a connection lost before the COMMIT was sent, for any
/// reason, leaves nothing applied (the server rolls back a transaction whose
/// session ended), and the call can be repeated on another connection. A
/// call the server refused is rolled back here.
fn write_in_transaction(
    client: &mut PooledClient<'_>,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<String>, Failure> {
    client.batch_execute("BEGIN").map_err(Failure::NotApplied)?;
    let rows = match query(client, sql, args) {
        Ok(rows) => rows,
        Err(e) => {
            // Refused (bad input, a constraint): nothing was committed. End
            // the failed transaction, or close the connection rather than
            // pool it with the transaction still open.
            if !connection_lost(&e) && client.batch_execute("ROLLBACK").is_err() {
                client.mark_broken();
            }
            return Err(Failure::NotApplied(e));
        }
    };
    match client.batch_execute("COMMIT") {
        Ok(()) => Ok(rows),
        Err(e) if connection_lost(&e) => Err(Failure::InDoubt(e)),
        // The server refused the commit (a deferred constraint): rolled back.
        Err(e) => Err(Failure::NotApplied(e)),
    }
}

/// A store on a PostgreSQL database with the jobtrack extension installed.
///
/// `PgStore` is `Send + Sync`: share one as `Arc<PgStore>` between threads;
/// each call takes a connection from the pool for one statement and gives
/// it back. A write runs in a transaction of its own (`BEGIN`, the call,
/// `COMMIT`). Calls that fail because the connection was lost (a restart,
/// `pg_terminate_backend`) close the pool's idle connections too (the
/// server has most likely ended those as well) and run again, once, on a new
/// connection, which the pool waits for while the server restarts: reads
/// always, writes when the connection was lost before their COMMIT was sent
/// (nothing of them was applied). A write whose connection broke during its
/// COMMIT fails with 08006, since whether it committed cannot be known.
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool).finish()
    }
}

impl PgStore {
    /// Connects to the database of `url` (`postgres://user@host/db` or
    /// `host=… dbname=…`) with the default pool settings; fails at once
    /// when the server cannot be reached or the extension is missing.
    pub fn connect(url: &str) -> Result<PgStore> {
        PgStore::connect_with(url, PoolOptions::default())
    }

    /// [`PgStore::connect`] with pool settings.
    pub fn connect_with(url: &str, options: PoolOptions) -> Result<PgStore> {
        let mut config: Config = url.parse().map_err(|e| {
            Error::invalid(
                None,
                "url",
                format!("is not a PostgreSQL connection string: {e}"),
            )
        })?;
        // Timestamps come back in jobtrack's format, whatever the server's
        // or the role's TimeZone. DISCARD ALL keeps startup options.
        let options_text = match config.get_options() {
            Some(given) => format!("{given} -c TimeZone=UTC"),
            None => "-c TimeZone=UTC".to_owned(),
        };
        config.options(&options_text);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let store = PgStore {
            pool: Pool::new(config, options),
        };
        let version = store.with_client(|client| {
            client
                .query_opt(
                    "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'jobtrack'",
                    &[],
                )
                .map(|row| row.map(|r| r.get::<_, String>(0)))
        })?;
        if version.is_none() {
            return Err(Error::database(
                "58P01",
                "the database has no jobtrack extension (CREATE EXTENSION jobtrack)",
            ));
        }
        Ok(store)
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `f` on a connection of the pool, for statements of the caller's
    /// own. The connection is reset when it comes back (`reset_on_return`):
    /// whatever `f` leaves open or sets goes with it.
    pub fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut client = self.pool.get()?;
        client.lend();
        f(&mut client).map_err(client_error)
    }

    /// Runs `f` in one transaction on one connection: committed if `f`
    /// returns `Ok`, rolled back if it returns `Err` or panics. Nothing of a
    /// failed `f` is visible to anyone. Not repeated after a lost
    /// connection.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&mut PgTransaction<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.pool.get()?;
        // Rolled back by the reset if anything below fails or panics.
        client.lend();
        client.batch_execute("BEGIN").map_err(client_error)?;
        let value = f(&mut PgTransaction {
            client: &mut client,
        })?;
        client.batch_execute("COMMIT").map_err(client_error)?;
        Ok(value)
    }

    /// Calls `op` with `args`; see the type's documentation for when it is
    /// repeated.
    fn call(&self, op: Operation, args: &[Arg]) -> Result<Vec<String>> {
        // The server refuses a NUL in text with 22021, naming nothing;
        // refused here as core refuses it, naming the argument.
        for (arg, parameter) in args.iter().zip(op.parameters()) {
            if let (Arg::Text(Some(text)), false) = (arg, parameter.sql_type == "jsonb") {
                check_no_nul(text, None, parameter.name)?;
            }
        }
        let sql = call_sql(op);
        let write = op.kind() == OperationKind::Write;
        let mut retried = false;
        loop {
            let mut client: PooledClient<'_> = self.pool.get()?;
            let outcome = if matches!(op.returns(), Returns::Procedure(_)) {
                // It commits as it goes: not in a transaction of ours, and
                // a lost connection may have come after some commits.
                match query(&mut client, sql, args) {
                    Err(e) if connection_lost(&e) => Err(Failure::InDoubt(e)),
                    other => other.map_err(Failure::NotApplied),
                }
            } else if write {
                write_in_transaction(&mut client, sql, args)
            } else {
                query(&mut client, sql, args).map_err(Failure::NotApplied)
            };
            match outcome {
                Ok(rows) => return Ok(rows),
                Err(Failure::NotApplied(e)) if connection_lost(&e) => {
                    client.discard();
                    self.pool.discard_idle();
                    if retried {
                        return Err(client_error(e));
                    }
                    retried = true;
                }
                Err(Failure::NotApplied(e)) => return Err(client_error(e)),
                Err(Failure::InDoubt(e)) => {
                    client.discard();
                    self.pool.discard_idle();
                    let what = if matches!(op.returns(), Returns::Procedure(_)) {
                        "ran; the batches it committed before stay, and calling it again goes \
                         on from there"
                    } else {
                        "committed; whether it committed cannot be known"
                    };
                    return Err(Error::database(
                        "08006",
                        format!(
                            "the connection to the server was lost while {} {what}: {e}",
                            op.name()
                        ),
                    ));
                }
            }
        }
    }

    fn value<T: DeserializeOwned>(&self, op: Operation, args: &[Arg]) -> Result<T> {
        single(op, &self.call(op, args)?)
    }

    fn rows<T: DeserializeOwned>(&self, op: Operation, args: &[Arg]) -> Result<Vec<T>> {
        self.call(op, args)?
            .iter()
            .map(|text| parse(op, text))
            .collect()
    }

    fn update_status(
        &self,
        op: Operation,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.value(
            op,
            &[
                Arg::text(job_id),
                Arg::text(status.as_str()),
                Arg::Text(error_message.map(str::to_owned)),
            ],
        )
    }
}

/// The cursor an export reads through; one per connection at a time, as
/// the export holds its connection.
const EXPORT_CURSOR: &str = "jobtrack_export";

/// The query of the export's cursor: the function's columns as they are,
/// in their binary form — no JSON text built by the server and parsed
/// again here (half the time of reading `row_to_json` text: 7.2 s for
/// 1,000,000 jobs instead of 14.7 s).
const EXPORT_QUERY: &str = "SELECT * FROM jobtrack.export_jobs($1::text::timestamptz)";

/// A `timestamptz` column, from its binary form: microseconds since
/// 2000-01-01, as PostgreSQL stores it.
struct PgTimestamp(Timestamp);

impl<'a> postgres::types::FromSql<'a> for PgTimestamp {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let micros: [u8; 8] = raw.try_into().map_err(|_| "a timestamptz of 8 bytes")?;
        Ok(PgTimestamp(Timestamp::from_pg_micros(i64::from_be_bytes(
            micros,
        ))))
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::TIMESTAMPTZ
    }
}

/// One row of the export's cursor as a record. The columns are those of
/// `JobRecord`, in its order (the function declares them so).
fn record_of(row: &postgres::Row) -> Result<JobRecord> {
    fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a postgres::Row, i: usize) -> Result<T> {
        row.try_get(i).map_err(|e| {
            Error::database(
                "XX000",
                format!("jobtrack: unexpected column {i} of export_jobs: {e}"),
            )
        })
    }
    fn parsed<T: std::str::FromStr<Err = Error>>(row: &postgres::Row, i: usize) -> Result<T> {
        get::<&str>(row, i)?.parse()
    }
    let time = |i| get::<Option<PgTimestamp>>(row, i).map(|t| t.map(|t| t.0));
    let required_time = |i| get::<PgTimestamp>(row, i).map(|t| t.0);
    let parameters = |i| -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        get::<Option<JsonText>>(row, i)?
            .map(|text| parse(Operation::ExportJobs, &text.0))
            .transpose()
    };
    Ok(JobRecord {
        job_id: get(row, 0)?,
        job_type: parsed(row, 1)?,
        status: parsed(row, 2)?,
        dataset_name: get(row, 3)?,
        preset: get(row, 4)?,
        mode: parsed(row, 5)?,
        experiment_name: get(row, 6)?,
        variation_id: get(row, 7)?,
        success: get(row, 8)?,
        duration_seconds: get(row, 9)?,
        error_message: get(row, 10)?,
        output_path: get(row, 11)?,
        total_steps: get(row, 12)?,
        current_step: get(row, 13)?,
        start_time: time(14)?,
        created_at: required_time(15)?,
        updated_at: required_time(16)?,
        last_heartbeat: time(17)?,
        end_time: time(18)?,
        total_combinations: get(row, 19)?,
        varied_parameters: parameters(20)?,
        parameter_values: parameters(21)?,
        parent_experiment_id: get(row, 22)?,
        worker: get(row, 23)?,
    })
}

/// `export_jobs` from a PostgreSQL server: a cursor over
/// `jobtrack.export_jobs(since)` in a read-only transaction of its own, on a
/// connection the export holds until its last row (or until it is dropped,
/// which rolls the transaction back). One query, so one snapshot; pages of
/// [`EXPORT_PAGE`] rows are fetched as they are read, so neither the client
/// nor the server holds more than a page (the function is inlined into the
/// cursor's query: its rows stream from the index scans). Through a pooler
/// in transaction mode the cursor's transaction keeps its server
/// connection, as any transaction does.
struct PgExport<'p> {
    client: Option<PooledClient<'p>>,
    page: std::vec::IntoIter<postgres::Row>,
    fetch: String,
}

impl<'p> PgExport<'p> {
    fn open(pool: &'p Pool, since: Option<Timestamp>) -> Result<PgExport<'p>> {
        let mut client = pool.get()?;
        // Reset on return when the caller drops the export half-way.
        client.lend();
        client
            .batch_execute("BEGIN READ ONLY")
            .map_err(client_error)?;
        let declare = format!("DECLARE {EXPORT_CURSOR} NO SCROLL CURSOR FOR {EXPORT_QUERY}");
        let since = Arg::timestamp(since);
        client
            .execute(declare.as_str(), &[since.sql()])
            .map_err(client_error)?;
        Ok(PgExport {
            client: Some(client),
            page: Vec::new().into_iter(),
            fetch: format!("FETCH FORWARD {EXPORT_PAGE} FROM {EXPORT_CURSOR}"),
        })
    }

    /// The next page, or `None` (and the transaction committed, the
    /// connection returned) after the last.
    fn next_page(&mut self) -> Result<Option<Vec<postgres::Row>>> {
        let Some(client) = self.client.as_mut() else {
            return Ok(None);
        };
        let rows = match client.query(self.fetch.as_str(), &[]) {
            Ok(rows) => rows,
            Err(e) => {
                self.client = None;
                return Err(client_error(e));
            }
        };
        if rows.is_empty() {
            let mut client = self.client.take().expect("checked above");
            client.batch_execute("COMMIT").map_err(client_error)?;
            return Ok(None);
        }
        Ok(Some(rows))
    }
}

impl Iterator for PgExport<'_> {
    type Item = Result<JobRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.page.next() {
                return Some(record_of(&row));
            }
            match self.next_page() {
                Ok(Some(rows)) => self.page = rows.into_iter(),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Several batch calls in one transaction: see [`PgStore::transaction`].
pub struct PgTransaction<'p, 'c> {
    client: &'c mut PooledClient<'p>,
}

impl PgTransaction<'_, '_> {
    fn value<T: DeserializeOwned>(&mut self, op: Operation, args: &[Arg]) -> Result<T> {
        let rows = query(self.client, call_sql(op), args).map_err(client_error)?;
        single(op, &rows)
    }

    /// Runs the caller's own statement inside the transaction.
    pub fn client(&mut self) -> &mut Client {
        self.client
    }
}

impl JobTransaction for PgTransaction<'_, '_> {
    fn batch_create_executions(&mut self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        self.value(Operation::BatchCreateExecutions, &[Arg::json(jobs)?])
    }
    fn batch_create_variations(&mut self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        self.value(Operation::BatchCreateVariations, &[Arg::json(jobs)?])
    }
    fn batch_update_execution_status(&mut self, updates: &[StatusUpdate]) -> Result<i32> {
        self.value(
            Operation::BatchUpdateExecutionStatus,
            &[Arg::json(updates)?],
        )
    }
    fn batch_update_variation_status(&mut self, updates: &[StatusUpdate]) -> Result<i32> {
        self.value(
            Operation::BatchUpdateVariationStatus,
            &[Arg::json(updates)?],
        )
    }
    fn import_jobs(&mut self, jobs: &[JobRecord]) -> Result<i32> {
        self.value(Operation::ImportJobs, &[Arg::json(jobs)?])
    }
}

impl JobApi for PgStore {
    fn create_execution(&self, job: &NewExecution) -> Result<Job> {
        self.value(Operation::CreateExecution, &[Arg::json(job)?])
    }
    fn create_variation(&self, job: &NewVariation) -> Result<Job> {
        self.value(Operation::CreateVariation, &[Arg::json(job)?])
    }
    fn update_execution_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.update_status(
            Operation::UpdateExecutionStatus,
            job_id,
            status,
            error_message,
        )
    }
    fn update_variation_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.update_status(
            Operation::UpdateVariationStatus,
            job_id,
            status,
            error_message,
        )
    }
    fn update_progress(&self, job_id: &str, current_step: i32) -> Result<bool> {
        self.value(
            Operation::UpdateProgress,
            &[Arg::text(job_id), Arg::Integer(Some(current_step))],
        )
    }
    fn heartbeat(&self, job_id: &str) -> Result<bool> {
        self.value(Operation::Heartbeat, &[Arg::text(job_id)])
    }
    fn batch_create_executions(&self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        self.value(Operation::BatchCreateExecutions, &[Arg::json(jobs)?])
    }
    fn batch_create_variations(&self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        self.value(Operation::BatchCreateVariations, &[Arg::json(jobs)?])
    }
    fn batch_update_execution_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        self.value(
            Operation::BatchUpdateExecutionStatus,
            &[Arg::json(updates)?],
        )
    }
    fn batch_update_variation_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        self.value(
            Operation::BatchUpdateVariationStatus,
            &[Arg::json(updates)?],
        )
    }
    fn import_jobs(&self, jobs: &[JobRecord]) -> Result<i32> {
        self.value(Operation::ImportJobs, &[Arg::json(jobs)?])
    }
    fn cleanup_old_jobs(&self, days: i32, keep_failed: bool) -> Result<CleanupReport> {
        self.value(
            Operation::CleanupOldJobs,
            &[Arg::Integer(Some(days)), Arg::Boolean(keep_failed)],
        )
    }
    fn claim_next_jobs(&self, n: i32, worker: &str) -> Result<Vec<Job>> {
        self.rows(
            Operation::ClaimNextJobs,
            &[Arg::Integer(Some(n)), Arg::text(worker)],
        )
    }
    fn fail_stale_jobs(&self, stale_after: StaleAfter, error_message: Option<&str>) -> Result<i32> {
        self.value(
            Operation::FailStaleJobs,
            &[
                Arg::interval(stale_after),
                Arg::Text(error_message.map(str::to_owned)),
            ],
        )
    }
    fn prune_jobs(&self, days: i32, keep_failed: bool, batch_size: i32) -> Result<PruneReport> {
        self.value(
            Operation::PruneJobs,
            &[
                Arg::Integer(Some(days)),
                Arg::Boolean(keep_failed),
                Arg::Integer(Some(batch_size)),
            ],
        )
    }
    fn refresh_job_cache(&self) -> Result<i64> {
        self.value(Operation::RefreshJobCache, &[])
    }
    fn verify_statistics(&self) -> Result<Vec<StatisticsDifference>> {
        self.rows(Operation::VerifyStatistics, &[])
    }
    fn verify_experiment_stats(&self) -> Result<Vec<ExperimentStatsDifference>> {
        self.rows(Operation::VerifyExperimentStats, &[])
    }
    fn get_statistics_optimized(&self) -> Result<Statistics> {
        self.value(Operation::GetStatisticsOptimized, &[])
    }
    fn get_statistics_cached(&self) -> Result<Statistics> {
        self.value(Operation::GetStatisticsCached, &[])
    }
    fn get_dataset_stats_optimized(&self, dataset_name: &str) -> Result<DatasetStats> {
        self.value(
            Operation::GetDatasetStatsOptimized,
            &[Arg::text(dataset_name)],
        )
    }
    fn get_dataset_stats_cached(&self, dataset_name: &str) -> Result<DatasetStats> {
        self.value(Operation::GetDatasetStatsCached, &[Arg::text(dataset_name)])
    }
    fn get_experiment_stats(&self, experiment_name: &str) -> Result<ExperimentStats> {
        self.value(Operation::GetExperimentStats, &[Arg::text(experiment_name)])
    }
    fn get_experiment_stats_cached(&self, experiment_name: &str) -> Result<ExperimentStats> {
        self.value(
            Operation::GetExperimentStatsCached,
            &[Arg::text(experiment_name)],
        )
    }
    fn get_all_jobs_optimized(&self, lim: i32, after: Option<&str>) -> Result<Vec<Job>> {
        self.rows(
            Operation::GetAllJobsOptimized,
            &[Arg::Integer(Some(lim)), Arg::Text(after.map(str::to_owned))],
        )
    }
    fn get_recent_jobs_optimized(&self, lim: i32) -> Result<Vec<Job>> {
        self.rows(
            Operation::GetRecentJobsOptimized,
            &[Arg::Integer(Some(lim))],
        )
    }
    fn get_recent_jobs_cached(&self, lim: i32) -> Result<Vec<Job>> {
        self.rows(Operation::GetRecentJobsCached, &[Arg::Integer(Some(lim))])
    }
    fn get_running_jobs(&self, lim: Option<i32>, after: Option<&str>) -> Result<Vec<RunningJob>> {
        self.rows(
            Operation::GetRunningJobs,
            &[Arg::Integer(lim), Arg::Text(after.map(str::to_owned))],
        )
    }
    fn get_stale_jobs(&self, stale_after: StaleAfter) -> Result<Vec<Job>> {
        self.rows(Operation::GetStaleJobs, &[Arg::interval(stale_after)])
    }
    fn export_jobs(&self, since: Option<Timestamp>) -> Result<JobExport<'_>> {
        Ok(Box::new(PgExport::open(&self.pool, since)?))
    }
    fn get_cache_stats(&self) -> Result<CacheStats> {
        self.value(Operation::GetCacheStats, &[])
    }
    fn invalidate_cache(&self, pattern: Option<&str>) -> Result<i32> {
        self.value(
            Operation::InvalidateCache,
            &[Arg::Text(pattern.map(str::to_owned))],
        )
    }
    fn get_pool_status(&self) -> Result<PoolStatus> {
        let mut status: PoolStatus = self.value(Operation::GetPoolStatus, &[])?;
        let c = self.pool.counts();
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        status.pool = Some(ClientPool {
            size: n(c.size),
            max_overflow: n(c.max_overflow),
            open: n(c.open),
            checked_out: n(c.checked_out),
            overflow: n(c.overflow),
            idle: n(c.idle),
            waiting: n(c.waiting),
        });
        Ok(status)
    }
    fn get_transaction_metrics(&self) -> Result<TransactionMetrics> {
        self.value(Operation::GetTransactionMetrics, &[])
    }
    fn reset_transaction_metrics(&self) -> Result<()> {
        self.call(Operation::ResetTransactionMetrics, &[]).map(drop)
    }
}
