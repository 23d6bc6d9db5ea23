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
//! How it looks. Every look parses and pairs nothing twice (the history is followed as it is
//! written and lent to the look as it stands, `live_history`) and feeds linearizability only
//! the events added since the last look (`linear::IncrementalCheck`: each key's frontier of
//! configurations, carried along), so a look at a long run costs what the run added, not the
//! whole prefix. A key too wide to carry exactly (many writes of unknown outcome over few
//! values) is carried relaxed, each such write free to take effect more than once: what it
//! finds is still certain, but a violation that needs that limit waits for the final check. A
//! key too wide even so is checked alone from scratch at each look. `results.json` says how
//! many of each (`violation_watch`).
//!
//! The dependency graph (list-append, rw-register) is inferred as transactions complete
//! (`graph::TxnWatch`: versions, writers and dependency edges, grown with each transaction
//! fed): the whole prefix is checked only at a look after which that inference has a cycle
//! appeared or grown, or evidence that needs no cycle (oracle-tested: it never holds back a
//! violation the whole-prefix check finds, once the transactions involved have completed).
//! The other checkers (set, counter) check the whole prefix at each look.
//!
//! The early end is like reaching the time limit: clients stop taking new operations (those in
//! flight complete), the nemesis stops, every fault is healed, and the settle, final reads and
//! full check follow as usual. The verdict is always the full check's, on the saved history.

use super::checks;
use super::live_history::LiveHistory;
use crate::workload::{CheckerName, Workload};
use faultline_checkers::graph::{self, AnomalyKind, RegisterOrderAssumptions, TxnWatch};
use faultline_checkers::history::History;
use faultline_checkers::linear::{self, IncrementalCheck, LinearOptions};
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
    /// True when the incremental linearizability check found it (fed each event once), false
    /// when a check of the whole prefix did.
    pub incremental: bool,
}

/// What the watch did over the run (in `results.json`): how often it looked and what that cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchStats {
    /// Looks at the history so far.
    pub looks: u32,
    /// Seconds spent looking, in all (snapshots and checks).
    pub busy_s: f64,
    /// The longest look, in seconds.
    pub slowest_look_s: f64,
    /// Linearizability was checked incrementally to the end (false: from scratch at each look,
    /// after an error or a key too wide to carry; absent from workloads without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_incremental: Option<bool>,
    /// Events the incremental linearizability check had fed at its last look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_events_fed: Option<usize>,
    /// Keys carried exactly to the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_keys_exact: Option<usize>,
    /// Keys too wide to carry exactly (many writes of unknown outcome over few values), carried
    /// relaxed: each could take effect more than once. A failure is still certain; a violation
    /// that needs that limit waits for the final check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_keys_relaxed: Option<usize>,
    /// Keys too wide even relaxed, checked alone from scratch at each look once given up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_keys_rechecked: Option<usize>,
    /// The dependency graph (list-append or rw-register) was inferred as transactions
    /// completed to the end (false: checked from scratch at each look after an operation the
    /// inference could not take; absent from workloads without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_incremental: Option<bool>,
    /// Transactions the graph inference had fed at its last look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_txns_fed: Option<usize>,
    /// Dependency edges it had inferred.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_edges: Option<usize>,
    /// Looks at which the graph checker checked the whole prefix (the inference saw something
    /// that could be a violation, or could not follow the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_full_checks: Option<u32>,
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
pub fn certain_violation(checkers: &[CheckerName], reports: &[Report]) -> Option<Violation> {
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

/// What the watch carries from one look at the history to the next.
struct Looker {
    workload: Arc<Workload>,
    /// Linearizability, checked incrementally (each event fed once) while that works: `None`
    /// once it met an error or gave a key up, and linearizability is then checked from scratch
    /// at every look like the other checkers.
    linear: Option<IncrementalCheck>,
    /// The workload's dependency-graph checker (list-append or rw-register), if any.
    graph_checker: Option<CheckerName>,
    /// Its graph inferred as transactions complete while that works: `None` once it met an
    /// operation it cannot take, and the checker then checks the whole prefix at every look.
    graph: Option<TxnWatch>,
    /// Looks that checked the graph checker's whole prefix.
    graph_full_checks: u32,
}

impl Looker {
    fn new(workload: Arc<Workload>) -> Self {
        let linear = workload
            .check
            .checkers
            .contains(&CheckerName::Linearizability)
            .then(|| IncrementalCheck::new(&LinearOptions::new(checks::linear_model(&workload))));
        let graph_checker = (workload.check.checkers.iter())
            .find(|c| matches!(c, CheckerName::ListAppend | CheckerName::RwRegister))
            .cloned();
        // Run workloads check the graph with the default version-order assumptions.
        let graph = graph_checker.as_ref().and_then(|c| {
            let txns = match c {
                CheckerName::RwRegister => graph::Workload::RwRegister,
                _ => graph::Workload::ListAppend,
            };
            TxnWatch::new(txns, RegisterOrderAssumptions::default(), None)
        });
        Looker {
            workload,
            linear,
            graph_checker,
            graph,
            graph_full_checks: 0,
        }
    }

    /// Looks at the history so far: the first certain violation.
    fn look(&mut self, live: &LiveHistory) -> Option<Found> {
        live.with_history(|history| self.look_at(history)).flatten()
    }

    /// [`Looker::look`] at the history so far, lent by the live history.
    fn look_at(&mut self, history: &History) -> Option<Found> {
        if let Some(check) = &mut self.linear {
            match check.advance(history, false) {
                Ok(()) => {
                    if let Some(found) = linear_violation(check, history) {
                        return Some(found);
                    }
                }
                Err(_) => self.linear = None,
            }
        }
        let incremental = self.linear.is_some();
        // Nothing fed to the graph inference since the last look could be a violation.
        let graph_quiet = match &mut self.graph {
            Some(inference) => match inference.advance(history) {
                Ok(suspect) => !suspect,
                Err(_) => {
                    self.graph = None;
                    false
                }
            },
            None => false,
        };
        let from_scratch: Vec<CheckerName> = (self.workload.check.checkers.iter())
            .filter(|c| !(incremental && **c == CheckerName::Linearizability))
            .filter(|c| !(graph_quiet && Some(*c) == self.graph_checker.as_ref()))
            .cloned()
            .collect();
        if (self.graph_checker.as_ref()).is_some_and(|g| from_scratch.contains(g)) {
            self.graph_full_checks += 1;
        }
        if from_scratch.is_empty() {
            return None;
        }
        let reports =
            checks::check_loaded_by(&self.workload, &from_scratch, history, Some(PREFIX_CHECK_BUDGET))
                .ok()?;
        certain_violation(&from_scratch, &reports)
            .map(|violation| Found::in_history(violation, history, false))
    }

    /// What the looks did, into `stats`.
    fn add_stats(&self, stats: &mut WatchStats) {
        if self
            .workload
            .check
            .checkers
            .contains(&CheckerName::Linearizability)
        {
            stats.linear_incremental = Some(self.linear.is_some());
            if let Some(check) = &self.linear {
                let (rechecked, relaxed) = (check.given_up().len(), check.relaxed());
                stats.linear_events_fed = Some(check.events_fed());
                stats.linear_keys_rechecked = Some(rechecked);
                stats.linear_keys_relaxed = Some(relaxed);
                stats.linear_keys_exact = Some(check.keys().count() - rechecked - relaxed);
            }
        }
        if self.graph_checker.is_some() {
            stats.graph_incremental = Some(self.graph.is_some());
            stats.graph_full_checks = Some(self.graph_full_checks);
            if let Some(inference) = &self.graph {
                stats.graph_txns_fed = Some(inference.txns_fed());
                stats.graph_edges = Some(inference.edges());
            }
        }
    }
}

/// A certain linearizability violation in `history`: one the incremental check found, or one
/// in the keys it gave up (too wide to carry), checked from scratch.
fn linear_violation(check: &IncrementalCheck, history: &History) -> Option<Found> {
    let name = |s: &str| s.to_string();
    if let Some((key, _)) = check.first_violation() {
        let violation = (name("linearizability"), name("nonlinearizable"), key.cloned());
        return Some(Found::in_history(violation, history, true));
    }
    let wide = check.given_up();
    if wide.is_empty() {
        return None;
    }
    let mut opts = check.options().clone();
    opts.timeout = Some(PREFIX_CHECK_BUDGET);
    opts.all_keys = false;
    let result = linear::check_keys(history, &opts, &wide).ok()?;
    let anomaly = result.report.anomalies.first()?;
    let violation = (name("linearizability"), anomaly.kind.clone(), anomaly.key.clone());
    Some(Found::in_history(violation, history, false))
}

/// A certain violation: the checker's name, the anomaly kind and its key.
type Violation = (String, String, Option<serde_json::Value>);

/// A certain violation found by a look, with the completed operations the look saw and whether
/// the incremental check found it.
struct Found {
    violation: Violation,
    ops: usize,
    incremental: bool,
}

impl Found {
    /// `violation`, found in `history` (its completed operations counted).
    fn in_history(violation: Violation, history: &History, incremental: bool) -> Self {
        let ops = history.ops.iter().filter(|o| o.complete.is_some()).count();
        Found {
            violation,
            ops,
            incremental,
        }
    }
}

/// Checks the prefix of the history every so often until `done` turns true; on the first
/// certain violation, turns `end_early` true and returns what it found. Also returns what the
/// looks cost.
pub async fn watch(
    workload: Arc<Workload>,
    live_history: Arc<LiveHistory>,
    started: Instant,
    end_early: watch::Sender<bool>,
    done: watch::Receiver<bool>,
) -> (Option<EarlyStop>, WatchStats) {
    let mut stats = WatchStats::default();
    // The looker goes to a blocking thread for each look and comes back (gone only if a look
    // panicked).
    let mut looker = Some(Looker::new(workload));
    let found = look_until_done(&mut looker, live_history, started, end_early, done, &mut stats).await;
    if let Some(looker) = &looker {
        looker.add_stats(&mut stats);
    }
    (found, stats)
}

async fn look_until_done(
    looker: &mut Option<Looker>,
    live_history: Arc<LiveHistory>,
    started: Instant,
    end_early: watch::Sender<bool>,
    mut done: watch::Receiver<bool>,
    stats: &mut WatchStats,
) -> Option<EarlyStop> {
    let mut pause = MIN_INTERVAL;
    let mut checks_made = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = done.wait_for(|d| *d) => return None,
        }
        let checked_at = Instant::now();
        let live = live_history.clone();
        let mut moved = looker.take()?;
        let (returned, found) = tokio::task::spawn_blocking(move || {
            let found = moved.look(&live);
            (moved, found)
        })
        .await
        .ok()?;
        *looker = Some(returned);
        checks_made += 1;
        let took = checked_at.elapsed().as_secs_f64();
        stats.looks += 1;
        stats.busy_s += took;
        stats.slowest_look_s = stats.slowest_look_s.max(took);
        if let Some(Found {
            violation: (checker, kind, key),
            ops,
            incremental,
        }) = found
        {
            let stop = EarlyStop {
                at_s: checked_at.duration_since(started).as_secs_f64(),
                checker,
                kind,
                key,
                ops_checked: ops,
                checks: checks_made,
                incremental,
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

    /// A stale read on key 3 (and a valid key 1).
    fn stale_read_history() -> History {
        let lines: Vec<String> = [
            (0, "invoke", "write", json!(1), 3),
            (0, "ok", "write", json!(1), 3),
            (0, "invoke", "write", json!(2), 3),
            (0, "ok", "write", json!(2), 3),
            (1, "invoke", "write", json!(1), 1),
            (1, "ok", "write", json!(1), 1),
            (0, "invoke", "read", json!(null), 3),
            (0, "ok", "read", json!(1), 3),
        ]
        .iter()
        .map(|(p, ty, f, v, k)| json!({"process": p, "type": ty, "f": f, "value": v, "key": k}).to_string())
        .collect();
        History::parse(
            "h.jsonl",
            &lines.join("\n"),
            faultline_checkers::history::Format::Jsonl,
        )
        .unwrap()
    }

    #[test]
    fn the_incremental_check_finds_a_violation_and_keys_it_gave_up_are_checked_from_scratch() {
        let history = stale_read_history();
        let opts = LinearOptions::new(faultline_checkers::linear::Model::CasRegister);
        let mut carried = IncrementalCheck::new(&opts);
        carried.advance(&history, false).unwrap();
        let found = linear_violation(&carried, &history).expect("found");
        assert_eq!(
            found.violation,
            ("linearizability".into(), "nonlinearizable".into(), Some(json!(3)))
        );
        assert!(found.incremental);
        let mut given_up = IncrementalCheck::new(&opts).with_max_configs(0);
        given_up.advance(&history, false).unwrap();
        assert_eq!(given_up.given_up(), [Some(json!(3)), Some(json!(1))]);
        let found = linear_violation(&given_up, &history).expect("found from scratch");
        assert_eq!(
            found.violation,
            ("linearizability".into(), "nonlinearizable".into(), Some(json!(3)))
        );
        assert!(!found.incremental);
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
