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
mod incremental;
mod links;
mod model;
mod partition;
mod precheck;
mod prepare;
mod runner;
mod search;
mod summary;
mod window;
mod witness;

#[cfg(test)]
mod exactness_tests;

pub use cause::{CauseKind, NOT_CLASSIFIED};
pub use explain::{KeyFailure, format_time, key_label, value_label};
pub use incremental::{IncrementalCheck, KeyStanding};
pub use model::{FailedCas, Model};
pub use runner::KeyProgress;
pub use search::GaveUp;

use crate::history::{History, HistoryError};
use crate::report::{Report, Verdict};
use partition::PartitionOptions;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The default memory budget of the searches: 4 GiB.
pub const DEFAULT_SEARCH_MEMORY: usize = 4 << 30;

/// The default time budget of a check: past it, the keys not yet decided are unknown.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Give up (verdict unknown) on the keys not decided when the check has taken this long
    /// (default [`DEFAULT_TIMEOUT`]; `None`: no limit).
    pub timeout: Option<Duration>,
    /// Decide every key. By default the check stops at the first key that fails (that decides
    /// the verdict) and reports the keys it did not search.
    pub all_keys: bool,
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
            timeout: Some(DEFAULT_TIMEOUT),
            all_keys: false,
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
    /// Why the key is unknown (`None` when it was decided).
    pub gave_up: Option<GaveUp>,
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

/// Why a completion-only history cannot be checked for linearizability.
fn completion_only_error(history: &History) -> HistoryError {
    HistoryError::whole(
        &history.source,
        "no op is an invocation (a completion-only history): linearizability needs when each operation was invoked as well as when it completed, so register and cas-register cannot check it; record invocations, or check transactions with --model list-append or rw-register",
    )
}

/// Checks a history; bad shapes for the model are a [`HistoryError`] naming file and line.
pub fn check(history: &History, opts: &LinearOptions) -> Result<LinearResult, HistoryError> {
    check_with_progress(history, opts, &|_| {})
}

/// Like [`check`], calling `progress` as keys start and finish (from any thread).
pub fn check_with_progress(
    history: &History,
    opts: &LinearOptions,
    progress: &(dyn Fn(&KeyProgress<'_>) + Sync),
) -> Result<LinearResult, HistoryError> {
    check_some_keys(history, opts, progress, None)
}

/// Like [`check`], for the keys in `keys` only (`None`: the history names no key).
pub fn check_keys(
    history: &History,
    opts: &LinearOptions,
    keys: &[Option<Value>],
) -> Result<LinearResult, HistoryError> {
    check_some_keys(history, opts, &|_| {}, Some(keys))
}

fn check_some_keys(
    history: &History,
    opts: &LinearOptions,
    progress: &(dyn Fn(&KeyProgress<'_>) + Sync),
    only: Option<&[Option<Value>]>,
) -> Result<LinearResult, HistoryError> {
    if history.completion_only {
        return Err(completion_only_error(history));
    }
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let mut keys = partition::partition(
        history,
        &PartitionOptions {
            model: opts.model,
            failed_cas: opts.failed_cas,
            independent: opts.independent,
            initial: opts.initial.clone(),
        },
    )?;
    if let Some(only) = only {
        keys.retain(|k| only.contains(&k.key));
    }
    let run = runner::RunOptions {
        deadline,
        max_cache_bytes: opts.max_search_memory,
        threads: opts.threads,
        all_keys: opts.all_keys,
        progress,
    };
    let outcomes = runner::run_all(&keys, &run);
    let mut report = Report::new("linearizability", opts.model.name(), Verdict::Valid, "");
    let mut verdicts = Vec::with_capacity(keys.len());
    let mut failures = Vec::new();
    let (mut states, mut steps) = (0u64, 0u64);
    let mut classifier = None;
    for (key, (outcome, stats)) in keys.iter().zip(&outcomes) {
        states += stats.states;
        steps += stats.steps;
        let (verdict, gave_up) = match outcome {
            search::Outcome::Linearizable { .. } => (Verdict::Valid, None),
            search::Outcome::GaveUp(why) => (Verdict::Unknown, Some(*why)),
            search::Outcome::NotLinearizable {
                longest,
                complete,
                culprit,
                state,
            } => {
                let found = explain::Found {
                    longest,
                    complete: *complete,
                    culprit: *culprit,
                    state: *state,
                };
                let (failure, mut anomaly) = explain::explain(history, opts.model, key, &found);
                classifier
                    .get_or_insert_with(|| cause::Classifier::new(history, opts.independent))
                    .attach(key, &failure, &mut anomaly);
                failures.push(failure);
                report.anomalies.push(anomaly);
                (Verdict::Invalid, None)
            }
        };
        report.verdict = report.verdict.worst(verdict);
        verdicts.push(KeyVerdict {
            key: key.key.clone(),
            verdict,
            gave_up,
            ops: key.ops.len(),
            states: stats.states,
        });
    }
    let n_ops: usize = keys.iter().map(|k| k.ops.len()).sum();
    let dropped: usize = keys.iter().map(|k| k.dropped).sum();
    report.summary = summary::summary(&verdicts, n_ops, opts);
    let stats = &mut report.stats;
    stats.insert("keys".into(), json!(keys.len()));
    stats.insert("operations".into(), json!(n_ops));
    stats.insert("dropped_operations".into(), json!(dropped));
    stats.insert("states".into(), json!(states));
    stats.insert("steps".into(), json!(steps));
    stats.insert("elapsed_ms".into(), json!(started.elapsed().as_secs_f64() * 1e3));
    report.details = summary::details(&verdicts, opts);
    Ok(LinearResult {
        report,
        keys: verdicts,
        failures,
    })
}
