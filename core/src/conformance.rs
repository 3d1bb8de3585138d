//! Normalisation of results for the cross-backend conformance suite
//! (`tests/conformance/scenarios.json`): both runners apply it before
//! comparing a result with the scenario's expectation.
//!
//! Values that depend on the clock become booleans (`true` = not null), and
//! every number becomes a float, since PostgreSQL's `to_jsonb(float8)` prints
//! `50` where serde prints `50.0`.

use serde_json::Value;

/// Keys whose values depend on the clock.
pub const CLOCK_KEYS: &[&str] = &[
    "created_at",
    "updated_at",
    "start_time",
    "end_time",
    "first_run",
    "last_run",
    "last_timestamp",
    "last_updated",
    "duration_seconds",
    "avg_execution_duration",
    "avg_variation_duration",
    "average_duration",
    "min_duration",
    "max_duration",
    "total_duration",
    "avg_duration",
    "last_duration",
    "last_heartbeat",
];

/// Normalises a result in place: clock-dependent values to booleans, numbers
/// to floats.
pub fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                // An expectation already written as a boolean stays as it is.
                if CLOCK_KEYS.contains(&k.as_str()) && !v.is_boolean() {
                    *v = Value::Bool(!v.is_null());
                } else {
                    normalize(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *value = Value::Number(f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clock_values_become_booleans_and_numbers_floats() {
        let mut v = json!([{"created_at": "2026-01-01T00:00:00.000000Z", "start_time": null,
                            "progress": 50, "n": 2.5, "nested": {"duration_seconds": 1.0}}]);
        normalize(&mut v);
        assert_eq!(
            v,
            json!([{"created_at": true, "start_time": false, "progress": 50.0, "n": 2.5,
                    "nested": {"duration_seconds": true}}])
        );
        let mut a = json!(50);
        let mut b = json!(50.0);
        normalize(&mut a);
        normalize(&mut b);
        assert_eq!(a, b);
        let mut expectation = json!({"start_time": false, "created_at": true});
        normalize(&mut expectation);
        assert_eq!(
            expectation,
            json!({"start_time": false, "created_at": true})
        );
    }
}
