//! CloudWatch metrics as Embedded Metric Format lines on stdout: Lambda ships them to
//! CloudWatch Logs, which turns them into metrics. No SDK call, no extra latency.
//! Names and the one dimension (`Function`) are static strings, so cardinality is bounded.
//!
//! Each line carries `"level": "FATAL"`. With the JSON log format, Lambda gives a line
//! without a level the level INFO and drops it once the function's application log level
//! is raised above INFO ("Log-level filtering", Lambda Developer Guide): the metrics the
//! quota and tenant alarms read would stop without a word. FATAL is the one level no
//! setting filters; the line is a metric, not an event, so nothing reads it as a crash.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// The namespace every frontdoor metric lives in (the template's alarms read it).
pub const NAMESPACE: &str = "frontdoor";

/// The log level of every EMF line: the one no application log level filters.
pub const METRICS_LEVEL: &str = "FATAL";

/// A metric's unit, as CloudWatch spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// Its name, e.g. `TargetsRegistered`.
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
}

impl Metric {
    /// A count.
    pub fn count(name: &'static str, value: usize) -> Self {
        Self {
            name,
            value: value as f64,
            unit: Unit::Count,
        }
    }
}

/// The EMF document for `metrics` of `function` at `timestamp_ms`.
pub fn emf(function: &'static str, metrics: &[Metric], timestamp_ms: u128) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()})).collect::<Vec<_>>(),
            }],
        }),
    );
    doc.insert("level".into(), json!(METRICS_LEVEL));
    // Lambda reads the level only from a line with an RFC 3339 `timestamp`.
    let ms = i64::try_from(timestamp_ms).unwrap_or(i64::MAX);
    let rfc3339 = aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    doc.insert("timestamp".into(), json!(rfc3339));
    doc.insert("Function".into(), json!(function));
    for m in metrics {
        doc.insert(m.name.into(), json!(m.value));
    }
    Value::Object(doc)
}

/// Writes one EMF line to stdout. A failed write is ignored: metrics never fail a reconcile.
pub fn emit(function: &'static str, metrics: &[Metric]) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let line = emf(function, metrics, now).to_string();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_with_its_value() {
        let doc = emf(
            "target-sync",
            &[
                Metric::count("TargetsRegistered", 2),
                Metric {
                    name: "ReconcileDuration",
                    value: 12.5,
                    unit: Unit::Milliseconds,
                },
            ],
            1_795_000_000_000,
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "frontdoor"
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Function"
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Unit"],
            "Milliseconds"
        );
        assert_eq!(doc["Function"], "target-sync");
        // Survives any ApplicationLogLevel (Lambda drops lines whose level is below it).
        assert_eq!(doc["level"], "FATAL");
        assert_eq!(doc["timestamp"], "2026-11-18T11:06:40Z");
        assert_eq!(doc["TargetsRegistered"], 2.0);
        assert_eq!(doc["ReconcileDuration"], 12.5);
    }
}
