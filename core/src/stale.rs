//! Heartbeats and stale jobs: how long a job may stay silent, and what its
//! last sign of life is.
//!
//! A job a worker has taken — any active status but `pending`, which waits
//! for a claim and has no process to lose ([`Status::expects_heartbeats`]) —
//! shows that its process is alive by a heartbeat (`heartbeat`, or
//! `update_progress`, which records one), or by a status change. Its last
//! sign of life is the later of `last_heartbeat` and `updated_at`; it is
//! *stale* once that lies more than `stale_after` in the past. Both backends
//! compute the cut-off here, from their own clock, and compare it with the
//! same expression.
//!
//! [`Status::expects_heartbeats`]: crate::Status::expects_heartbeats

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// How long a job may stay silent before it is stale: a positive number of
/// microseconds, at most [`StaleAfter::MAX_MICROS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StaleAfter(i64);

/// The name of the argument in every function that takes one.
const ARGUMENT: &str = "stale_after";

/// Microseconds per unit of an interval's text.
const UNITS: &[(&[&str], i64)] = &[
    (&["microsecond", "microseconds", "us"], 1),
    (&["millisecond", "milliseconds", "ms"], 1_000),
    (&["second", "seconds", "sec", "secs", "s"], 1_000_000),
    (&["minute", "minutes", "min", "mins", "m"], 60_000_000),
    (&["hour", "hours", "h"], 3_600_000_000),
    (&["day", "days", "d"], 86_400_000_000),
    (&["week", "weeks", "w"], 604_800_000_000),
];

impl StaleAfter {
    /// 15 minutes, the default of `get_stale_jobs`.
    pub const DEFAULT: StaleAfter = StaleAfter(15 * 60_000_000);

    /// The longest: 100,000 days (about 274 years), far beyond any silence
    /// that means a live job, and far from the ends of the timestamp range.
    pub const MAX_MICROS: i64 = 100_000 * 86_400_000_000;

    /// From microseconds; 22023 naming `stale_after` unless from 1 to
    /// [`StaleAfter::MAX_MICROS`].
    pub fn from_micros(micros: i64) -> Result<StaleAfter> {
        if (1..=Self::MAX_MICROS).contains(&micros) {
            Ok(StaleAfter(micros))
        } else {
            Err(Error::invalid(
                None,
                ARGUMENT,
                format!(
                    "must be an interval from 1 microsecond to 100000 days, got {}",
                    Micros(micros)
                ),
            ))
        }
    }

    /// From a Rust duration, as [`StaleAfter::from_micros`].
    pub fn from_duration(d: Duration) -> Result<StaleAfter> {
        Self::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    /// The microseconds.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// As a Rust duration.
    pub fn duration(self) -> Duration {
        Duration::from_micros(self.0 as u64)
    }

    /// The time before which a job's last sign of life makes it stale at
    /// `now`; `None` when that lies before every time the schemas store
    /// (the year 1), so that no job is stale.
    pub fn cutoff(self, now: Timestamp) -> Option<Timestamp> {
        now.unix_micros()
            .checked_sub(self.0)
            .filter(|&t| t >= crate::usecase::EARLIEST_STORED_MICROS)
            .map(Timestamp::from_unix_micros)
    }
}

impl fmt::Display for StaleAfter {
    /// As PostgreSQL prints an interval of hours, minutes and seconds
    /// (`00:15:00`, `36:00:00.5`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Micros(self.0).fmt(f)
    }
}

/// Microseconds printed as `HH:MM:SS[.ffffff]` (negative with a sign).
struct Micros(i64);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        let (secs, frac) = (m / 1_000_000, m % 1_000_000);
        write!(
            f,
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if frac != 0 {
            let digits = format!("{frac:06}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for StaleAfter {
    type Err = Error;

    /// The plain forms of PostgreSQL's interval input, with a fixed length:
    /// numbers with units (`15 minutes`, `1 hour 30 min`, `90s`, `2.5
    /// hours`), `HH:MM[:SS[.ffffff]]`, and both (`1 day 02:00:00`). Months
    /// and years, whose length varies, are refused (22023 naming
    /// `stale_after`), as is anything else.
    fn from_str(text: &str) -> Result<StaleAfter> {
        let bad = || {
            Error::invalid(
                None,
                ARGUMENT,
                format!(
                    "must be an interval such as '15 minutes', '2 hours 30 minutes' or '00:15:00' \
                     (units: microseconds to weeks), got {text:?}"
                ),
            )
        };
        // Split "90s" and "15min" into a number and a unit.
        let mut tokens: Vec<String> = Vec::new();
        for word in text.split_whitespace() {
            let split = word
                .find(|c: char| c.is_ascii_alphabetic())
                .filter(|&i| i > 0 && !word.contains(':'));
            match split {
                Some(i) => {
                    tokens.push(word[..i].to_owned());
                    tokens.push(word[i..].to_owned());
                }
                None => tokens.push(word.to_owned()),
            }
        }
        if tokens.is_empty() {
            return Err(bad());
        }
        let mut total: i128 = 0;
        let mut i = 0;
        while i < tokens.len() {
            let token = &tokens[i];
            if token.contains(':') {
                total += clock(token).ok_or_else(bad)?;
                i += 1;
                continue;
            }
            let unit = tokens.get(i + 1).ok_or_else(bad)?.to_ascii_lowercase();
            let per = UNITS
                .iter()
                .find(|(names, _)| names.contains(&unit.as_str()))
                .map(|&(_, per)| per)
                .ok_or_else(bad)?;
            total += scaled(token, per).ok_or_else(bad)?;
            i += 2;
            if total.abs() > i128::from(i64::MAX) {
                return Err(bad());
            }
        }
        let micros = i64::try_from(total).map_err(|_| bad())?;
        StaleAfter::from_micros(micros)
    }
}

/// `number × per` microseconds, the number decimal (`2.5`), exact to the
/// microsecond (rounded half away from zero, as PostgreSQL rounds).
fn scaled(number: &str, per: i64) -> Option<i128> {
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 18
        || fraction.len() > 18
    {
        return None;
    }
    let whole: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole * i128::from(per);
    if !fraction.is_empty() {
        let scale = 10i128.pow(fraction.len() as u32);
        let f: i128 = fraction.parse().ok()?;
        value += (f * i128::from(per) * 2 + scale) / (scale * 2);
    }
    Some(if negative { -value } else { value })
}

/// `HH:MM[:SS[.ffffff]]` in microseconds (a leading `-` negates it).
fn clock(text: &str) -> Option<i128> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts[..parts.len() - 1].iter().any(|p| p.contains('.')) {
        return None;
    }
    let mut total = scaled(parts[0], 3_600_000_000)? + scaled(parts[1], 60_000_000)?;
    if let Some(seconds) = parts.get(2) {
        total += scaled(seconds, 1_000_000)?;
    }
    if parts.iter().any(|p| p.starts_with(['-', '+'])) {
        return None;
    }
    Some(if negative { -total } else { total })
}

/// An active job found stale: its kind, id and last sign of life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleJob {
    /// `execution` or `variation`.
    pub job_type: crate::JobType,
    /// The id.
    pub job_id: String,
    /// The later of its `last_heartbeat` and `updated_at`.
    pub last_seen: Timestamp,
}

/// The message `fail_stale_jobs` records when it is given none: when the
/// job last showed a sign of life.
pub fn stale_message(last_seen: Timestamp) -> String {
    format!("jobtrack: failed as stale: no heartbeat, progress or status change since {last_seen}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<i64> {
        s.parse::<StaleAfter>().map(StaleAfter::micros)
    }

    #[test]
    fn reads_the_plain_forms_of_postgresql_intervals() {
        const MIN: i64 = 60_000_000;
        for (text, micros) in [
            ("15 minutes", 15 * MIN),
            ("1 minute", MIN),
            ("1 hour 30 minutes", 90 * MIN),
            ("90s", 90_000_000),
            ("15min", 15 * MIN),
            ("2.5 hours", 150 * MIN),
            ("00:15:00", 15 * MIN),
            ("00:15", 15 * MIN),
            ("36:00:00.5", 36 * 60 * MIN + 500_000),
            ("1 day 02:00:00", 26 * 60 * MIN),
            ("1 DAY", 24 * 60 * MIN),
            ("1 week", 7 * 24 * 60 * MIN),
            ("1 microsecond", 1),
            ("0.0000005 seconds", 1),
            ("100000 days", StaleAfter::MAX_MICROS),
        ] {
            assert_eq!(parse(text), Ok(micros), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_positive_fixed_length() {
        for text in [
            "",
            "15",
            "minutes",
            "1 month",
            "1 year",
            "0 seconds",
            "-5 minutes",
            "00:00:00",
            "-00:15:00",
            "00:-15:00",
            "1.5:00",
            "100001 days",
            "99999999999999999999 days",
            "1e3 seconds",
            "15 minutes ago",
            "15 fortnights",
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.sqlstate(), "22023", "{text}");
            assert!(e.to_string().contains("stale_after"), "{text}: {e}");
        }
    }

    #[test]
    fn prints_as_postgresql_prints_intervals() {
        assert_eq!(StaleAfter::DEFAULT.to_string(), "00:15:00");
        assert_eq!(
            StaleAfter::from_micros(36 * 3_600_000_000 + 500_000)
                .unwrap()
                .to_string(),
            "36:00:00.5"
        );
        assert_eq!("00:15:00".parse::<StaleAfter>(), Ok(StaleAfter::DEFAULT));
    }

    #[test]
    fn durations_convert_exactly_and_are_bounded() {
        let d = Duration::from_secs(900);
        assert_eq!(StaleAfter::from_duration(d).unwrap().duration(), d);
        assert!(StaleAfter::from_duration(Duration::ZERO).is_err());
        assert!(StaleAfter::from_duration(Duration::from_nanos(999)).is_err());
        assert!(StaleAfter::from_duration(Duration::MAX).is_err());
    }

    #[test]
    fn the_cutoff_never_wraps_round() {
        let now = Timestamp::from_unix_micros(1_000_000_000_000_000);
        let s = StaleAfter::DEFAULT;
        assert_eq!(
            s.cutoff(now),
            Some(Timestamp::from_unix_micros(
                1_000_000_000_000_000 - 900_000_000
            ))
        );
        let max = StaleAfter::from_micros(StaleAfter::MAX_MICROS).unwrap();
        assert_eq!(max.cutoff(Timestamp::from_unix_micros(i64::MIN)), None);
        assert_eq!(
            max.cutoff(Timestamp::from_unix_micros(
                crate::usecase::EARLIEST_STORED_MICROS
            )),
            None
        );
    }
}
