//! Throughput under concurrency: pgbench with custom scripts, prepared
//! protocol, at 1, 2 and 4 clients.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::Throughput;
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

/// The workloads: a name and pgbench's `-f` arguments (script@weight).
const WORKLOADS: [(&str, &[&str]); 4] = [
    ("SELECT 1", &["select1.sql"]),
    ("statistics, cached", &["statistics_cached.sql"]),
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
/// `database` (connection from PGHOST, PGPORT, PGUSER).
pub fn run(database: &str, executions: usize, seconds: u32) -> Res<Vec<Throughput>> {
    let pgbench = pgbench_path()?;
    let dir = std::env::temp_dir().join(format!("jobtrack-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for (name, text) in SCRIPTS {
        std::fs::write(dir.join(name), text)?;
    }
    let mut out: Vec<Throughput> = Vec::new();
    for (workload, scripts) in WORKLOADS {
        for clients in [1u32, 2, 4] {
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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_tps() {
        let out = "latency average = 0.1 ms\ntps = 9876.543210 (without initial connection time)\n";
        assert_eq!(super::tps(out), Some(9876.54321));
    }
}
