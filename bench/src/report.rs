//! What a run measured, and its three renderings: JSON, Markdown, SVG.

use std::fmt::Write as _;

use serde::Serialize;

use crate::measure::Summary;

/// The machine, printed with every run.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub postgres_version: String,
    pub sqlite_version: String,
}

/// One measured variant of one operation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub operation: String,
    /// `before`, `after`, `jobtrack`, `cached` or `ceiling`.
    pub variant: String,
    /// How the variant does it, for the table.
    pub label: String,
    #[serde(flatten)]
    pub summary: Summary,
    /// before's median / this median: how many times faster than before.
    pub vs_before: Option<f64>,
    /// after's median / this median.
    pub vs_after: Option<f64>,
}

/// pgbench throughput of one workload at one client count.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub workload: String,
    pub clients: u32,
    pub seconds: u32,
    pub tps: f64,
    /// tps / SELECT 1's tps at the same client count.
    pub vs_select1: Option<f64>,
}

/// The price of the indexes and the summary maintenance on writes.
#[derive(Debug, Clone, Serialize)]
pub struct WriteCost {
    pub update: String,
    pub table: String,
    pub jobs: usize,
    #[serde(flatten)]
    pub summary: Summary,
    pub jobs_per_second: f64,
    /// jobtrack's median / the primary-key-only median (1 on that row).
    pub cost_vs_pk_only: f64,
}

/// Throughput of four concurrent writers on one dataset, with and without
/// the statistics counters.
#[derive(Debug, Clone, Serialize)]
pub struct WriterRun {
    pub variant: String,
    pub clients: u32,
    pub seconds: u32,
    pub tps: f64,
    /// tps / the "without counters" tps.
    pub vs_without_counters: f64,
}

/// One call through the Rust client (`PgStore`) or over a raw connection.
#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub operation: String,
    /// `raw`, `raw, unprepared`, `client` or `client, no pre-ping`.
    pub variant: String,
    /// How the variant does it, for the table.
    pub label: String,
    #[serde(flatten)]
    pub summary: Summary,
    /// This median / the raw prepared statement's median: the price of the
    /// path (1 on the raw row).
    pub vs_raw: f64,
}

/// Calls per second of threads on one pool or on raw connections.
#[derive(Debug, Clone, Serialize)]
pub struct PoolThroughput {
    pub workload: String,
    pub path: String,
    pub threads: usize,
    /// Wall time of the run, from the start to the last thread's end.
    pub seconds: f64,
    pub calls: u64,
    pub calls_per_second: f64,
    /// calls_per_second / the raw connections' (1 on that row).
    pub vs_raw: f64,
}

/// The Rust client against the same SQL over raw connections.
#[derive(Debug, Clone, Serialize)]
pub struct ClientReport {
    pub calls: Vec<CallRow>,
    pub throughput: Vec<PoolThroughput>,
}

/// Everything measured at one size.
#[derive(Debug, Clone, Serialize)]
pub struct SizeReport {
    pub jobs: usize,
    pub executions: usize,
    pub variations: usize,
    pub postgres: Vec<Row>,
    pub pgbench: Vec<Throughput>,
    pub write_cost: Vec<WriteCost>,
    pub counter_writers: Vec<WriterRun>,
    pub client: ClientReport,
    pub sqlite: Vec<Row>,
    /// Differences between variants' answers (empty when they agree).
    pub mismatches: Vec<String>,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub machine: Machine,
    pub smoke: bool,
    pub notes: Vec<String>,
    pub sizes: Vec<SizeReport>,
}

/// Fills in `vs_before` and `vs_after` of each operation's rows.
pub fn add_ratios(rows: &mut [Row]) {
    let medians: Vec<(String, String, f64)> = rows
        .iter()
        .map(|r| (r.operation.clone(), r.variant.clone(), r.summary.median_ms))
        .collect();
    let find = |op: &str, variant: &str| {
        medians
            .iter()
            .find(|(o, v, _)| o == op && v == variant)
            .map(|m| m.2)
    };
    for r in rows.iter_mut() {
        let m = r.summary.median_ms;
        r.vs_before = find(&r.operation, "before").map(|b| b / m);
        r.vs_after = find(&r.operation, "after").map(|a| a / m);
    }
}

/// A duration for humans: µs, ms or s.
pub fn human_ms(ms: f64) -> String {
    if ms < 0.01 {
        format!("{:.0} ns", ms * 1e6)
    } else if ms < 1.0 {
        format!("{:.1} µs", ms * 1e3)
    } else if ms < 1000.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// A ratio for humans.
pub fn ratio(r: Option<f64>) -> String {
    match r {
        None => "—".to_owned(),
        Some(r) if r >= 100.0 => format!("{r:.0}×"),
        Some(r) if r >= 10.0 => format!("{r:.1}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The machine line printed with every run.
pub fn machine_line(m: &Machine) -> String {
    format!(
        "{} CPUs ({}), {:.1} GiB memory, Linux {}, PostgreSQL {}, SQLite {}",
        m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.postgres_version, m.sqlite_version
    )
}

fn rows_table(out: &mut String, rows: &[Row], ceiling_name: &str) {
    out.push_str(
        "| operation | variant | how | median | vs before | vs after | runs |\n\
         |---|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let variant = if r.variant == "ceiling" {
            ceiling_name
        } else {
            &r.variant
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.operation,
            variant,
            r.label,
            human_ms(r.summary.median_ms),
            ratio(r.vs_before),
            ratio(r.vs_after),
            r.summary.samples
        );
    }
}

fn median_of(rows: &[Row], operation: &str, variant: &str) -> Option<f64> {
    rows.iter()
        .find(|r| r.operation == operation && r.variant == variant)
        .map(|r| r.summary.median_ms)
}

/// Issue 6's three measured points side by side, over every size of the
/// run: get_statistics_optimized() against its time at the smallest size
/// and against the plain-SQL two-aggregate statistics ("after"), and four
/// writers' throughput with the counters against without.
fn counters_summary(out: &mut String, report: &Report) {
    let Some(smallest) = report.sizes.iter().min_by_key(|s| s.jobs) else {
        return;
    };
    let base = median_of(&smallest.postgres, "statistics", "jobtrack");
    out.push_str(
        "## Statistics in constant time (PostgreSQL counters)\n\n\
         | jobs | get_statistics_optimized() | vs its time at the smallest size | plain SQL, \
         2 aggregates | plain SQL / jobtrack | 4 writers, TPS with / without counters |\n\
         |---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &report.sizes {
        let jobtrack = median_of(&s.postgres, "statistics", "jobtrack");
        let after = median_of(&s.postgres, "statistics", "after");
        let writers = |prefix: &str| {
            s.counter_writers
                .iter()
                .find(|r| r.variant.starts_with(prefix))
                .map(|r| r.vs_without_counters)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            thousands(s.jobs),
            jobtrack.map_or("—".to_owned(), human_ms),
            ratio(jobtrack.zip(base).map(|(j, b)| j / b)),
            after.map_or("—".to_owned(), human_ms),
            ratio(after.zip(jobtrack).map(|(a, j)| a / j)),
            ratio(writers("with counters (")),
        );
    }
    out.push_str(
        "\nTargets: at 1,000,000 jobs the statistics take at most 2× their time at \
         10,000 and are at least 100× faster than the plain-SQL two-aggregate approach; four \
         writers on one dataset keep at least 0.80× of their throughput without the counters.\n\n",
    );
}

fn client_tables(out: &mut String, c: &ClientReport) {
    out.push_str(
        "\n### PostgreSQL: the Rust client (PgStore) against the same SQL on a raw connection\n\n\
         | call | path | how | median | vs raw | runs |\n|---|---|---|---:|---:|---:|\n",
    );
    for r in &c.calls {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.operation,
            r.variant,
            r.label,
            human_ms(r.summary.median_ms),
            ratio(Some(r.vs_raw)),
            r.summary.samples
        );
    }
    out.push_str(
        "\nvs raw = this median / the raw prepared statement's median (above 1: slower). \
         PgStore sends SQL text (parsed on every call, like *raw, unprepared*) and, with \
         pre-ping, checks the connection with an empty query before each call.\n",
    );
    out.push_str(
        "\n### PostgreSQL: threads sharing one pool against a raw connection each\n\n\
         | workload | path | calls | seconds | calls/s | vs raw |\n|---|---|---:|---:|---:|---:|\n",
    );
    for t in &c.throughput {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.0} | {} |",
            t.workload,
            t.path,
            t.calls,
            t.seconds,
            t.calls_per_second,
            ratio(Some(t.vs_raw))
        );
    }
}

/// The Markdown report.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("# jobtrack benchmarks\n\n");
    let _ = writeln!(
        out,
        "Generated {} by `make bench`{}.\n\nMachine: {}.\n",
        report.generated_at,
        if report.smoke { " (smoke run)" } else { "" },
        machine_line(&report.machine)
    );
    out.push_str(
        "Ratios: **vs before** = before's median / this median (how many times faster than the \
         original design), **vs after** = the same against plain SQL written well. Medians of \
         repeated runs after warm-up.\n\n",
    );
    for n in &report.notes {
        let _ = writeln!(out, "- {n}");
    }
    out.push('\n');
    counters_summary(&mut out, report);
    for s in &report.sizes {
        let _ = writeln!(
            out,
            "## {} jobs ({} executions, {} variations)\n",
            thousands(s.jobs),
            thousands(s.executions),
            thousands(s.variations)
        );
        out.push_str(
            "### PostgreSQL: one call from a client (one connection, Unix socket, prepared \
             statements)\n\n",
        );
        rows_table(&mut out, &s.postgres, "SELECT 1");
        out.push_str(
            "\n### PostgreSQL: throughput under concurrency (pgbench, prepared protocol)\n\n\
             | workload | clients | TPS | vs SELECT 1 |\n|---|---:|---:|---:|\n",
        );
        for t in &s.pgbench {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} |",
                t.workload,
                t.clients,
                t.tps,
                ratio(t.vs_select1)
            );
        }
        out.push_str(
            "\n### PostgreSQL: write cost of the indexes and the summary maintenance\n\n\
             | status updates | table | median | jobs/s | cost vs primary key only |\n\
             |---|---|---:|---:|---:|\n",
        );
        for w in &s.write_cost {
            let _ = writeln!(
                out,
                "| {} of {} jobs | {} | {} | {:.0} | {} |",
                w.update,
                thousands(w.jobs),
                w.table,
                human_ms(w.summary.median_ms),
                w.jobs_per_second,
                ratio(Some(w.cost_vs_pk_only))
            );
        }
        out.push_str(
            "\n### PostgreSQL: 4 concurrent writers on one dataset (pgbench, one status change \
             per transaction)\n\n\
             | variant | clients | TPS | vs without counters |\n|---|---:|---:|---:|\n",
        );
        for r in &s.counter_writers {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} |",
                r.variant,
                r.clients,
                r.tps,
                ratio(Some(r.vs_without_counters))
            );
        }
        client_tables(&mut out, &s.client);
        out.push_str("\n### SQLite: one call in process (JobStore on a WAL file)\n\n");
        rows_table(&mut out, &s.sqlite, "HashMap lookup");
        if s.mismatches.is_empty() {
            out.push_str(
                "\nAll variants of each operation gave the same answer (reads: counts, job ids \
                 and their order; writes: jobs changed, created, left after cleanup).\n\n",
            );
        } else {
            out.push_str("\n**Answers that differ between variants:**\n\n");
            for m in &s.mismatches {
                let _ = writeln!(out, "- {m}");
            }
            out.push('\n');
        }
    }
    out
}

const COLORS: [(&str, &str); 4] = [
    ("after", "#9e9e9e"),
    ("jobtrack", "#1f77b4"),
    ("cached", "#2ca02c"),
    ("ceiling", "#ff7f0e"),
];

/// The chart: per operation, how many times faster than the original design
/// each variant is (log scale), PostgreSQL and SQLite at the largest size.
pub fn svg(report: &Report) -> String {
    let Some(size) = report.sizes.iter().max_by_key(|s| s.jobs) else {
        return String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    };
    let panels: [(&str, &[Row], &str); 2] = [
        (
            "PostgreSQL (client, one connection)",
            &size.postgres,
            "SELECT 1",
        ),
        ("SQLite (in process)", &size.sqlite, "HashMap lookup"),
    ];
    let label_w = 190.0;
    let plot_w = 560.0;
    let bar_h = 9.0;
    let width = label_w + plot_w + 30.0;
    // Decades on the axis: from 0.1× to the largest ratio.
    let max_ratio = panels
        .iter()
        .flat_map(|p| p.1.iter())
        .filter_map(|r| r.vs_before)
        .fold(10.0f64, f64::max);
    let decades = max_ratio.log10().ceil().max(1.0) + 1.0;
    let x = |r: f64| label_w + (r.max(0.1).log10() + 1.0) / decades * plot_w;
    let mut body = String::new();
    let mut y = 56.0;
    for (title, rows, ceiling) in panels {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-size="14" font-weight="bold">{title}</text>"#
        );
        y += 10.0;
        let top = y;
        let mut ops: Vec<&str> = Vec::new();
        for r in rows {
            if !ops.contains(&r.operation.as_str()) {
                ops.push(&r.operation);
            }
        }
        for op in ops {
            let bars: Vec<&Row> = rows
                .iter()
                .filter(|r| r.operation == op && r.variant != "before")
                .collect();
            let group_h = bars.len() as f64 * (bar_h + 2.0) + 8.0;
            let _ = writeln!(
                body,
                r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
                label_w - 8.0,
                y + group_h / 2.0,
                xml(op)
            );
            let mut by = y + 4.0;
            for r in bars {
                let Some(v) = r.vs_before else { continue };
                let color = COLORS
                    .iter()
                    .find(|c| c.0 == r.variant)
                    .map_or("#000", |c| c.1);
                let x0 = x(1.0);
                let x1 = x(v);
                let (left, w) = if x1 >= x0 {
                    (x0, x1 - x0)
                } else {
                    (x1, x0 - x1)
                };
                let _ = writeln!(
                    body,
                    r#"<rect x="{left:.1}" y="{by:.1}" width="{:.1}" height="{bar_h}" fill="{color}"><title>{}: {} ({} vs before)</title></rect>"#,
                    w.max(1.0),
                    xml(if r.variant == "ceiling" {
                        ceiling
                    } else {
                        &r.variant
                    }),
                    human_ms(r.summary.median_ms),
                    ratio(Some(v))
                );
                let _ = writeln!(
                    body,
                    r#"<text x="{:.1}" y="{:.1}" font-size="9">{}</text>"#,
                    left + w.max(1.0) + 3.0,
                    by + bar_h - 1.0,
                    ratio(Some(v))
                );
                by += bar_h + 2.0;
            }
            y += group_h;
        }
        // Axis: one line per decade.
        for d in 0..=(decades as i32) {
            let r = 10f64.powi(d - 1);
            let xd = x(r);
            let _ = writeln!(
                body,
                r##"<line x1="{xd:.1}" y1="{top}" x2="{xd:.1}" y2="{y}" stroke="#ccc" stroke-width="{}"/>"##,
                if d == 1 { 1.5 } else { 0.5 }
            );
            let _ = writeln!(
                body,
                r#"<text x="{xd:.1}" y="{}" font-size="10" text-anchor="middle">{}×</text>"#,
                y + 12.0,
                if r < 1.0 {
                    "0.1".to_owned()
                } else {
                    format!("{r:.0}")
                }
            );
        }
        y += 36.0;
    }
    // Legend.
    let mut legend = String::new();
    let names = [
        ("after", "plain SQL, optimised"),
        ("jobtrack", "jobtrack function"),
        ("cached", "jobtrack *_cached"),
        ("ceiling", "SELECT 1 / HashMap (ceiling)"),
    ];
    let mut lx = 10.0;
    for (variant, name) in names {
        let color = COLORS
            .iter()
            .find(|c| c.0 == variant)
            .map_or("#000", |c| c.1);
        let _ = writeln!(
            legend,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11">{name}</text>"#,
            y - 6.0,
            lx + 14.0,
            y + 3.0
        );
        lx += 28.0 + name.len() as f64 * 6.0;
    }
    y += 30.0;
    client_panel(&mut legend, &size.client, &mut y, label_w, plot_w);
    let height = y + 20.0;
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="15" font-weight="bold">jobtrack: times faster than the original design ({} jobs, log scale)</text>
<text x="10" y="38" font-size="11">{}</text>
{body}{legend}</svg>
"#,
        thousands(size.jobs),
        xml(&machine_line(&report.machine))
    )
}

/// The Rust client's panel: each path's time per call and the pooled
/// threads' throughput as multiples of the raw connection's (linear scale,
/// a line at 1×).
fn client_panel(body: &mut String, c: &ClientReport, y: &mut f64, label_w: f64, plot_w: f64) {
    const CLIENT_COLORS: [(&str, &str); 3] = [
        ("raw, unprepared", "#9e9e9e"),
        ("client", "#1f77b4"),
        ("client, no pre-ping", "#2ca02c"),
    ];
    let bar_h = 9.0;
    let max = c
        .calls
        .iter()
        .map(|r| r.vs_raw)
        .chain(c.throughput.iter().map(|t| t.vs_raw))
        .filter(|r| r.is_finite())
        .fold(2.0f64, f64::max)
        .ceil();
    let x = |r: f64| label_w + r.clamp(0.0, max) / max * plot_w;
    let _ = writeln!(
        body,
        r#"<text x="10" y="{y}" font-size="14" font-weight="bold">Rust client (PgStore): time per call, × one raw connection (lower is better)</text>"#
    );
    *y += 10.0;
    let top = *y;
    let mut ops: Vec<&str> = Vec::new();
    for r in &c.calls {
        if !ops.contains(&r.operation.as_str()) {
            ops.push(&r.operation);
        }
    }
    let bar = |body: &mut String, by: f64, v: f64, color: &str, title: &str| {
        let _ = writeln!(
            body,
            r#"<rect x="{label_w}" y="{by:.1}" width="{:.1}" height="{bar_h}" fill="{color}"><title>{}</title></rect>"#,
            (x(v) - label_w).max(1.0),
            xml(title)
        );
        let _ = writeln!(
            body,
            r#"<text x="{:.1}" y="{:.1}" font-size="9">{}</text>"#,
            x(v) + 3.0,
            by + bar_h - 1.0,
            ratio(Some(v))
        );
    };
    for op in ops {
        let rows: Vec<&CallRow> = c
            .calls
            .iter()
            .filter(|r| r.operation == op && r.variant != "raw")
            .collect();
        let group_h = rows.len() as f64 * (bar_h + 2.0) + 8.0;
        // The function's name only: the arguments would not fit.
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            *y + group_h / 2.0,
            xml(op.split('(').next().unwrap_or(op))
        );
        let mut by = *y + 4.0;
        for r in rows {
            let color = CLIENT_COLORS
                .iter()
                .find(|c| c.0 == r.variant)
                .map_or("#000", |c| c.1);
            let title = format!("{}: {}", r.variant, human_ms(r.summary.median_ms));
            bar(body, by, r.vs_raw, color, &title);
            by += bar_h + 2.0;
        }
        *y += group_h;
    }
    let _ = writeln!(
        body,
        r#"<text x="10" y="{:.1}" font-size="14" font-weight="bold">{} threads: calls/s, × a raw connection per thread (higher is better)</text>"#,
        *y + 24.0,
        c.throughput.first().map_or(0, |t| t.threads)
    );
    *y += 34.0;
    let mut loads: Vec<&str> = Vec::new();
    for t in &c.throughput {
        if !loads.contains(&t.workload.as_str()) {
            loads.push(&t.workload);
        }
    }
    for load in loads {
        let runs: Vec<&PoolThroughput> = c
            .throughput
            .iter()
            .filter(|t| t.workload == load && t.path.contains("PgStore"))
            .collect();
        let group_h = runs.len() as f64 * (bar_h + 2.0) + 8.0;
        let short: String = load.split(':').next().unwrap_or(load).to_owned();
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            *y + group_h / 2.0,
            xml(&short)
        );
        let mut by = *y + 4.0;
        for t in runs {
            let color = if t.path.contains("no pre-ping") {
                "#2ca02c"
            } else {
                "#1f77b4"
            };
            let title = format!("{}: {:.0} calls/s", t.path, t.calls_per_second);
            bar(body, by, t.vs_raw, color, &title);
            by += bar_h + 2.0;
        }
        *y += group_h;
    }
    for d in 0..=(max as i32) {
        let xd = x(f64::from(d));
        let _ = writeln!(
            body,
            r##"<line x1="{xd:.1}" y1="{top}" x2="{xd:.1}" y2="{}" stroke="#ccc" stroke-width="{}"/>"##,
            *y,
            if d == 1 { 1.5 } else { 0.5 }
        );
        let _ = writeln!(
            body,
            r#"<text x="{xd:.1}" y="{}" font-size="10" text-anchor="middle">{d}×</text>"#,
            *y + 12.0
        );
    }
    *y += 30.0;
    let mut lx = 10.0;
    for (variant, color) in CLIENT_COLORS {
        let name = match variant {
            "raw, unprepared" => "raw connection, SQL text each call",
            "client" => "PgStore, pre-ping on",
            _ => "PgStore, pre-ping off",
        };
        let _ = writeln!(
            body,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11">{name}</text>"#,
            *y - 6.0,
            lx + 14.0,
            *y + 3.0
        );
        lx += 28.0 + name.len() as f64 * 6.0;
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(op: &str, variant: &str, ms: f64) -> Row {
        Row {
            operation: op.into(),
            variant: variant.into(),
            label: String::new(),
            summary: Summary {
                median_ms: ms,
                min_ms: ms,
                max_ms: ms,
                samples: 1,
            },
            vs_before: None,
            vs_after: None,
        }
    }

    #[test]
    fn ratios_are_relative_to_before_and_after() {
        let mut rows = vec![
            row("statistics", "before", 10.0),
            row("statistics", "after", 4.0),
            row("statistics", "jobtrack", 0.5),
        ];
        add_ratios(&mut rows);
        assert_eq!(rows[2].vs_before, Some(20.0));
        assert_eq!(rows[2].vs_after, Some(8.0));
        assert_eq!(rows[0].vs_before, Some(1.0));
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(ratio(Some(2.0)), "2.00×");
    }

    #[test]
    fn the_client_section_is_in_every_rendering() {
        let call = |variant: &str, ms: f64| CallRow {
            operation: "get_statistics_cached()".into(),
            variant: variant.into(),
            label: String::new(),
            summary: row("", "", ms).summary,
            vs_raw: ms / 0.04,
        };
        let run = |path: &str, rate: f64| PoolThroughput {
            workload: "get_statistics_cached()".into(),
            path: path.into(),
            threads: 8,
            seconds: 5.0,
            calls: (rate * 5.0) as u64,
            calls_per_second: rate,
            vs_raw: rate / 30_000.0,
        };
        let report = Report {
            generated_at: String::new(),
            machine: Machine {
                cpus: 2,
                cpu_model: String::new(),
                memory_gib: 1.0,
                kernel: String::new(),
                postgres_version: String::new(),
                sqlite_version: String::new(),
            },
            smoke: true,
            notes: Vec::new(),
            sizes: vec![SizeReport {
                jobs: 500,
                executions: 300,
                variations: 200,
                postgres: Vec::new(),
                pgbench: Vec::new(),
                write_cost: Vec::new(),
                counter_writers: Vec::new(),
                client: ClientReport {
                    calls: vec![call("raw", 0.04), call("client", 0.06)],
                    throughput: vec![
                        run("8 threads, a raw connection each", 30_000.0),
                        run("8 threads, one Arc<PgStore>", 12_000.0),
                    ],
                },
                sqlite: Vec::new(),
                mismatches: Vec::new(),
            }],
        };
        let md = markdown(&report);
        assert!(md.contains("| get_statistics_cached() | client |  | 60.0 µs | 1.50× | 1 |"));
        assert!(md.contains("| 8 threads, one Arc<PgStore> | 60000 | 5.0 | 12000 | 0.40× |"));
        let svg = svg(&report);
        assert!(svg.contains("Rust client (PgStore)"));
        assert!(svg.contains("<title>8 threads, one Arc&lt;PgStore&gt;: 12000 calls/s</title>"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sizes"][0]["client"]["calls"][1]["vs_raw"], 1.5);
    }
}
