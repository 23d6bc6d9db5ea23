//! `faultline run --stop-on-violation`: while the clients run, the history written so far is
//! checked again and again, and the run ends early once a violation is *certain*: one that no
//! later operation can undo.
//!
//! What is certain. The history file at any moment is a prefix of the final history; an
//! operation invoked but not yet completed in it reads as indeterminate (info), which is exactly
//! what it may turn out to be. Linearizability is prefix-closed under that reading: restrict a
//! linearization of the whole history to the points before the cut and drop the pending
//! operations linearized after it, and what is left linearizes the prefix. So a key found not
//! linearizable in the prefix stays so. The dependency-graph anomalies are mostly prefix-closed
//! too (a cycle's edges come from facts the prefix already holds, and more reads only extend
//! version orders), with exceptions: an acknowledged append that no read has shown *yet*
//! (`lost-append`), and a read of a value not written *yet* (`garbage-read`: a later writer
//! could still explain it under models without real time). Only the kinds
//! [`AnomalyKind::is_prefix_closed`] accepts end a run early (its tests in
//! `checkers/tests/graph_prefix.rs`); checkers other than linearizability and the dependency
//! graph (set, counter, ...) never do.
//!
//! The early end is like reaching the time limit: clients stop taking new operations (those in
//! flight complete), the nemesis stops, every fault is healed, and the settle, final reads and
//! full check follow as usual. The verdict is always the full check's, on the saved history.

use super::checks;
use super::live_history::LiveHistory;
use crate::workload::{CheckerName, Workload};
use faultline_checkers::graph::AnomalyKind;
use faultline_checkers::report::{Report, Verdict};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The shortest pause between two checks of the prefix; a check that took longer waits four
/// times its own duration, so the watch never takes more than a fifth of a core.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The time budget of one linearizability check of a prefix: a key it cannot decide in time is
/// not a certain violation, and the next check tries again.
const PREFIX_CHECK_BUDGET: Duration = Duration::from_secs(5);

/// Why a run ended before its time limit.
#[derive(Debug, Clone, Serialize)]
pub struct EarlyStop {
    /// Seconds from the start of the run when the violation was found.
    pub at_s: f64,
    /// The checker that found it.
    pub checker: String,
    /// The anomaly kind.
    pub kind: String,
    /// Its key, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<serde_json::Value>,
    /// Completed operations in the prefix that was checked.
    pub ops_checked: usize,
    /// Checks of the prefix made before this one found it.
    pub checks: u32,
}

/// True when a violation found by `checker` in a prefix can be certain (see the module docs).
pub fn can_be_certain(checker: &CheckerName) -> bool {
    matches!(
        checker,
        CheckerName::Linearizability | CheckerName::ListAppend | CheckerName::RwRegister
    )
}

/// The first certain violation in `reports` (checks of a prefix by `checkers`, in order), if any:
/// the checker's name, the anomaly kind and its key.
pub fn certain_violation(
    checkers: &[CheckerName],
    reports: &[Report],
) -> Option<(String, String, Option<serde_json::Value>)> {
    for (checker, report) in checkers.iter().zip(reports) {
        if report.verdict != Verdict::Invalid {
            continue;
        }
        let certain = |kind: &str| match checker {
            CheckerName::Linearizability => true,
            // A set's lost element may still be read later; a counter read out of bounds in a
            // prefix is not shown to stay so: neither ends a run early.
            CheckerName::Set | CheckerName::SetFull | CheckerName::Counter => false,
            CheckerName::ListAppend | CheckerName::RwRegister => {
                forbidden_kinds(report).iter().any(|k| k == kind)
                    && AnomalyKind::from_name(kind).is_some_and(AnomalyKind::is_prefix_closed)
            }
        };
        if let Some(a) = report.anomalies.iter().find(|a| certain(&a.kind)) {
            return Some((report.checker.clone(), a.kind.clone(), a.key.clone()));
        }
    }
    None
}

/// The anomaly kinds some checked consistency model forbids (the report's `details.models`).
fn forbidden_kinds(report: &Report) -> Vec<String> {
    report.details["models"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["anomalies"].as_array().into_iter().flatten())
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

/// Checks the prefix of the history every so often until `done` turns true; on the first
/// certain violation, turns `end_early` true and returns what it found.
pub async fn watch(
    workload: Arc<Workload>,
    live_history: Arc<LiveHistory>,
    started: Instant,
    end_early: watch::Sender<bool>,
    mut done: watch::Receiver<bool>,
) -> Option<EarlyStop> {
    let mut pause = MIN_INTERVAL;
    let mut checks_made = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = done.wait_for(|d| *d) => return None,
        }
        let checked_at = Instant::now();
        let workload_for_check = workload.clone();
        let live = live_history.clone();
        let found = tokio::task::spawn_blocking(move || {
            let history = live.snapshot()?;
            let ops = history.ops.iter().filter(|o| o.complete.is_some()).count();
            let reports =
                checks::check_loaded(&workload_for_check, &history, Some(PREFIX_CHECK_BUDGET)).ok()?;
            certain_violation(&workload_for_check.check.checkers, &reports).map(|f| (f, ops))
        })
        .await
        .ok()
        .flatten();
        checks_made += 1;
        if let Some(((checker, kind, key), ops_checked)) = found {
            let stop = EarlyStop {
                at_s: checked_at.duration_since(started).as_secs_f64(),
                checker,
                kind,
                key,
                ops_checked,
                checks: checks_made,
            };
            let _ = end_early.send(true);
            return Some(stop);
        }
        pause = MIN_INTERVAL.max(checked_at.elapsed() * 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::report::Anomaly;
    use serde_json::json;

    fn report(verdict: Verdict, kinds: &[&str], forbidden: &[&str]) -> Report {
        let mut r = Report::new("list-append", "strict-serializable", verdict, "");
        r.anomalies = kinds
            .iter()
            .map(|k| Anomaly {
                kind: k.to_string(),
                key: None,
                steps: Vec::new(),
                events: Vec::new(),
                details: serde_json::Value::Null,
            })
            .collect();
        r.details = json!({"models": [{"model": "strict-serializable", "anomalies": forbidden}]});
        r
    }

    #[test]
    fn only_forbidden_prefix_closed_graph_anomalies_are_certain() {
        let w = [CheckerName::ListAppend];
        let lost = report(Verdict::Invalid, &["lost-append"], &["lost-append"]);
        assert_eq!(
            certain_violation(&w, &[lost]),
            None,
            "a later read may still show the append"
        );
        let garbage = report(Verdict::Invalid, &["garbage-read"], &["garbage-read"]);
        assert_eq!(
            certain_violation(&w, &[garbage]),
            None,
            "a later write may explain the read"
        );
        let allowed = report(Verdict::Invalid, &["G-single", "lost-append"], &["lost-append"]);
        assert_eq!(
            certain_violation(&w, &[allowed]),
            None,
            "G-single is not what made it invalid"
        );
        let cycle = report(Verdict::Invalid, &["lost-append", "G1c"], &["lost-append", "G1c"]);
        assert_eq!(
            certain_violation(&w, &[cycle]),
            Some(("list-append".into(), "G1c".into(), None))
        );
        let valid = report(Verdict::Valid, &[], &[]);
        assert_eq!(certain_violation(&w, &[valid]), None);
    }

    #[test]
    fn any_linearizability_violation_is_certain() {
        let w = [CheckerName::Linearizability];
        let mut r = report(Verdict::Invalid, &["nonlinearizable"], &[]);
        r.checker = "linearizability".into();
        r.anomalies[0].key = Some(json!(3));
        assert_eq!(
            certain_violation(&w, &[r]),
            Some(("linearizability".into(), "nonlinearizable".into(), Some(json!(3))))
        );
        let unknown = report(Verdict::Unknown, &[], &[]);
        assert_eq!(certain_violation(&w, &[unknown]), None);
    }
}
