//! The parts of the `jobtrack` command line.

pub mod demo;
pub mod error;
pub mod export;
pub mod files;
pub mod output;
pub mod reader;

use std::time::Duration;

use jobtrack_store::{StaleAfter, Timestamp};

/// The longest busy timeout SQLite takes: `sqlite3_busy_timeout` counts
/// milliseconds in a C `int` (about 24.8 days).
const MAX_BUSY_TIMEOUT_MS: f64 = i32::MAX as f64;

/// `--busy-timeout`: milliseconds, or a number with a unit (`ms`, `s`,
/// `m`, `h`): `250`, `250ms`, `1.5s`, `10min`.
pub fn parse_busy_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let unit_ms = match unit {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        _ => return Err(format!("unknown unit {unit:?}: use ms, s, m or h")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| "expected milliseconds, or a number with ms, s, m or h".to_owned())?;
    let ms = value * unit_ms;
    if !(0.0..=MAX_BUSY_TIMEOUT_MS).contains(&ms) {
        return Err(format!(
            "at most {} ms (about 24 days)",
            MAX_BUSY_TIMEOUT_MS as i64
        ));
    }
    Ok(Duration::from_micros((ms * 1e3).round() as u64))
}

/// `--after`: an interval as the API reads one (`StaleAfter`'s text);
/// clap shows core's message, which names the argument, as a usage error.
pub fn parse_stale_after(text: &str) -> Result<StaleAfter, String> {
    text.parse()
        .map_err(|e: jobtrack_store::Error| e.to_string())
}

/// `--since`: a time as RFC 3339 text (`2026-01-31T12:00:00Z`; `Z`,
/// `+00:00` or nothing for UTC, a space for the `T`).
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    text.trim()
        .parse()
        .map_err(|_| "expected a UTC time such as 2026-01-31T12:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_timeouts() {
        let ms = |t: &str| parse_busy_timeout(t).map(|d| d.as_millis());
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("250"), Ok(250));
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("1.5s"), Ok(1500));
        assert_eq!(ms(" 2 s "), Ok(2000));
        assert_eq!(ms("3m"), Ok(180_000));
        assert_eq!(ms("10min"), Ok(600_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("2147483647"), Ok(2_147_483_647));
        for bad in [
            "",
            "-1",
            "s",
            "5x",
            "1e3",
            "1.2.3",
            "2147483648",
            "597h",
            "NaN",
        ] {
            assert!(parse_busy_timeout(bad).is_err(), "{bad:?}");
        }
    }
}
