//! Availability expectations of a workload (`[[expect.availability]]`): what share of one type
//! of operation should succeed (or fail, or time out) while one kind of fault is in force, or
//! how long that type may go without a success. A run checks each against the availability it
//! measured (`faultline_checkers::availability`); an unmet one fails the run's expectation
//! exactly as an unexpected verdict does.
//!
//! ```toml
//! [[expect.availability]]
//! fault = "kill-follower"     # a fault kind, or "any" for every fault window
//! op = "write"                # read | write | cas (a transaction is a read or a write)
//! metric = "ok-rate"          # ok-rate | fail-rate | info-rate | ok-rate-vs-fault-free | longest-stall
//! at_most = 0.2               # or at_least; rates are fractions, longest-stall is in seconds
//! because = "sync replication waits for every follower"
//! ```

use super::FaultKind;
use faultline_checkers::availability::{Availability, Outcomes};
use serde::{Deserialize, Serialize};

/// What an expectation measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AvailabilityMetric {
    /// ok / all operations of the type invoked in the windows.
    OkRate,
    /// fail / all.
    FailRate,
    /// info / all.
    InfoRate,
    /// The ok rate in the windows divided by the ok rate outside every fault.
    OkRateVsFaultFree,
    /// The longest stretch of any window with no successful operation of the type, in seconds.
    LongestStall,
}

impl AvailabilityMetric {
    /// The name in workload files.
    pub fn name(self) -> &'static str {
        match self {
            AvailabilityMetric::OkRate => "ok-rate",
            AvailabilityMetric::FailRate => "fail-rate",
            AvailabilityMetric::InfoRate => "info-rate",
            AvailabilityMetric::OkRateVsFaultFree => "ok-rate-vs-fault-free",
            AvailabilityMetric::LongestStall => "longest-stall",
        }
    }

    fn is_rate(self) -> bool {
        matches!(
            self,
            AvailabilityMetric::OkRate | AvailabilityMetric::FailRate | AvailabilityMetric::InfoRate
        )
    }
}

/// The fault name that matches every fault window.
pub const ANY_FAULT: &str = "any";

/// The operation types an expectation can name.
pub const OP_TYPES: [&str; 3] = ["read", "write", "cas"];

/// One `[[expect.availability]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityExpectation {
    /// The fault kind whose windows count (`kill-follower`), or `any`.
    pub fault: String,
    /// The operation type: `read`, `write` or `cas`.
    pub op: String,
    /// What is measured.
    pub metric: AvailabilityMetric,
    /// The least the measure may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// The most the measure may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// Why, in a sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub because: String,
}

/// How one expectation fared in a run (read back leniently from `results.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AvailabilityOutcome {
    /// The expectation in words: "write ok-rate during kill-follower at most 0.2".
    pub expectation: String,
    pub because: String,
    /// What the run measured, when it could be measured.
    pub measured: Option<f64>,
    pub met: bool,
    /// The measure in words, or why it could not be measured.
    pub detail: String,
}

/// Checks every expectation's settings; returns what is wrong, in words.
pub fn validate(expectations: &[AvailabilityExpectation]) -> Result<(), String> {
    for (i, e) in expectations.iter().enumerate() {
        e.validate()
            .map_err(|m| format!("expect.availability[{i}]: {m}"))?;
    }
    Ok(())
}

impl AvailabilityExpectation {
    fn validate(&self) -> Result<(), String> {
        if self.fault != ANY_FAULT && FaultKind::from_name(&self.fault).is_none() {
            let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
            return Err(format!(
                "unknown fault \"{}\" (known: {}, or {ANY_FAULT})",
                self.fault,
                known.join(", ")
            ));
        }
        if !OP_TYPES.contains(&self.op.as_str()) {
            return Err(format!(
                "op must be one of {}, found \"{}\"",
                OP_TYPES.join(", "),
                self.op
            ));
        }
        let bound = match (self.at_least, self.at_most) {
            (Some(b), None) | (None, Some(b)) => b,
            _ => return Err("give exactly one of at_least and at_most".into()),
        };
        if !(bound.is_finite() && bound >= 0.0) {
            return Err(format!("the bound must be a number at least 0, found {bound}"));
        }
        if self.metric.is_rate() && bound > 1.0 {
            return Err(format!(
                "{} is a fraction between 0 and 1, found {bound}",
                self.metric.name()
            ));
        }
        Ok(())
    }

    /// "write ok-rate during kill-follower at most 0.2".
    pub fn describe(&self) -> String {
        let during = if self.fault == ANY_FAULT {
            "during any fault".to_string()
        } else {
            format!("during {}", self.fault)
        };
        let bound = match (self.at_least, self.at_most) {
            (Some(b), _) => format!("at least {}", self.format(b)),
            (_, Some(b)) => format!("at most {}", self.format(b)),
            _ => String::new(),
        };
        format!("{} {} {during} {bound}", self.op, self.metric.name())
    }

    fn format(&self, v: f64) -> String {
        match self.metric {
            AvailabilityMetric::LongestStall => format!("{v:.2} s"),
            _ => format!("{:.2}", (v * 1000.0).round() / 1000.0),
        }
    }

    /// Checks the expectation against what a run measured.
    pub fn evaluate(&self, availability: &Availability) -> AvailabilityOutcome {
        let outcome = |measured: Option<f64>, detail: String| {
            let met = measured
                .is_some_and(|m| self.at_least.is_none_or(|b| m >= b) && self.at_most.is_none_or(|b| m <= b));
            AvailabilityOutcome {
                expectation: self.describe(),
                because: self.because.clone(),
                measured,
                met,
                detail,
            }
        };
        let windows: Vec<_> = availability
            .windows
            .iter()
            .filter(|w| self.fault == ANY_FAULT || w.kind == self.fault)
            .collect();
        let fault = if self.fault == ANY_FAULT {
            "fault"
        } else {
            self.fault.as_str()
        };
        if windows.is_empty() {
            return outcome(None, format!("not measured: no {fault} window in this run"));
        }
        let mut counts = Outcomes::default();
        let mut longest: Option<f64> = None;
        for w in &windows {
            if let Some(o) = w.ops.iter().find(|o| o.op == self.op) {
                counts.add(&o.outcomes);
                if let Some(s) = o.longest_without_ok_s {
                    longest = Some(longest.map_or(s, |l: f64| l.max(s)));
                }
            }
        }
        let n = windows.len();
        let of = format!("of {} {} op(s) in {n} {fault} window(s)", counts.total(), self.op);
        if self.metric != AvailabilityMetric::LongestStall && counts.total() == 0 {
            return outcome(
                None,
                format!("not measured: no {} was invoked during {fault} windows", self.op),
            );
        }
        match self.metric {
            AvailabilityMetric::OkRate => outcome(counts.ok_rate(), format!("{} ok {of}", counts.ok)),
            AvailabilityMetric::FailRate => outcome(counts.fail_rate(), format!("{} fail {of}", counts.fail)),
            AvailabilityMetric::InfoRate => outcome(counts.info_rate(), format!("{} info {of}", counts.info)),
            AvailabilityMetric::OkRateVsFaultFree => {
                let base = availability.fault_free(&self.op).and_then(|f| f.ok_rate);
                match (counts.ok_rate(), base) {
                    (Some(r), Some(b)) if b > 0.0 => outcome(
                        Some(r / b),
                        format!(
                            "ok rate {r:.3} ({} ok {of}) against {b:.3} without faults",
                            counts.ok
                        ),
                    ),
                    _ => outcome(
                        None,
                        format!("not measured: no {} succeeded outside faults", self.op),
                    ),
                }
            }
            AvailabilityMetric::LongestStall => match longest {
                Some(s) => outcome(
                    Some(s),
                    format!(
                        "{s:.2} s without a successful {} in {n} {fault} window(s)",
                        self.op
                    ),
                ),
                None => outcome(None, "not measured: the history has no times".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::availability::{OpAvailability, WindowAvailability};

    fn expectation(text: &str) -> Result<AvailabilityExpectation, String> {
        let e: AvailabilityExpectation = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(std::slice::from_ref(&e))?;
        Ok(e)
    }

    fn op(op: &str, ok: u64, fail: u64, info: u64, stall: f64) -> OpAvailability {
        let outcomes = Outcomes {
            ok,
            fail,
            info,
            ..Default::default()
        };
        OpAvailability {
            op: op.into(),
            ok_rate: outcomes.ok_rate(),
            outcomes,
            ok_rate_vs_fault_free: None,
            longest_without_ok_s: Some(stall),
        }
    }

    fn availability() -> Availability {
        Availability {
            timed: true,
            fault_free: vec![op("write", 90, 10, 0, 0.1)],
            windows: vec![
                WindowAvailability {
                    kind: "kill-follower".into(),
                    ops: vec![op("write", 1, 0, 9, 1.8), op("read", 20, 0, 0, 0.1)],
                    ..Default::default()
                },
                WindowAvailability {
                    kind: "partition-halves".into(),
                    ops: vec![op("write", 5, 5, 0, 0.5)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn met_and_missed_against_measured_rates() {
        let a = availability();
        let e = expectation("fault = \"kill-follower\"\nop = \"write\"\nmetric = \"ok-rate\"\nat_most = 0.2")
            .unwrap();
        let r = e.evaluate(&a);
        assert_eq!((r.met, r.measured), (true, Some(0.1)));
        assert_eq!(r.expectation, "write ok-rate during kill-follower at most 0.20");
        assert!(
            r.detail
                .contains("1 ok of 10 write op(s) in 1 kill-follower window(s)"),
            "{}",
            r.detail
        );
        let e = expectation(
            "fault = \"any\"\nop = \"write\"\nmetric = \"ok-rate-vs-fault-free\"\nat_least = 0.5",
        )
        .unwrap();
        let r = e.evaluate(&a);
        assert!(!r.met, "6 of 20 ok against 0.9: {r:?}");
        let e = expectation(
            "fault = \"kill-follower\"\nop = \"write\"\nmetric = \"longest-stall\"\nat_least = 1.5",
        )
        .unwrap();
        assert!(e.evaluate(&a).met);
        let e =
            expectation("fault = \"kill-follower\"\nop = \"write\"\nmetric = \"info-rate\"\nat_least = 0.9")
                .unwrap();
        assert!(e.evaluate(&a).met);
    }

    #[test]
    fn what_cannot_be_measured_is_not_met() {
        let a = availability();
        let e = expectation("fault = \"kill-leader\"\nop = \"write\"\nmetric = \"ok-rate\"\nat_least = 0.5")
            .unwrap();
        let r = e.evaluate(&a);
        assert_eq!((r.met, r.measured), (false, None));
        assert_eq!(r.detail, "not measured: no kill-leader window in this run");
        let e =
            expectation("fault = \"partition-halves\"\nop = \"read\"\nmetric = \"ok-rate\"\nat_least = 0.0")
                .unwrap();
        let r = e.evaluate(&a);
        assert!(!r.met && r.detail.contains("no read was invoked"), "{r:?}");
    }

    #[test]
    fn bad_expectations_say_what_is_wrong() {
        let e = expectation("fault = \"kill-folower\"\nop = \"write\"\nmetric = \"ok-rate\"\nat_most = 0.2");
        assert!(e.unwrap_err().contains("unknown fault \"kill-folower\""));
        let e = expectation("fault = \"any\"\nop = \"write\"\nmetric = \"ok-rate\"");
        assert!(e.unwrap_err().contains("exactly one of at_least and at_most"));
        let e = expectation("fault = \"any\"\nop = \"write\"\nmetric = \"ok-rate\"\nat_most = 2.0");
        assert!(e.unwrap_err().contains("between 0 and 1"));
        let e = expectation("fault = \"any\"\nop = \"append\"\nmetric = \"ok-rate\"\nat_most = 0.5");
        assert!(e.unwrap_err().contains("op must be one of read, write, cas"));
        let e = expectation("fault = \"any\"\nop = \"write\"\nmetric = \"speed\"\nat_most = 0.5");
        assert!(e.unwrap_err().contains("speed"));
    }
}
