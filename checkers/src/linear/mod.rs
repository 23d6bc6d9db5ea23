//! Linearizability checking of register histories (Jepsen's `register` and `cas-register`).
//!
//! [`check`] splits a history by key (see `partition`), searches each key's operations for a
//! linearization on all cores (see `search`: Wing & Gong / Lowe with a memo cache), and returns
//! a [`Report`] plus, for each failing key, a [`KeyFailure`] naming the operation that cannot be
//! linearized, the operations concurrent with it and the longest linearizable prefix found.
//!
//! Semantics are Jepsen's: an `ok` operation took effect between its invocation and completion;
//! a `fail` did not (a failed cas is dropped, or checked as a read that saw some other value:
//! [`FailedCas`]); an `info` or never-completed operation may take effect at any point after its
//! invocation, or never. The search never reports valid without a witness; with a deadline it
//! reports unknown rather than guess. Each failing key's anomaly says what kind it is when its
//! operations tell (stale read, lost write, ...: see `cause`), which nodes served them, and
//! which faults were in force.

mod cache;
mod cause;
mod explain;
mod links;
mod model;
mod partition;
mod precheck;
mod runner;
mod search;
mod witness;

pub use cause::{CauseKind, NOT_CLASSIFIED};
pub use explain::{KeyFailure, format_time, key_label, value_label};
pub use model::{FailedCas, Model};

use crate::history::{History, HistoryError};
use crate::report::{Report, Verdict};
use partition::PartitionOptions;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The default memory budget of the searches: 4 GiB.
pub const DEFAULT_SEARCH_MEMORY: usize = 4 << 30;

/// How to check a history for linearizability.
#[derive(Debug, Clone)]
pub struct LinearOptions {
    /// The model each key is an instance of.
    pub model: Model,
    /// The value every key holds before any write (default null: "never written").
    pub initial: Value,
    /// How failed cas operations are treated.
    pub failed_cas: FailedCas,
    /// Read keys from Jepsen `jepsen.independent` tuples: every value is `[key value]`.
    pub independent: bool,
    /// Give up (verdict unknown) when the check takes longer than this.
    pub timeout: Option<Duration>,
    /// Give up (verdict unknown) on a key when the search's memo cache would need more memory
    /// than this, in bytes, shared by the keys searched at once (0: no limit).
    pub max_search_memory: usize,
    /// Worker threads for checking keys in parallel (0: one per available core).
    pub threads: usize,
}

impl Default for LinearOptions {
    fn default() -> Self {
        LinearOptions {
            model: Model::CasRegister,
            initial: Value::Null,
            failed_cas: FailedCas::Drop,
            independent: false,
            timeout: None,
            max_search_memory: DEFAULT_SEARCH_MEMORY,
            threads: 0,
        }
    }
}

impl LinearOptions {
    /// Options for a model, with defaults otherwise.
    pub fn new(model: Model) -> Self {
        LinearOptions {
            model,
            ..LinearOptions::default()
        }
    }
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyVerdict {
    /// The key (`None` for a history of one unnamed register).
    pub key: Option<Value>,
    /// Valid, invalid, or unknown (gave up).
    pub verdict: Verdict,
    /// Operations the search considered.
    pub ops: usize,
    /// Search configurations recorded.
    pub states: u64,
}

/// What [`check`] found: the report, per-key verdicts, and the evidence for failing keys.
#[derive(Debug, Clone)]
pub struct LinearResult {
    /// The report (verdict, summary, one anomaly per failing key, stats).
    pub report: Report,
    /// One entry per key, in order of first appearance in the history.
    pub keys: Vec<KeyVerdict>,
    /// The failing keys' evidence, in the same order as `report.anomalies`.
    pub failures: Vec<KeyFailure>,
}

/// Checks a history; bad shapes for the model are a [`HistoryError`] naming file and line.
pub fn check(history: &History, opts: &LinearOptions) -> Result<LinearResult, HistoryError> {
    check_with_progress(history, opts, &|_, _| {})
}

/// Like [`check`], calling `progress(keys_done, keys_total)` as keys finish (from any thread).
pub fn check_with_progress(
    history: &History,
    opts: &LinearOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<LinearResult, HistoryError> {
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let keys = partition::partition(
        history,
        &PartitionOptions {
            model: opts.model,
            failed_cas: opts.failed_cas,
            independent: opts.independent,
            initial: opts.initial.clone(),
        },
    )?;
    let outcomes = runner::run_all(&keys, deadline, opts.max_search_memory, opts.threads, progress);
    let mut report = Report::new("linearizability", opts.model.name(), Verdict::Valid, "");
    let mut verdicts = Vec::with_capacity(keys.len());
    let mut failures = Vec::new();
    let (mut states, mut steps) = (0u64, 0u64);
    let mut unknown_keys = Vec::new();
    let mut classifier = None;
    for (key, (outcome, stats)) in keys.iter().zip(&outcomes) {
        states += stats.states;
        steps += stats.steps;
        let verdict = match outcome {
            search::Outcome::Linearizable { .. } => Verdict::Valid,
            search::Outcome::GaveUp(why) => {
                unknown_keys.push((key.key.clone(), *why));
                Verdict::Unknown
            }
            search::Outcome::NotLinearizable {
                longest,
                culprit,
                state,
            } => {
                let (failure, mut anomaly) =
                    explain::explain(history, opts.model, key, longest, *culprit, *state);
                classifier
                    .get_or_insert_with(|| cause::Classifier::new(history, opts.independent))
                    .attach(key, &failure, &mut anomaly);
                failures.push(failure);
                report.anomalies.push(anomaly);
                Verdict::Invalid
            }
        };
        report.verdict = report.verdict.worst(verdict);
        verdicts.push(KeyVerdict {
            key: key.key.clone(),
            verdict,
            ops: key.ops.len(),
            states: stats.states,
        });
    }
    let n_ops: usize = keys.iter().map(|k| k.ops.len()).sum();
    let dropped: usize = keys.iter().map(|k| k.dropped).sum();
    report.summary = summary(&verdicts, &failures, &unknown_keys, n_ops, opts);
    let stats = &mut report.stats;
    stats.insert("keys".into(), json!(keys.len()));
    stats.insert("operations".into(), json!(n_ops));
    stats.insert("dropped_operations".into(), json!(dropped));
    stats.insert("states".into(), json!(states));
    stats.insert("steps".into(), json!(steps));
    stats.insert("elapsed_ms".into(), json!(started.elapsed().as_secs_f64() * 1e3));
    report.details = json!({
        "initial": opts.initial,
        "failed_cas": opts.failed_cas.name(),
        "invalid_keys": failures.iter().map(|f| f.key.clone()).collect::<Vec<_>>(),
        "unknown_keys": unknown_keys.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
    });
    Ok(LinearResult {
        report,
        keys: verdicts,
        failures,
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(
    verdicts: &[KeyVerdict],
    failures: &[KeyFailure],
    unknown: &[(Option<Value>, search::GaveUp)],
    n_ops: usize,
    opts: &LinearOptions,
) -> String {
    let keys = plural(verdicts.len(), "key", "keys");
    let ops = plural(n_ops, "operation", "operations");
    let names = |ks: &mut dyn Iterator<Item = &Option<Value>>| {
        let v: Vec<String> = ks.take(5).map(key_label).collect();
        v.join(", ")
    };
    if !failures.is_empty() {
        let mut s = format!(
            "not linearizable: {} of {keys} failed ({})",
            failures.len(),
            names(&mut failures.iter().map(|f| &f.key))
        );
        if !unknown.is_empty() {
            s.push_str(&format!("; {} undecided", unknown.len()));
        }
        s
    } else if !unknown.is_empty() {
        let mut why: Vec<String> = Vec::new();
        if unknown.iter().any(|(_, w)| *w == search::GaveUp::Deadline) {
            let budget = opts.timeout.map_or(0.0, |t| t.as_secs_f64());
            why.push(format!("the {budget} s time budget ran out"));
        }
        if unknown.iter().any(|(_, w)| *w == search::GaveUp::Memory) {
            let mib = opts.max_search_memory >> 20;
            why.push(format!("the search outgrew its {mib} MiB memory budget"));
        }
        if unknown.iter().any(|(_, w)| *w == search::GaveUp::BadWitness) {
            why.push("the search's linearization failed its own check (a bug: please report it)".to_string());
        }
        if unknown.iter().any(|(_, w)| *w == search::GaveUp::Steps) {
            why.push("the search ran out of steps".to_string());
        }
        let decided = verdicts.len() - unknown.len();
        let rest = if decided > 0 {
            format!(
                "; the other {} linearizable",
                plural(decided, "key is", "keys are")
            )
        } else {
            String::new()
        };
        format!(
            "unknown: {} before {} of {keys} could be decided ({}){rest}",
            why.join(" and "),
            unknown.len(),
            names(&mut unknown.iter().map(|(k, _)| k))
        )
    } else if n_ops == 0 {
        "linearizable: no operations to check".to_string()
    } else {
        format!("linearizable: {keys}, {ops}")
    }
}
