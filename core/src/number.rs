//! JSON numbers as PostgreSQL `numeric` prints them.
//!
//! PostgreSQL keeps a number of a `jsonb` value as `numeric` and prints it in
//! numeric's canonical form (`1e2` comes back as `100`, `1.50` as `1.50`,
//! `-0.0` as `0.0`); SQLite keeps the JSON text it is given. Both backends
//! store parameters in this form, computed from the literal's digits alone
//! (never through `f64`), so that a value reads back identically from either
//! and exactly as given.
//!
//! The limits are those of PostgreSQL 15's `numeric_in`: at most 16383
//! digits after the decimal point (the scale, `NUMERIC_DSCALE_MAX`), at most
//! 131072 before it (`NUMERIC_WEIGHT_MAX`), and an exponent below
//! 1073741823 (`INT_MAX / 2`) in magnitude. Beyond them PostgreSQL refuses
//! the value ("value overflows numeric format"), so jobtrack does too, in
//! both backends.

use std::fmt;

use serde_json::{Number, Value};

/// Most digits after the decimal point (`NUMERIC_DSCALE_MAX`).
pub const MAX_SCALE: usize = 0x3FFF;
/// Most significant digits before the decimal point: `NUMERIC_WEIGHT_MAX`
/// (32767) + 1 base-10000 digits of 4 decimal digits each.
pub const MAX_INTEGER_DIGITS: usize = 131_072;
/// `numeric_in` refuses an exponent whose magnitude reaches `INT_MAX / 2`.
const EXPONENT_LIMIT: i64 = (i32::MAX / 2) as i64;

/// Why a literal has no numeric form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a JSON number literal.
    Syntax,
    /// Outside what PostgreSQL's `numeric` can represent.
    OutOfRange,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::Syntax => "is not a JSON number",
            NumberError::OutOfRange => "is outside the range of PostgreSQL's numeric",
        })
    }
}

/// The text `'<literal>'::numeric::text` gives for a JSON number literal:
/// the exponent applied, scale = max(0, fraction digits − exponent), no
/// exponent in the output, no negative zero.
pub fn canonical_numeric(literal: &str) -> Result<String, NumberError> {
    let b = literal.as_bytes();
    let digits_from = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let negative = b.first() == Some(&b'-');
    let int_start = usize::from(negative);
    let int_end = digits_from(int_start);
    let int = &b[int_start..int_end];
    // JSON: at least one digit, no leading zero.
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return Err(NumberError::Syntax);
    }
    let mut i = int_end;
    let frac: &[u8] = if b.get(i) == Some(&b'.') {
        let end = digits_from(i + 1);
        if end == i + 1 {
            return Err(NumberError::Syntax);
        }
        let frac = &b[i + 1..end];
        i = end;
        frac
    } else {
        &[]
    };
    let mut exponent: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let end = digits_from(i);
        if end == i {
            return Err(NumberError::Syntax);
        }
        for &c in &b[i..end] {
            // Saturates: anything at the limit is refused below.
            exponent = (exponent * 10 + i64::from(c - b'0')).min(EXPONENT_LIMIT);
        }
        if exp_negative {
            exponent = -exponent;
        }
        i = end;
    }
    if i != b.len() {
        return Err(NumberError::Syntax);
    }
    if exponent.abs() >= EXPONENT_LIMIT {
        return Err(NumberError::OutOfRange);
    }

    // The digits of int and frac as one sequence; the decimal point sits
    // before index `point` of it (which may lie outside it).
    let len = (int.len() + frac.len()) as i64;
    let digit = |k: i64| -> u8 {
        let k = k as usize;
        if k < int.len() {
            int[k]
        } else {
            frac[k - int.len()]
        }
    };
    let point = int.len() as i64 + exponent;
    let scale = (frac.len() as i64 - exponent).max(0);
    if scale > MAX_SCALE as i64 {
        return Err(NumberError::OutOfRange);
    }
    let first_nonzero = (0..len).find(|&k| digit(k) != b'0');

    let mut out = String::new();
    if first_nonzero.is_some() && negative {
        out.push('-');
    }
    match first_nonzero {
        Some(f) if f < point => {
            if (point - f) as usize > MAX_INTEGER_DIGITS {
                return Err(NumberError::OutOfRange);
            }
            out.reserve((point - f) as usize + 1 + scale as usize);
            (f..point.min(len)).for_each(|k| out.push(char::from(digit(k))));
            (len..point).for_each(|_| out.push('0'));
        }
        _ => out.push('0'),
    }
    if scale > 0 {
        out.push('.');
        // Exactly `scale` digits: zeros between the point and the first
        // digit, then the digits after the point.
        (point..0).for_each(|_| out.push('0'));
        (point.max(0)..len).for_each(|k| out.push(char::from(digit(k))));
    }
    Ok(out)
}

/// Rewrites every number in `value`, at any depth, to its canonical form.
pub fn canonicalize_numbers(value: &mut Value) -> Result<(), NumberError> {
    match value {
        Value::Number(n) => {
            let canonical = canonical_numeric(n.as_str())?;
            if canonical != n.as_str() {
                *n = canonical
                    .parse::<Number>()
                    .map_err(|_| NumberError::Syntax)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(canonicalize_numbers),
        Value::Object(map) => map.values_mut().try_for_each(canonicalize_numbers),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// A number for an error message: long ones shortened, so that a message
/// stays readable whatever was sent.
pub fn abbreviate(text: &str) -> String {
    const SHOWN: usize = 24;
    if text.len() <= 2 * SHOWN {
        return text.to_owned();
    }
    // Number literals are ASCII: any byte index is a character boundary.
    format!(
        "{}… (a number of {} characters)",
        &text[..SHOWN],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_numeric(s).unwrap()
    }

    /// Each expected text is what PostgreSQL 15.20 printed for
    /// `SELECT '<literal>'::numeric::text` (and the same for `::jsonb::text`).
    #[test]
    fn matches_postgres_numeric_text() {
        for (literal, expected) in [
            ("1e2", "100"),
            ("1.50", "1.50"),
            ("-0.0", "0.0"),
            ("-0", "0"),
            ("0", "0"),
            ("0.1", "0.1"),
            ("1E+3", "1000"),
            ("2.5e-3", "0.0025"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1e-3", "0.001"),
            ("10.0", "10.0"),
            ("100e-2", "1.00"),
            ("0.000", "0.000"),
            ("1.0e1", "10"),
            ("-1.5E-1", "-0.15"),
            ("0e5", "0"),
            ("0e-5", "0.00000"),
            ("0.0e-2", "0.000"),
            ("-0e0", "0"),
            ("-0e-3", "0.000"),
            ("12.34e1", "123.4"),
            ("12.34e-1", "1.234"),
            ("1234e-2", "12.34"),
            ("0.0e16383", "0"),
            ("0e1073741822", "0"),
            ("-12", "-12"),
            ("5e+0", "5"),
        ] {
            assert_eq!(canon(literal), expected, "{literal}");
        }
    }

    #[test]
    fn tiny_and_huge_keep_every_digit() {
        let tiny = canon("1e-400");
        assert_eq!(tiny.len(), 402);
        assert_eq!(tiny, format!("0.{}1", "0".repeat(399)));
        assert_eq!(canon("1e1000"), format!("1{}", "0".repeat(1000)));
        assert_eq!(canon("1e-16383").len(), 16385);
        assert_eq!(canon("0e-16383").len(), 16385);
        assert_eq!(canon("0.00e-16381").len(), 16385);
        assert_eq!(canon("1e131071").len(), 131_072);
    }

    /// PostgreSQL answered "value overflows numeric format" for each.
    #[test]
    fn refuses_what_numeric_refuses() {
        for literal in [
            "1e-16384",
            "10e-16384",
            "0e-16384",
            "0.5e-16383",
            "0.0e-16383",
            "0.00e-16382",
            "1e131072",
            "0e1073741823",
            "0e-1073741822",
            "0e99999999999",
            "1e1073741823",
        ] {
            assert_eq!(
                canonical_numeric(literal),
                Err(NumberError::OutOfRange),
                "{literal}"
            );
        }
    }

    #[test]
    fn refuses_what_json_refuses() {
        for literal in [
            "", "-", "00012", "01", "1.", ".5", "+1", "1e", "1e+", "--1", "1.2.3", "1e2e3", " 1",
            "1 ", "NaN", "0x10", "1_000",
        ] {
            assert_eq!(
                canonical_numeric(literal),
                Err(NumberError::Syntax),
                "{literal:?}"
            );
        }
    }

    #[test]
    fn canonical_text_is_its_own_canonical_form() {
        for literal in ["1e2", "-1.5E-1", "1e-400", "2.5e-3", "0e-5", "1.0e1"] {
            let once = canon(literal);
            assert_eq!(canon(&once), once);
        }
    }

    #[test]
    fn rewrites_numbers_at_any_depth() {
        let mut v: Value =
            serde_json::from_str(r#"{"a": [1e2, {"b": -0.0}], "c": "1e2", "d": 1E+3}"#).unwrap();
        canonicalize_numbers(&mut v).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":[100,{"b":0.0}],"c":"1e2","d":1000}"#
        );
        let mut v: Value = serde_json::from_str("[1e-20000]").unwrap();
        assert_eq!(canonicalize_numbers(&mut v), Err(NumberError::OutOfRange));
    }

    #[test]
    fn long_numbers_are_shortened_in_messages() {
        assert_eq!(abbreviate("1.5"), "1.5");
        let long = canon("1e400");
        assert_eq!(
            abbreviate(&long),
            "100000000000000000000000… (a number of 401 characters)"
        );
    }
}
