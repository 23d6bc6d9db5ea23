//! Shared helpers for the graph checker's tests: a small history builder and check shortcuts.
#![allow(dead_code)]

pub mod sim;

use faultline_checkers::graph::{ConsistencyModel, TxnAnalysis, TxnCheckOptions, Workload, analyze};
use faultline_checkers::history::{Event, EventKind, History, Process};
use serde_json::Value;
use std::collections::BTreeMap;

/// Builds histories event by event; invocations carry the transaction with reads nulled.
#[derive(Default)]
pub struct Hist {
    events: Vec<Event>,
    pending: BTreeMap<u64, Value>,
}

/// The invocation form of a transaction: every read's value is null.
pub fn invocation_of(value: &Value) -> Value {
    match value {
        Value::Array(mops) => Value::Array(
            mops.iter()
                .map(|m| match m.as_array() {
                    Some(p) if p.len() == 3 && p[0] == "r" => {
                        Value::Array(vec![p[0].clone(), p[1].clone(), Value::Null])
                    }
                    _ => m.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Hist {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, p: u64, kind: EventKind, value: Value) {
        let index = self.events.len() as u64;
        let mut e = Event::new(index, Process::Client(p), kind, "txn", value);
        e.time = Some(index * 1000);
        e.line = index as u32 + 1;
        self.events.push(e);
    }

    /// Invokes the transaction that will complete with `value` (if ok).
    pub fn invoke(&mut self, p: u64, value: Value) -> &mut Self {
        self.push(p, EventKind::Invoke, invocation_of(&value));
        self.pending.insert(p, value);
        self
    }

    /// Completes process p's pending transaction ok, with the value given at invocation.
    pub fn ok(&mut self, p: u64) -> &mut Self {
        let v = self.pending.remove(&p).expect("an invocation in flight");
        self.push(p, EventKind::Ok, v);
        self
    }

    /// Completes process p's pending transaction as failed.
    pub fn fail(&mut self, p: u64) -> &mut Self {
        let v = self.pending.remove(&p).expect("an invocation in flight");
        self.push(p, EventKind::Fail, invocation_of(&v));
        self
    }

    /// Completes process p's pending transaction as info (unknown).
    pub fn info(&mut self, p: u64) -> &mut Self {
        let v = self.pending.remove(&p).expect("an invocation in flight");
        self.push(p, EventKind::Info, invocation_of(&v));
        self
    }

    /// An ok transaction, invoked and completed at once.
    pub fn txn(&mut self, p: u64, value: Value) -> &mut Self {
        self.invoke(p, value).ok(p)
    }

    /// A failed transaction.
    pub fn failed(&mut self, p: u64, value: Value) -> &mut Self {
        self.invoke(p, value).fail(p)
    }

    /// Ok transactions all concurrent: every invocation, then every completion.
    pub fn concurrent(&mut self, txns: &[(u64, Value)]) -> &mut Self {
        for (p, v) in txns {
            self.invoke(*p, v.clone());
        }
        for (p, _) in txns {
            self.ok(*p);
        }
        self
    }

    pub fn history(&self) -> History {
        History::from_events("test", self.events.clone()).expect("well-formed test history")
    }
}

/// Analyzes with the given models (all of them when empty).
pub fn analyze_with(h: &History, workload: Workload, models: &[ConsistencyModel]) -> TxnAnalysis {
    let mut opts = TxnCheckOptions::new(workload);
    opts.models = if models.is_empty() {
        ConsistencyModel::ALL.to_vec()
    } else {
        models.to_vec()
    };
    analyze(h, &opts).expect("check runs")
}

/// The anomaly kind names found, sorted, checking every model.
pub fn kinds(h: &History, workload: Workload) -> Vec<String> {
    kinds_for(h, workload, &[])
}

/// The anomaly kind names found when checking only `models`, sorted by name.
pub fn kinds_for(h: &History, workload: Workload, models: &[ConsistencyModel]) -> Vec<String> {
    let a = analyze_with(h, workload, models);
    assert!(
        a.inconclusive.is_empty(),
        "searches cut short: {:?}",
        a.inconclusive
    );
    let mut names: Vec<String> = a.anomaly_kinds().iter().map(|k| k.name().to_string()).collect();
    names.sort();
    names
}

/// Visits every order of `items[k..]` (after `items[..k]`), for the brute-force oracles; stops
/// at the first order `visit` accepts and returns true.
pub fn permutations(items: &mut Vec<usize>, k: usize, visit: &mut dyn FnMut(&[usize]) -> bool) -> bool {
    if k == items.len() {
        return visit(items);
    }
    for i in k..items.len() {
        items.swap(k, i);
        if permutations(items, k + 1, visit) {
            return true;
        }
        items.swap(k, i);
    }
    false
}
