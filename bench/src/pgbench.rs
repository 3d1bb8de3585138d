//! Throughput under concurrency: pgbench with custom scripts, prepared
//! protocol, at 1, 2 and 4 clients.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::{Throughput, WriterRun};
use crate::Res;

const SCRIPTS: [(&str, &str); 5] = [
    ("select1.sql", include_str!("../pgbench/select1.sql")),
    (
        "statistics_cached.sql",
        include_str!("../pgbench/statistics_cached.sql"),
    ),
    (
        "statistics_uncached.sql",
        include_str!("../pgbench/statistics_uncached.sql"),
    ),
    (
        "mixed_reader.sql",
        include_str!("../pgbench/mixed_reader.sql"),
    ),
    (
        "mixed_writer.sql",
        include_str!("../pgbench/mixed_writer.sql"),
    ),
];

/// The script of [`JSONB_CONSTANT`], written at each run: the result of
/// get_statistics_cached() as a constant.
const JSONB_CONSTANT_SCRIPT: &str = "jsonb_constant.sql";

/// The floor of a cache hit: any function that returns the statistics as
/// `jsonb` pays the server's output of that value as text (`jsonb_out`) on
/// top of `SELECT 1`; a prepared constant pays nothing else.
pub const JSONB_CONSTANT: &str = "the cached result as a jsonb constant";

/// The workload the cache's hits are compared with, besides SELECT 1.
pub const STATISTICS_CACHED: &str = "statistics, cached";

/// The client counts every workload runs at.
pub const CLIENTS: [u32; 3] = [1, 2, 4];

/// The workloads: a name and pgbench's `-f` arguments (script@weight).
const WORKLOADS: [(&str, &[&str]); 5] = [
    ("SELECT 1", &["select1.sql"]),
    (JSONB_CONSTANT, &[JSONB_CONSTANT_SCRIPT]),
    (STATISTICS_CACHED, &["statistics_cached.sql"]),
    ("statistics, uncached", &["statistics_uncached.sql"]),
    (
        "mixed: 90 % cached statistics, 10 % batch update of 100",
        &["mixed_reader.sql@9", "mixed_writer.sql@1"],
    ),
];

/// pgbench of the server's installation (`pg_config --bindir`).
pub fn pgbench_path() -> Res<PathBuf> {
    let pg_config = std::env::var("PG_CONFIG").unwrap_or_else(|_| "pg_config".to_owned());
    let out = Command::new(&pg_config).arg("--bindir").output()?;
    if !out.status.success() {
        return Err(format!("{pg_config} --bindir failed").into());
    }
    Ok(Path::new(String::from_utf8(out.stdout)?.trim()).join("pgbench"))
}

fn tps(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Runs every workload at 1, 2 and 4 clients for `seconds` each against
/// `database` (connection from PGHOST, PGPORT, PGUSER); `cached_result` is
/// get_statistics_cached()'s result as text. The workloads of one client
/// count run one after the other, so that each ratio compares runs seconds
/// apart, not minutes (the machine's speed drifts).
pub fn run(
    database: &str,
    executions: usize,
    seconds: u32,
    cached_result: &str,
) -> Res<Vec<Throughput>> {
    let pgbench = pgbench_path()?;
    let dir = std::env::temp_dir().join(format!("jobtrack-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for (name, text) in SCRIPTS {
        std::fs::write(dir.join(name), text)?;
    }
    // jsonb's text form has no ":name" that pgbench would take for a
    // variable (it writes ": " between a key and its value).
    std::fs::write(
        dir.join(JSONB_CONSTANT_SCRIPT),
        format!("SELECT '{}'::jsonb;\n", cached_result.replace('\'', "''")),
    )?;
    let mut out: Vec<Throughput> = Vec::new();
    for clients in CLIENTS {
        for (workload, scripts) in WORKLOADS {
            eprintln!("  pgbench: {workload}, {clients} clients, {seconds} s");
            let mut cmd = Command::new(&pgbench);
            cmd.args(["-n", "-M", "prepared"])
                .args(["-c", &clients.to_string(), "-j", &clients.to_string()])
                .args(["-T", &seconds.to_string()])
                .args(["-D", &format!("executions={}", executions.max(1))]);
            for s in scripts {
                cmd.arg("-f").arg(dir.join(s));
            }
            cmd.arg(database);
            let result = cmd.output()?;
            let stdout = String::from_utf8_lossy(&result.stdout);
            if !result.status.success() {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(format!(
                    "pgbench failed on {workload}: {}\n{stdout}",
                    String::from_utf8_lossy(&result.stderr)
                )
                .into());
            }
            let tps = tps(&stdout).ok_or_else(|| format!("no tps in pgbench output:\n{stdout}"))?;
            out.push(Throughput {
                workload: workload.to_owned(),
                clients,
                seconds,
                tps,
                vs_select1: None,
            });
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let select1: Vec<(u32, f64)> = out
        .iter()
        .filter(|t| t.workload == "SELECT 1")
        .map(|t| (t.clients, t.tps))
        .collect();
    for t in &mut out {
        t.vs_select1 = select1
            .iter()
            .find(|(c, _)| *c == t.clients)
            .map(|(_, s)| t.tps / s);
    }
    Ok(out)
}

const COUNTER_WRITER: &str = include_str!("../pgbench/counter_writer.sql");

/// The trigger functions whose counter step the "without counters" variant
/// removes.
const COUNTER_FUNCTIONS: &str = "SELECT p.proname::text, pg_get_functiondef(p.oid)
     FROM pg_proc AS p
     WHERE p.pronamespace = 'jobtrack'::regnamespace
       AND p.proname IN ('summary_after_insert', 'summary_after_update',
                         'summary_after_delete', 'summary_after_truncate')
     ORDER BY 1";

/// `def` without its counter maintenance: the lines from `-- counters: begin`
/// to `-- counters: end` (schema.sql marks them) removed.
fn without_counters(def: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in def.lines() {
        match line.trim() {
            "-- counters: begin" => inside = true,
            "-- counters: end" => inside = false,
            _ if !inside => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// Four concurrent writers on one dataset: pgbench, 4 clients,
/// one status change per transaction, with the statistics counters as
/// installed (insert-only delta rows, folded by the writers) and without
/// the counter step (the summary triggers' counter blocks removed: the same
/// schema otherwise). Each variant runs twice, interleaved; the better run
/// counts. Everything is restored and the counters rebuilt afterwards, and
/// verify_statistics() must then be empty.
pub fn counter_writers(
    c: &mut postgres::Client,
    database: &str,
    seconds: u32,
    per_client: usize,
) -> Res<Vec<WriterRun>> {
    const CLIENTS: u32 = 4;
    c.query_one(
        "SELECT jobtrack.batch_create_executions(
             (SELECT jsonb_agg(jsonb_build_object(
                         'job_id', 'hot-' || cl || '-' || n, 'pipeline_mode', 'single',
                         'dataset_name', 'hot-writers', 'preset', 'p'))
              FROM generate_series(0, $1 - 1) AS cl, generate_series(0, $2 - 1) AS n))",
        &[&(CLIENTS as i32), &(per_client as i32)],
    )?;
    c.batch_execute("VACUUM ANALYZE")?;
    let originals: Vec<(String, String)> = c
        .query(COUNTER_FUNCTIONS, &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if originals.len() != 4
        || !originals
            .iter()
            .any(|(_, d)| d.contains("-- counters: begin"))
    {
        return Err("the counter functions or their markers were not found".into());
    }
    let restore = |c: &mut postgres::Client| -> Res<()> {
        for (_, def) in &originals {
            c.batch_execute(def)?;
        }
        Ok(())
    };
    let pgbench = pgbench_path()?;
    let dir = std::env::temp_dir().join(format!("jobtrack-writers-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("counter_writer.sql");
    std::fs::write(&script, COUNTER_WRITER)?;
    let variants = [
        "with counters (insert-only deltas)",
        "without counters (counter step removed)",
    ];
    let mut best = [0f64; 2];
    let result = (|| -> Res<()> {
        for _round in 0..2 {
            for (i, variant) in variants.iter().enumerate() {
                restore(c)?;
                if i == 1 {
                    for (_, def) in &originals {
                        c.batch_execute(&without_counters(def))?;
                    }
                }
                eprintln!("  pgbench: {variant}, {CLIENTS} clients, {seconds} s");
                let out = Command::new(&pgbench)
                    .args(["-n", "-M", "prepared"])
                    .args(["-c", &CLIENTS.to_string(), "-j", &CLIENTS.to_string()])
                    .args(["-T", &seconds.to_string()])
                    .args(["-D", &format!("per_client={per_client}")])
                    .arg("-f")
                    .arg(&script)
                    .arg(database)
                    .output()?;
                let stdout = String::from_utf8_lossy(&out.stdout);
                if !out.status.success() {
                    return Err(format!(
                        "pgbench failed on {variant}: {}\n{stdout}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                    .into());
                }
                let tps =
                    tps(&stdout).ok_or_else(|| format!("no tps in pgbench output:\n{stdout}"))?;
                best[i] = best[i].max(tps);
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    restore(c)?;
    result?;
    c.query_one("SELECT jobtrack.refresh_job_cache()", &[])?;
    let differences: i64 = c
        .query_one("SELECT count(*) FROM jobtrack.verify_statistics()", &[])?
        .get(0);
    if differences != 0 {
        return Err(format!("{differences} counter differences after the writer runs").into());
    }
    Ok(variants
        .iter()
        .zip(best)
        .map(|(variant, tps)| WriterRun {
            variant: (*variant).to_owned(),
            clients: CLIENTS,
            seconds,
            tps,
            vs_without_counters: tps / best[1],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_the_counter_blocks() {
        let def =
            "BEGIN\n    x;\n    -- counters: begin\n    y;\n    -- counters: end\n    z;\nEND\n";
        assert_eq!(super::without_counters(def), "BEGIN\n    x;\n    z;\nEND\n");
    }

    #[test]
    fn reads_tps() {
        let out = "latency average = 0.1 ms\ntps = 9876.543210 (without initial connection time)\n";
        assert_eq!(super::tps(out), Some(9876.54321));
    }
}
