//! UTC timestamps with microsecond precision, printed as RFC 3339 with a `Z`
//! (`2026-11-26T16:32:21.123456Z`) in both backends.
//!
//! For the years 0000 to 9999 the format is fixed-width, so in SQLite, where
//! timestamps are stored as this text, string order is time order. Both
//! schemas refuse every other year by CHECK.
//!
//! The calendar is the `time` crate's, with `large-dates`, rather than
//! `jiff`'s because of range. A `Timestamp` is an i64 of microseconds, so it
//! reaches about 290,000 years on either side of 1970: `minus_days`
//! saturates there, and PostgreSQL's `±infinity` lands at or near the ends.
//! jiff stops at the years ±9999, so those values would have no date. `time` goes to
//! ±999,999, so every `Timestamp` has one, Display never fails, and no
//! calendar code of our own is needed at the ends.
//!
//! # Outside the years 0 to 9999
//! Such years are never stored, but a value can still reach them (a
//! saturated cutoff; PostgreSQL's own range, 4713 BC to 294276, which an
//! i64 of microseconds since 1970 covers except at its last 30 years). They are written as ISO 8601
//! expanded years, as `time` writes and reads them: a sign, then 4 to 6
//! digits. `-0001-12-31T23:59:59.999999Z` is 2 BC (the year 0, 1 BC, is
//! `0000`), and `+10000-01-01T00:00:00.000000Z` is the year after 9999. The
//! ends are `-290308-12-21T19:59:05.224192Z` (`i64::MIN`) and
//! `+294247-01-10T04:00:54.775807Z` (`i64::MAX`). FromStr reads back
//! everything Display writes and refuses any text past those ends. A sign
//! sorts before a digit, so every one of these texts sorts before `0000`,
//! which is right for the years below 0 and wrong for those above 9999. That
//! is why text order is time order for the years 0 to 9999 only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::UtcDateTime;

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Microseconds between the Unix epoch and PostgreSQL's 2000-01-01 epoch.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// What Display writes. Under `large-dates`, `[year]` adds the sign and the
/// extra digits outside the years 0 to 9999 by itself.
const WRITTEN: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// What FromStr reads (see its impl below).
const READ: &[BorrowedFormatItem<'_>] = format_description!(
    version = 2,
    "[year]-[month]-[day][first [T][t][ ]][hour]:[minute]:[second]\
     [optional [.[subsecond digits:1+]]]\
     [optional [[first [Z][z][+00:00][+0000][+00][-00:00]]]]"
);

/// Room for the longest text Display writes, `+294247-01-10T04:00:54.775807Z`
/// (30 bytes).
const MAX_WRITTEN_LEN: usize = 32;

// If `large-dates` were ever dropped, or `time` narrowed its range, this
// fails to compile instead of letting Display fail at the ends.
const _: () = assert!(
    UtcDateTime::MIN.unix_timestamp_nanos() <= i64::MIN as i128 * 1000
        && UtcDateTime::MAX.unix_timestamp_nanos() >= i64::MAX as i128 * 1000
);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        // Unlike `SystemTime::duration_since(UNIX_EPOCH)`, this takes a clock
        // set before 1970 too. A clock past an i64 of microseconds saturates.
        Self::from_civil(UtcDateTime::now())
            .unwrap_or_else(|n| Timestamp(if n < 0 { i64::MIN } else { i64::MAX }))
    }

    /// From microseconds since the Unix epoch.
    pub const fn from_unix_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    /// The earliest time either backend stores: 0001-01-01T00:00:00Z (both
    /// schemas CHECK the years 1 to 9999).
    pub const EARLIEST_STORED: Timestamp = Timestamp(-62_135_596_800_000_000);

    /// The latest time either backend stores: 9999-12-31T23:59:59.999999Z.
    pub const LATEST_STORED: Timestamp = Timestamp(253_402_300_799_999_999);

    /// Whether this time lies in the years 1 to 9999, which both schemas
    /// store.
    pub const fn is_storable(self) -> bool {
        self.0 >= Self::EARLIEST_STORED.0 && self.0 <= Self::LATEST_STORED.0
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
        // In i128, so that the ends of the range cannot overflow; every
        // difference an i64 holds converts to the same f64 either way.
        (i128::from(self.0) - i128::from(earlier.0)) as f64 / 1e6
    }

    /// The civil date and time.
    fn civil(self) -> UtcDateTime {
        match UtcDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1000) {
            Ok(t) => t,
            Err(_) => unreachable!("the assertion on UtcDateTime's range above"),
        }
    }

    /// The timestamp of a civil date and time, sub-microseconds dropped
    /// (floor, so the fraction's digits are truncated before 1970 too), or
    /// the microseconds that do not fit an i64.
    fn from_civil(t: UtcDateTime) -> Result<Self, i128> {
        let micros = t.unix_timestamp_nanos().div_euclid(1000);
        i64::try_from(micros).map(Timestamp).map_err(|_| micros)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A buffer on the stack: timestamps are written for every row.
        let mut buf = [0u8; MAX_WRITTEN_LEN];
        let mut out = &mut buf[..];
        let len = self
            .civil()
            .format_into(&mut out, WRITTEN)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
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
    /// `datetime()` and PostgreSQL's text output in a UTC session (for the
    /// years 1 to 9999, the only ones stored: PostgreSQL writes the others
    /// as `10000-…` and `… BC`, which are refused). The year may also carry
    /// a sign and up to 6 digits, as Display writes it outside the years 0
    /// to 9999.
    ///
    /// The date must exist and the seconds are 0 to 59: a leap second's
    /// `:60` is refused, as none of those writers produces one. Fraction
    /// digits past the microsecond (up to 32 digits in all) are dropped, not
    /// rounded.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimestampParseError(s.to_owned());
        let civil = UtcDateTime::parse(s, READ).map_err(|_| err())?;
        Self::from_civil(civil).map_err(|_| err())
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

    const MIN: Timestamp = Timestamp::from_unix_micros(i64::MIN);
    const MAX: Timestamp = Timestamp::from_unix_micros(i64::MAX);

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Display, then FromStr, gives back the same timestamp.
    fn assert_round_trip(t: Timestamp) {
        let text = t.to_string();
        assert_eq!(text.parse::<Timestamp>(), Ok(t), "{text}");
    }

    #[test]
    fn formats_rfc3339_micros() {
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let t = ts("2026-11-26T16:32:21.123456Z");
        assert_eq!(t.to_string(), "2026-11-26T16:32:21.123456Z");
        assert_eq!(t.unix_micros(), 1_795_710_741_123_456);
        assert_eq!(
            Timestamp::from_unix_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn parses_other_spellings() {
        let a = ts("2026-11-26 16:32:21.123");
        assert_eq!(a.to_string(), "2026-11-26T16:32:21.123000Z");
        let b = ts("2026-11-26 16:32:21+00");
        assert_eq!(b.to_string(), "2026-11-26T16:32:21.000000Z");
        let c = ts("2024-02-29T23:59:59.9999999Z");
        assert_eq!(c.to_string(), "2024-02-29T23:59:59.999999Z");
        for same in [
            "2026-11-26t16:32:21z",
            "2026-11-26T16:32:21+00:00",
            "2026-11-26T16:32:21-00:00",
            "2026-11-26T16:32:21+0000",
            "2026-11-26T16:32:21",
            "+2026-11-26T16:32:21Z",
        ] {
            assert_eq!(ts(same), b, "{same}");
        }
        // Truncated, not rounded, before 1970 as after.
        assert_eq!(ts("1969-12-31T23:59:59.9999999Z").unix_micros(), -1);
        for bad in [
            "2026-11-26T16:32:21+02:00",
            "yesterday",
            "",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-26T16:32:21.Z",
            "2026-11-26T16:32:21+00:0",
            "2026-11-26T16:32:21Z ",
            " 2026-11-26T16:32:21Z",
            "2026-11-26X16:32:21Z",
            "2026-1-26T16:32:21Z",
            "2026-11-26T6:32:21Z",
            "26-11-26T16:32:21Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "yesterday".parse::<Timestamp>().unwrap_err().to_string(),
            r#"not a UTC timestamp: "yesterday""#
        );
    }

    #[test]
    fn refuses_dates_and_times_that_do_not_exist() {
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-02-31T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T16:60:00Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
        assert_eq!(
            ts("2000-02-29T00:00:00Z").to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn known_instants() {
        for (text, micros) in [
            ("2000-01-01T00:00:00.000000Z", PG_EPOCH_OFFSET_MICROS),
            ("0001-01-01T00:00:00.000000Z", -62_135_596_800_000_000),
            ("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
            ("1600-03-01T00:00:00.000000Z", -11_670_912_000_000_000),
        ] {
            assert_eq!(ts(text).unix_micros(), micros, "{text}");
            assert_eq!(Timestamp::from_unix_micros(micros).to_string(), text);
        }
    }

    #[test]
    fn round_trip_over_centuries() {
        // Every 997th day (all weekdays, months and leap-year cases) across
        // about 2,200 years either side of 1970, at a moving time of day.
        for days in (-800_000i64..800_000).step_by(997) {
            let micros = days * 86_400_000_000 + (days.rem_euclid(86_400) * 1_000_003);
            assert_round_trip(Timestamp::from_unix_micros(micros));
        }
    }

    #[test]
    fn round_trip_over_the_whole_range() {
        // An odd step, so seconds and microseconds vary too.
        for micros in (i64::MIN..=i64::MAX).step_by(184_467_440_737_095) {
            assert_round_trip(Timestamp::from_unix_micros(micros));
        }
    }

    #[test]
    fn round_trip_at_the_edges() {
        for (micros, text) in [
            (i64::MIN, "-290308-12-21T19:59:05.224192Z"),
            (i64::MIN + 1, "-290308-12-21T19:59:05.224193Z"),
            (i64::MAX - 1, "+294247-01-10T04:00:54.775806Z"),
            (i64::MAX, "+294247-01-10T04:00:54.775807Z"),
            // Either side of the years 1 to 9999, which the schemas store.
            (-62_135_596_800_000_001, "0000-12-31T23:59:59.999999Z"),
            (-62_135_596_800_000_000, "0001-01-01T00:00:00.000000Z"),
            (-62_167_219_200_000_000, "0000-01-01T00:00:00.000000Z"),
            (-62_167_219_200_000_001, "-0001-12-31T23:59:59.999999Z"),
            (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
            (253_402_300_800_000_000, "+10000-01-01T00:00:00.000000Z"),
            (3_093_527_980_800_000_000, "+100000-01-01T00:00:00.000000Z"),
            (-3_217_830_796_800_000_001, "-100000-12-31T23:59:59.999999Z"),
        ] {
            let t = Timestamp::from_unix_micros(micros);
            assert_eq!(t.to_string(), text);
            assert_eq!(ts(text), t, "{text}");
        }
    }

    #[test]
    fn refuses_text_past_the_ends() {
        for beyond in [
            "-290308-12-21T19:59:05.224191Z",
            "+294247-01-10T04:00:54.775808Z",
            "+999999-12-31T23:59:59.999999Z",
            "-999999-01-01T00:00:00Z",
            "+1000000-01-01T00:00:00Z",
            // Unsigned years have four digits: PostgreSQL's `10000-…` too.
            "10000-01-01T00:00:00Z",
            "0001-12-31 23:00:00+00 BC",
        ] {
            assert!(beyond.parse::<Timestamp>().is_err(), "{beyond:?}");
        }
    }

    #[test]
    fn text_order_is_time_order_from_year_0_to_9999() {
        let a = Timestamp::from_unix_micros(1_000_000_123_456);
        let b = Timestamp::from_unix_micros(1_000_000_123_457);
        assert!(a.to_string() < b.to_string());
        assert!((b.seconds_since(a) - 0.000001).abs() < 1e-12);
        let first = ts("0000-01-01T00:00:00Z").unix_micros();
        let last = ts("9999-12-31T23:59:59.999999Z").unix_micros();
        let step = (last - first) / 9_973;
        let texts: Vec<String> = (first..=last)
            .step_by(step as usize)
            .chain([last - 1, last])
            .map(|m| Timestamp::from_unix_micros(m).to_string())
            .collect();
        assert!(texts.windows(2).all(|w| w[0] < w[1]));
        assert!(texts.iter().all(|t| t.len() == 27));
        // Below the year 0, text still sorts first.
        assert!(MIN.to_string() < texts[0]);
    }

    #[test]
    fn pg_epoch() {
        let t = ts("2000-01-01T00:00:00Z");
        assert_eq!(t.pg_micros(), 0);
        assert_eq!(Timestamp::from_pg_micros(0), t);
    }

    #[test]
    fn minus_days_never_wraps() {
        let now = ts("2026-11-26T16:32:21.123456Z");
        assert_eq!(
            now.minus_days(30).to_string(),
            "2026-10-27T16:32:21.123456Z"
        );
        // i32::MAX days is about 5.9 million years: more than an i64 of
        // microseconds spans, so the cutoff is the earliest time there is
        // and precedes every stored timestamp, as text too (SQLite).
        let cutoff = now.minus_days(i32::MAX.into());
        assert_eq!(cutoff, MIN);
        assert!(cutoff < Timestamp::from_unix_micros(0));
        assert!(cutoff.to_string().as_str() < "0001-01-01T00:00:00.000000Z");
        assert_eq!(now.checked_minus_days(i32::MAX.into()), None);
        assert_eq!(now.checked_minus_days(i64::MAX), None);
        assert_eq!(now.checked_minus_days(i64::MIN), None);
        assert_eq!(now.checked_minus_days(0), Some(now));
        assert_eq!(now.minus_days(i64::MIN), MAX);
        // The largest day count that still fits.
        let days = ((i128::from(now.unix_micros()) - i128::from(i64::MIN)) / 86_400_000_000) as i64;
        assert!(now.checked_minus_days(days).is_some());
        assert!(now.checked_minus_days(days + 1).is_none());
    }

    #[test]
    fn pg_conversions_saturate() {
        assert_eq!(Timestamp::from_pg_micros(i64::MAX), MAX);
        assert_eq!(MIN.pg_micros(), i64::MIN);
        // The other two ends are exact, and come back.
        let pg_min = Timestamp::from_pg_micros(i64::MIN);
        assert_eq!(pg_min.unix_micros(), i64::MIN + PG_EPOCH_OFFSET_MICROS);
        assert_eq!(pg_min.pg_micros(), i64::MIN);
        assert_eq!(MAX.pg_micros(), i64::MAX - PG_EPOCH_OFFSET_MICROS);
        assert_eq!(Timestamp::from_pg_micros(MAX.pg_micros()), MAX);
        // Exact both ways wherever neither saturates.
        for pg in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX - PG_EPOCH_OFFSET_MICROS - 1,
            i64::MAX - PG_EPOCH_OFFSET_MICROS,
        ] {
            assert_eq!(Timestamp::from_pg_micros(pg).pg_micros(), pg);
        }
        // Past the end, PostgreSQL's `infinity` and its neighbours all
        // become the latest time there is.
        for pg in [i64::MAX - PG_EPOCH_OFFSET_MICROS + 1, i64::MAX - 1] {
            assert_eq!(Timestamp::from_pg_micros(pg), MAX);
        }
        assert_eq!(
            Timestamp::from_pg_micros(i64::MIN).to_string(),
            "-290278-12-22T19:59:05.224192Z"
        );
        assert_round_trip(Timestamp::from_pg_micros(i64::MIN));
        // PostgreSQL's earliest timestamptz, 4714-11-24 00:00:00+00 BC.
        let earliest = Timestamp::from_pg_micros(-211_813_488_000_000_000);
        assert_eq!(earliest.to_string(), "-4713-11-24T00:00:00.000000Z");
        assert_round_trip(earliest);
    }

    #[test]
    fn seconds_since_spans_the_whole_range() {
        // i64::MAX - i64::MIN is u64::MAX.
        assert_eq!(MAX.seconds_since(MIN), u64::MAX as f64 / 1e6);
        assert_eq!(MIN.seconds_since(MAX), -(u64::MAX as f64) / 1e6);
        let t = ts("2026-11-26T16:32:21.123456Z");
        assert_eq!(t.seconds_since(ts("2026-11-26T16:32:20.123456Z")), 1.0);
    }

    #[test]
    fn serde_is_the_text() {
        for t in [MIN, ts("2026-11-26T16:32:21.123456Z"), MAX] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{t}\""));
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        }
        let err = serde_json::from_str::<Timestamp>("\"2026-02-30T00:00:00Z\"").unwrap_err();
        assert!(err.to_string().contains("not a UTC timestamp"), "{err}");
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn now_reads_the_system_clock() {
        let micros = |t: std::time::SystemTime| {
            let since = t.duration_since(std::time::UNIX_EPOCH).unwrap();
            i64::try_from(since.as_micros()).unwrap()
        };
        let before = micros(std::time::SystemTime::now());
        let now = Timestamp::now();
        let after = micros(std::time::SystemTime::now());
        assert!(
            (before..=after).contains(&now.unix_micros()),
            "{before} {now:?} {after}"
        );
        assert_round_trip(now);
    }
}
