//! Checkers of Jepsen's plain (non-linearizability) workloads: [`set`] (`:add` then one final
//! `:read`), [`set_full`] (reads throughout), [`counter`] (`:add n`, `:read v`), [`bank`]
//! (`:transfer`, `:read {account balance}`), [`unordered_queue`] (`:enqueue`, `:dequeue`,
//! `:drain`) and [`long_fork`] (single-key writes, reads of a group of keys). Each reads the
//! ops' `f` and `value` as Jepsen writes them (EDN or the JSON Lines equivalent), groups ops by
//! their `key` when the history names keys, and explains each anomaly in numbered steps. This
//! module holds what they share.

pub mod bank;
pub mod counter;
pub mod long_fork;
pub mod set;
pub mod set_full;
pub mod unordered_queue;

#[cfg(test)]
mod long_fork_oracle_tests;
#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod queue_oracle_tests;

use crate::history::{History, HistoryError, Operation};
use crate::linear::format_time;
use serde_json::Value;
use std::collections::BTreeMap;

/// Anomalies of one kind explained in full; the rest are counted.
pub(crate) const EXPLAINED: usize = 16;

/// "at t=1.2s (line 7)" or "on line 7": when an event happened, for explanations.
pub(crate) fn when(history: &History, pos: usize) -> String {
    let e = &history.events[pos];
    match e.time {
        Some(t) => format!("at {} (line {})", format_time(t), e.line),
        None => format!("on line {}", e.line),
    }
}

/// "process 3's add of 5 (invoked at ..., ok at ...)": one operation, for explanations.
pub(crate) fn describe(history: &History, op: &Operation) -> String {
    let done = match op.complete {
        Some(c) => format!(", {} {}", history.events[c].kind, when(history, c)),
        None => ", never completed".to_string(),
    };
    format!(
        "process {}'s {} invoked {}{done}",
        op.process,
        op.f,
        when(history, op.invoke)
    )
}

/// The history's client ops grouped by key (one group, keyed `None`, when no op names a key),
/// in key order, each group in invocation order.
pub(crate) fn by_key(history: &History) -> Vec<(Option<Value>, Vec<&Operation>)> {
    let mut groups: BTreeMap<String, (Option<Value>, Vec<&Operation>)> = BTreeMap::new();
    for op in &history.ops {
        let label = op.key.as_ref().map_or_else(String::new, Value::to_string);
        groups
            .entry(label)
            .or_insert_with(|| (op.key.clone(), Vec::new()))
            .1
            .push(op);
    }
    groups.into_values().collect()
}

/// An exact integer from a JSON value (bigints included, up to 128 bits); an error naming the
/// event's line otherwise.
pub(crate) fn integer(
    history: &History,
    pos: usize,
    value: &Value,
    what: &str,
) -> Result<i128, HistoryError> {
    let parsed = match value {
        Value::Number(n) => n.to_string().parse::<i128>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        history.error_at(
            pos,
            format!(
                "{what} must be an integer of at most 128 bits, found {}",
                crate::history::quote_json(value, crate::history::QUOTE_LIMIT)
            ),
        )
    })
}

/// A key for messages: " of key k" or "" for an unkeyed history.
pub(crate) fn of_key(key: &Option<Value>) -> String {
    key.as_ref().map(|k| format!(" of key {k}")).unwrap_or_default()
}

/// An exact integer as a JSON number (beyond 64 bits too).
pub(crate) fn int_json(n: i128) -> Value {
    serde_json::from_str(&n.to_string()).unwrap_or(Value::Null)
}
