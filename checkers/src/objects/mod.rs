//! Linearizability of Knossos's small sequential objects: a `mutex`, a `fifo-queue` and a
//! `multi-register` (transactions of reads and writes over several registers).
//!
//! Each model is a [`spec::Spec`] (an initial state and a step function, as in Porcupine) in
//! a file of its own; [`search`] is one Wing & Gong / Lowe search over any of them, with the
//! set of operations placed and the state memoised; [`prepare`] reads the operations in
//! Jepsen's shapes and splits them by key (the native `key` field, or with
//! [`ObjectOptions::independent`] Jepsen `[key value]` tuples), each key an object of its own,
//! checked on its own (linearizability is compositional). Semantics are Jepsen's: `ok` took
//! effect between invocation and completion, `fail` did not, `info` or never completed may take
//! effect at any point after its invocation, or never. A valid verdict always rests on a
//! witness order checked again, independently, before it is believed; a time or memory budget
//! spent makes a key unknown, never valid.
//!
//! ```
//! use faultline_checkers::history::{Format, History};
//! use faultline_checkers::objects::{self, ObjectModel, ObjectOptions};
//! use faultline_checkers::report::Verdict;
//!
//! // Process 1 acquires a lock process 0 still holds.
//! let edn = r#"{:process 0 :type :invoke :f :acquire}
//! {:process 0 :type :ok :f :acquire}
//! {:process 1 :type :invoke :f :acquire}
//! {:process 1 :type :ok :f :acquire}
//! "#;
//! let history = History::parse("lock.edn", edn, Format::Edn).unwrap();
//! let result = objects::check(&history, &ObjectOptions::new(ObjectModel::Mutex)).unwrap();
//! assert_eq!(result.report.verdict, Verdict::Invalid);
//! assert_eq!(result.failures[0].culprit, 1);
//! assert!(result.report.anomalies[0].steps[1].contains("the lock is already held"));
//! ```

mod explain;
mod fifo_queue;
mod multi_register;
mod mutex;
mod prepare;
mod search;
mod spec;

#[cfg(test)]
mod oracle_tests;

use crate::history::{History, HistoryError};
use crate::linear::{DEFAULT_SEARCH_MEMORY, DEFAULT_TIMEOUT, GaveUp, KeyFailure, KeyVerdict};
use crate::report::{Report, Verdict};
use prepare::KeyOps;
use search::{Limits, Outcome};
use serde_json::json;
use spec::Spec;
use std::time::{Duration, Instant};

/// Which object the history's keys are instances of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectModel {
    /// Knossos's `mutex`: `acquire` and `release`.
    Mutex,
    /// Knossos's `fifo-queue`: `enqueue x` and `dequeue`.
    FifoQueue,
    /// Knossos's `multi-register`: `txn` of `[read k v]` and `[write k v]`.
    MultiRegister,
}

impl ObjectModel {
    /// The model's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ObjectModel::Mutex => "mutex",
            ObjectModel::FifoQueue => "fifo-queue",
            ObjectModel::MultiRegister => "multi-register",
        }
    }

    /// What one instance is called in prose when the history names no key.
    fn object(self) -> &'static str {
        match self {
            ObjectModel::Mutex => "the lock",
            ObjectModel::FifoQueue => "the queue",
            ObjectModel::MultiRegister => "the registers",
        }
    }
}

/// How to check a history.
#[derive(Debug, Clone)]
pub struct ObjectOptions {
    /// The model.
    pub model: ObjectModel,
    /// Read keys from Jepsen `jepsen.independent` tuples: every value is `[key value]`.
    pub independent: bool,
    /// Give up (unknown) on the keys not decided after this long (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Give up (unknown) on a key whose memo would take more bytes than this (0: no limit).
    pub max_search_memory: usize,
}

impl ObjectOptions {
    /// Defaults: no independent tuples, [`DEFAULT_TIMEOUT`], [`DEFAULT_SEARCH_MEMORY`].
    pub fn new(model: ObjectModel) -> Self {
        ObjectOptions {
            model,
            independent: false,
            timeout: Some(DEFAULT_TIMEOUT),
            max_search_memory: DEFAULT_SEARCH_MEMORY,
        }
    }
}

/// What [`check`] found.
#[derive(Debug, Clone)]
pub struct ObjectResult {
    /// The report: verdict, summary, one `nonlinearizable` anomaly per failing key, stats.
    pub report: Report,
    /// One verdict per key, in key order (`states` counts memoised configurations).
    pub keys: Vec<KeyVerdict>,
    /// The failing keys' evidence, in the order of `report.anomalies`. `state` is the object's
    /// state after the longest prefix, as JSON (`{"held": true}`, the queue's items head
    /// first, or a map of registers to non-nil values).
    pub failures: Vec<KeyFailure>,
}

/// Checks `history` for linearizability against `opts.model`, key by key. Operations of the
/// wrong shape for the model are a [`HistoryError`] naming the file and line.
pub fn check(history: &History, opts: &ObjectOptions) -> Result<ObjectResult, HistoryError> {
    let started = Instant::now();
    let limits = Limits {
        deadline: opts.timeout.map(|t| started + t),
        max_memo_bytes: opts.max_search_memory,
        no_chain: false,
    };
    let name = opts.model.name();
    let mut run = match opts.model {
        ObjectModel::Mutex => {
            let mut keys = prepare::group(history, name, opts.independent, mutex::compile)?;
            let unobserved = keys.iter_mut().map(mutex::drop_unobserved).sum();
            check_keys(history, opts.model, keys, limits, unobserved)
        }
        ObjectModel::FifoQueue => {
            let mut keys = prepare::group(history, name, opts.independent, fifo_queue::compile)?;
            let unobserved = keys.iter_mut().map(fifo_queue::drop_unobserved).sum();
            check_keys(history, opts.model, keys, limits, unobserved)
        }
        ObjectModel::MultiRegister => {
            let mut keys = prepare::group(history, name, opts.independent, multi_register::compile)?;
            let unobserved = keys.iter_mut().map(multi_register::drop_unobserved).sum();
            check_keys(history, opts.model, keys, limits, unobserved)
        }
    };
    run.report
        .stats
        .insert("elapsed_ms".into(), json!(started.elapsed().as_secs_f64() * 1e3));
    Ok(run)
}

fn check_keys<S: Spec>(
    history: &History,
    model: ObjectModel,
    keys: Vec<KeyOps<S, S::Op>>,
    limits: Limits,
    unobserved: usize,
) -> ObjectResult {
    let mut report = Report::new("linearizability", model.name(), Verdict::Valid, "");
    let mut verdicts = Vec::with_capacity(keys.len());
    let mut failures = Vec::new();
    let (mut configurations, mut steps) = (0u64, 0u64);
    for key in &keys {
        let (mut outcome, stats) = search::search(&key.context, &key.ops, limits);
        if matches!(outcome, Outcome::NotLinearizable { .. }) {
            // The chain proved it; search again without it so the dead end explained is one
            // the model itself refuses. If that gives up, the chained evidence stands.
            let plain = Limits {
                no_chain: true,
                ..limits
            };
            if let (again @ Outcome::NotLinearizable { .. }, _) =
                search::search(&key.context, &key.ops, plain)
            {
                outcome = again;
            }
        }
        configurations += stats.configurations;
        steps += stats.steps;
        let (verdict, gave_up) = match outcome {
            Outcome::Linearizable { order } => match search::verify(&key.context, &key.ops, &order) {
                Ok(()) => (Verdict::Valid, None),
                Err(_) => (Verdict::Unknown, Some(GaveUp::BadWitness)),
            },
            Outcome::GaveUp(why) => (Verdict::Unknown, Some(why)),
            Outcome::NotLinearizable {
                longest,
                culprit,
                state,
            } => {
                let found = explain::Found {
                    longest: &longest,
                    culprit,
                    state: &state,
                    configurations: stats.configurations,
                };
                let (failure, anomaly) = explain::explain(history, model.name(), model.object(), key, &found);
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
            states: stats.configurations,
        });
    }
    let n_ops: usize = keys.iter().map(|k| k.ops.len()).sum();
    let dropped: usize = keys.iter().map(|k| k.dropped).sum();
    report.summary = summary(model, &verdicts, n_ops);
    let where_ = |v: Verdict| -> Vec<&Option<serde_json::Value>> {
        verdicts
            .iter()
            .filter(|k| k.verdict == v)
            .map(|k| &k.key)
            .collect()
    };
    report.details = json!({
        "invalid_keys": where_(Verdict::Invalid),
        "unknown_keys": where_(Verdict::Unknown),
        "undecided": verdicts.iter().filter_map(|k| k.gave_up.map(|why| json!({"key": k.key, "reason": why.name()}))).collect::<Vec<_>>(),
    });
    let stats = &mut report.stats;
    stats.insert("keys".into(), json!(keys.len()));
    stats.insert("operations".into(), json!(n_ops));
    stats.insert("dropped_operations".into(), json!(dropped));
    stats.insert("unobserved_info_operations".into(), json!(unobserved));
    stats.insert("states".into(), json!(configurations));
    stats.insert("steps".into(), json!(steps));
    ObjectResult {
        report,
        keys: verdicts,
        failures,
    }
}

fn summary(model: ObjectModel, verdicts: &[KeyVerdict], n_ops: usize) -> String {
    let count = |v: Verdict| verdicts.iter().filter(|k| k.verdict == v).count();
    let (invalid, unknown, total) = (count(Verdict::Invalid), count(Verdict::Unknown), verdicts.len());
    let keys = if total == 1 { "key" } else { "keys" };
    let label = |k: &KeyVerdict| explain::key_label(&k.key, model.object());
    if invalid > 0 {
        let named: Vec<String> = verdicts
            .iter()
            .filter(|k| k.verdict == Verdict::Invalid)
            .take(5)
            .map(label)
            .collect();
        format!(
            "not linearizable: {invalid} of {total} {keys} failed ({}){}",
            named.join(", "),
            if unknown > 0 {
                format!("; {unknown} not decided")
            } else {
                String::new()
            }
        )
    } else if unknown > 0 {
        let why: Vec<&str> = verdicts
            .iter()
            .filter_map(|k| k.gave_up.map(GaveUp::name))
            .collect();
        format!(
            "unknown: {unknown} of {total} {keys} not decided ({}); the others are linearizable",
            why.join(", ")
        )
    } else {
        format!(
            "linearizable as a {}: {total} {keys}, {n_ops} operations",
            model.name()
        )
    }
}
