//! UTC timestamps with microsecond precision, printed as RFC 3339 with a `Z`
//! (`2026-11-26T16:32:21.123456Z`) in both backends.
//!
//! The format is fixed-width, so in SQLite, where timestamps are stored as
//! this text, string order is time order.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Microseconds between the Unix epoch and PostgreSQL's 2000-01-01 epoch.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("system clock before 1970");
        Timestamp(since.as_micros() as i64)
    }

    /// From microseconds since the Unix epoch.
    pub const fn from_unix_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    /// From PostgreSQL's internal `timestamptz` (microseconds since 2000-01-01).
    /// Saturates: `infinity` (i64::MAX) stays the latest time there is.
    pub const fn from_pg_micros(micros: i64) -> Self {
        Timestamp(micros.saturating_add(PG_EPOCH_OFFSET_MICROS))
    }

    /// PostgreSQL's internal `timestamptz` value (saturating).
    pub const fn pg_micros(self) -> i64 {
        self.0.saturating_sub(PG_EPOCH_OFFSET_MICROS)
    }

    /// This time minus `days` whole days of 86,400 seconds; `None` when
    /// that lies before the earliest time an i64 of microseconds holds
    /// (about 292,000 years before 1970).
    pub const fn checked_minus_days(self, days: i64) -> Option<Self> {
        // In i128, where neither the product nor the difference overflows.
        let t = self.0 as i128 - days as i128 * 86_400_000_000;
        if t < i64::MIN as i128 || t > i64::MAX as i128 {
            None
        } else {
            Some(Timestamp(t as i64))
        }
    }

    /// This time minus `days` whole days, saturating at the earliest time
    /// there is (never wrapping round to a later one: a cleanup cutoff
    /// that wrapped would delete new jobs).
    pub const fn minus_days(self, days: i64) -> Self {
        match self.checked_minus_days(days) {
            Some(t) => t,
            None => Timestamp(if days >= 0 { i64::MIN } else { i64::MAX }),
        }
    }

    /// Seconds from `earlier` to `self`, exact to the microsecond.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1e6
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )
    }
}

/// A timestamp that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UTC timestamp: {0:?}")]
pub struct TimestampParseError(String);

impl FromStr for Timestamp {
    type Err = TimestampParseError;

    /// Accepts `YYYY-MM-DD[T ]HH:MM:SS[.f…]` followed by `Z`, `+00:00`,
    /// `+00` or nothing (UTC assumed): the jobtrack format, SQLite's
    /// `datetime()` and PostgreSQL's text output in a UTC session.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimestampParseError(s.to_owned());
        let b = s.as_bytes();
        if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimestampParseError> {
            let part = s.get(r).ok_or_else(err)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            part.parse().map_err(|_| err())
        };
        if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return Err(err());
        }
        let mut rest = &s[19..];
        let mut micros = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err());
            }
            for (i, c) in frac[..digits].bytes().take(6).enumerate() {
                micros += i64::from(c - b'0') * 10i64.pow(5 - i as u32);
            }
            rest = &frac[digits..];
        }
        if !matches!(rest, "" | "Z" | "z" | "+00:00" | "+00" | "-00:00" | "+0000") {
            return Err(err());
        }
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
        Ok(Timestamp(secs * 1_000_000 + micros))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_micros() {
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let t: Timestamp = "2026-11-26T16:32:21.123456Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-26T16:32:21.123456Z");
        assert_eq!(t.unix_micros(), 1_795_710_741_123_456);
    }

    #[test]
    fn parses_other_spellings() {
        let a: Timestamp = "2026-11-26 16:32:21.123".parse().unwrap();
        assert_eq!(a.to_string(), "2026-11-26T16:32:21.123000Z");
        let b: Timestamp = "2026-11-26 16:32:21+00".parse().unwrap();
        assert_eq!(b.to_string(), "2026-11-26T16:32:21.000000Z");
        let c: Timestamp = "2024-02-29T23:59:59.9999999Z".parse().unwrap();
        assert_eq!(c.to_string(), "2024-02-29T23:59:59.999999Z");
        assert!("2026-11-26T16:32:21+02:00".parse::<Timestamp>().is_err());
        assert!("yesterday".parse::<Timestamp>().is_err());
        assert!("2026-13-01T00:00:00Z".parse::<Timestamp>().is_err());
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn pg_epoch() {
        let t: Timestamp = "2000-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(t.pg_micros(), 0);
        assert_eq!(Timestamp::from_pg_micros(0), t);
    }

    #[test]
    fn minus_days_never_wraps() {
        let now: Timestamp = "2026-11-26T16:32:21.123456Z".parse().unwrap();
        assert_eq!(
            now.minus_days(30).to_string(),
            "2026-10-27T16:32:21.123456Z"
        );
        // i32::MAX days is about 5.9 million years: more than an i64 of
        // microseconds spans, so the cutoff is the earliest time there is
        // and precedes every stored timestamp, as text too (SQLite).
        let cutoff = now.minus_days(i32::MAX.into());
        assert_eq!(cutoff, Timestamp::from_unix_micros(i64::MIN));
        assert!(cutoff < Timestamp::from_unix_micros(0));
        assert!(cutoff.to_string().as_str() < "0001-01-01T00:00:00.000000Z");
        assert_eq!(now.checked_minus_days(i32::MAX.into()), None);
        assert_eq!(now.checked_minus_days(i64::MAX), None);
        assert_eq!(now.checked_minus_days(0), Some(now));
        // The largest day count that still fits.
        let days = ((i128::from(now.unix_micros()) - i128::from(i64::MIN)) / 86_400_000_000) as i64;
        assert!(now.checked_minus_days(days).is_some());
        assert!(now.checked_minus_days(days + 1).is_none());
    }

    #[test]
    fn pg_conversions_saturate() {
        assert_eq!(Timestamp::from_pg_micros(i64::MAX).unix_micros(), i64::MAX);
        assert_eq!(Timestamp::from_unix_micros(i64::MIN).pg_micros(), i64::MIN);
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Timestamp::from_unix_micros(1_000_000_123_456);
        let b = Timestamp::from_unix_micros(1_000_000_123_457);
        assert!(a.to_string() < b.to_string());
        assert!((b.seconds_since(a) - 0.000001).abs() < 1e-12);
    }
}
