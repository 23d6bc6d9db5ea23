//! Verdicts and reports: what every checker returns, in words and as JSON.
//!
//! A [`Report`] carries a [`Verdict`], a one-line summary, and the [`Anomaly`]s found, each with
//! numbered steps a person can follow and the history indices of the operations involved.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;

/// The outcome of a check. "Unknown" is never valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The history satisfies the property.
    Valid,
    /// The history violates it; the report says how.
    Invalid,
    /// Not decided (time budget spent, or not decidable from the history).
    Unknown,
}

impl Verdict {
    /// The process exit code Jepsen uses for this verdict: 0 valid, 1 invalid, 2 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Unknown => 2,
        }
    }

    /// The worse of two verdicts: invalid over unknown over valid.
    pub fn worst(self, other: Verdict) -> Verdict {
        use Verdict::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// Lower-case name: `valid`, `invalid`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One piece of evidence against the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The anomaly's name (`nonlinearizable`, `G1c`, `G-single-realtime`, `read-your-writes`...).
    pub kind: String,
    /// The key it concerns, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The explanation as numbered steps, in plain words.
    pub steps: Vec<String>,
    /// History `index` values of the events involved (invocations, and completions when known).
    #[serde(default)]
    pub events: Vec<u64>,
    /// Checker-specific machine-readable details.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// What one checker concluded about one history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The checker (`linearizability`, `list-append`, `rw-register`, `session`...).
    pub checker: String,
    /// The model or consistency model checked against.
    pub model: String,
    /// The verdict.
    pub verdict: Verdict,
    /// One line for a terminal.
    pub summary: String,
    /// Evidence, smallest first where the checker can tell.
    #[serde(default)]
    pub anomalies: Vec<Anomaly>,
    /// Counts and timings (`ops`, `keys`, `elapsed_ms`, ...).
    #[serde(default)]
    pub stats: serde_json::Map<String, Value>,
    /// Anything else the checker wants to record (e.g. models violated).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl Report {
    /// A report with a verdict and summary and nothing else yet.
    pub fn new(
        checker: impl Into<String>,
        model: impl Into<String>,
        verdict: Verdict,
        summary: impl Into<String>,
    ) -> Self {
        Report {
            checker: checker.into(),
            model: model.into(),
            verdict,
            summary: summary.into(),
            anomalies: Vec::new(),
            stats: serde_json::Map::new(),
            details: Value::Null,
        }
    }

    /// The report as text for a terminal: the summary, then each anomaly's numbered steps.
    /// At most `max_anomalies` anomalies are written out in full.
    pub fn render_text(&self, max_anomalies: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} ({}): {} — {}",
            self.checker,
            self.model,
            self.verdict.name().to_uppercase(),
            self.summary
        );
        for (i, a) in self.anomalies.iter().take(max_anomalies).enumerate() {
            let key = a.key.as_ref().map(|k| format!(" on key {k}")).unwrap_or_default();
            let _ = writeln!(out, "\n  Anomaly {} — {}{}:", i + 1, a.kind, key);
            for (n, step) in a.steps.iter().enumerate() {
                let _ = writeln!(out, "    {}. {}", n + 1, step);
            }
        }
        if self.anomalies.len() > max_anomalies {
            let _ = writeln!(
                out,
                "\n  ... and {} more anomalies (use --json for all)",
                self.anomalies.len() - max_anomalies
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_orders_invalid_over_unknown_over_valid() {
        use Verdict::*;
        assert_eq!(Valid.worst(Unknown), Unknown);
        assert_eq!(Unknown.worst(Invalid), Invalid);
        assert_eq!(Valid.worst(Valid), Valid);
        assert_eq!([Valid, Invalid, Unknown].map(Verdict::exit_code), [0, 1, 2]);
    }

    #[test]
    fn renders_numbered_steps() {
        let mut r = Report::new(
            "linearizability",
            "cas-register",
            Verdict::Invalid,
            "1 key of 1 fails",
        );
        r.anomalies.push(Anomaly {
            kind: "nonlinearizable".into(),
            key: Some(Value::from("k1")),
            steps: vec!["first".into(), "second".into()],
            events: vec![1, 2],
            details: Value::Null,
        });
        let text = r.render_text(5);
        assert!(text.contains("INVALID"));
        assert!(text.contains("Anomaly 1 — nonlinearizable on key \"k1\":"));
        assert!(text.contains("    2. second"));
    }
}
