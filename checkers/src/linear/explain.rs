//! Turns a failed search into evidence a person can follow, and into machine-readable JSON.
//!
//! The search proves a key's history is not linearizable and hands back the longest order it
//! found and the operation it could not place next (the culprit). This module names them in
//! words ("process 3 wrote 7 to k1 and was acknowledged at t=1.200s; process 5 read k1 at
//! t=1.400s, after that write, and saw 4"), using event times when the history has them and
//! line numbers otherwise, and lists the operations concurrent with the culprit.

use super::model::{Action, Model};
use super::partition::{INITIAL, KeyHistory, LinOp};
use crate::history::{Event, History};
use crate::report::Anomaly;
use serde_json::{Value, json};

/// Why one key is not linearizable, in terms of the history's operations.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyFailure {
    /// The key (`None` for a history of one unnamed register).
    pub key: Option<Value>,
    /// Every operation of this key the search considered ([`History::ops`] ids), in invocation
    /// order.
    pub ops: Vec<usize>,
    /// The operation that could not be linearized.
    pub culprit: usize,
    /// The operations concurrent with the culprit.
    pub concurrent: Vec<usize>,
    /// The longest linearizable order found, as operation ids.
    pub longest: Vec<usize>,
    /// The register's value after that order.
    pub state: Value,
}

/// A key's name in prose: a string key itself (`k1`), `key 7` for other keys, or "the
/// register" when the history names none.
pub fn key_label(key: &Option<Value>) -> String {
    match key {
        None => "the register".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => format!("key {v}"),
    }
}

/// A value in prose: JSON text, with null written as Jepsen's `nil`.
pub fn value_label(v: &Value) -> String {
    match v {
        Value::Null => "nil".to_string(),
        other => other.to_string(),
    }
}

/// A time in nanoseconds as `t=1.234s` (or ms / µs for small times).
pub fn format_time(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("t={:.3}s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("t={:.3}ms", ns as f64 / 1e6)
    } else {
        format!("t={:.3}µs", ns as f64 / 1e3)
    }
}

/// Where an event happened: its time when known, else its line (or index).
fn at(e: &Event) -> String {
    match (e.time, e.line) {
        (Some(t), _) => format!("at {}", format_time(t)),
        (None, 0) => format!("at event {}", e.index),
        (None, line) => format!("on line {line}"),
    }
}

struct Explainer<'a> {
    history: &'a History,
    key: &'a KeyHistory,
    name: String,
}

impl Explainer<'_> {
    fn value(&self, id: u32) -> String {
        value_label(&self.key.values[id as usize])
    }

    fn invocation(&self, op: &LinOp) -> &Event {
        &self.history.events[op.call]
    }

    fn process(&self, op: &LinOp) -> u64 {
        self.history.ops[op.op].process
    }

    /// "process 3 wrote 7 to k1", "process 5 read k1 and saw 4", ...
    fn deed(&self, op: &LinOp) -> String {
        let p = self.process(op);
        let k = &self.name;
        let unknown = !op.required();
        match op.action {
            Action::Read(v) => format!("process {p} read {k} and saw {}", self.value(v)),
            Action::Write(v) if unknown => format!("process {p} tried to write {} to {k}", self.value(v)),
            Action::Write(v) => format!("process {p} wrote {} to {k}", self.value(v)),
            Action::Cas(e, n) if unknown => format!(
                "process {p} tried to change {k} from {} to {} with a compare-and-set",
                self.value(e),
                self.value(n)
            ),
            Action::Cas(e, n) => format!(
                "process {p} changed {k} from {} to {} with a compare-and-set",
                self.value(e),
                self.value(n)
            ),
            Action::ReadOther(e) => format!(
                "process {p}'s compare-and-set of {k} expecting {} failed, so {k} did not hold {}",
                self.value(e),
                self.value(e)
            ),
        }
    }

    /// "(invoked at t=1.2s, acknowledged at t=1.3s)" and the like.
    fn span(&self, op: &LinOp) -> String {
        let inv = at(self.invocation(op));
        match op.ret {
            Some(r) => format!("(invoked {inv}, completed {})", at(&self.history.events[r])),
            None => match self.history.ops[op.op].complete {
                Some(c) => format!("(invoked {inv}, outcome unknown {})", at(&self.history.events[c])),
                None => format!("(invoked {inv}, never completed)"),
            },
        }
    }

    fn describe(&self, op: &LinOp) -> String {
        format!("{} {}", self.deed(op), self.span(op))
    }

    fn op_json(&self, op: &LinOp) -> Value {
        let h = &self.history.ops[op.op];
        let inv = self.invocation(op);
        let done = h.complete.map(|c| &self.history.events[c]);
        json!({
            "process": h.process,
            "f": h.f,
            "value": self.history.value(h),
            "type": h.outcome,
            "invoke_index": inv.index,
            "complete_index": done.map(|e| e.index),
            "invoke_line": inv.line,
            "complete_line": done.map(|e| e.line),
            "invoke_time": inv.time,
            "complete_time": done.and_then(|e| e.time),
        })
    }

    /// The value the culprit needed the register to hold, if it needed one.
    fn needed(&self, op: &LinOp) -> Option<u32> {
        match op.action {
            Action::Read(v) | Action::Cas(v, _) => Some(v),
            Action::Write(_) | Action::ReadOther(_) => None,
        }
    }

    fn writes(op: &LinOp) -> Option<u32> {
        match op.action {
            Action::Write(v) | Action::Cas(_, v) => Some(v),
            Action::Read(_) | Action::ReadOther(_) => None,
        }
    }

    /// Steps about where the needed value could have come from; includes the classic
    /// "overwritten before the read began" argument when it applies.
    fn provenance(&self, culprit: &LinOp, needed: u32) -> Vec<String> {
        let k = &self.name;
        let v = self.value(needed);
        let limit = culprit.ret.unwrap_or(usize::MAX);
        let writers: Vec<&LinOp> = self
            .key
            .ops
            .iter()
            .filter(|o| o.op != culprit.op && o.call < limit && Self::writes(o) == Some(needed))
            .collect();
        let mut steps = Vec::new();
        if writers.is_empty() && needed != INITIAL {
            steps.push(format!(
                "No operation wrote {v} to {k} before then, and {v} is not its initial value, so no order of the operations can explain it."
            ));
            return steps;
        }
        let mut sources: Vec<String> = writers.iter().take(3).map(|w| self.describe(w)).collect();
        if needed == INITIAL {
            sources.insert(0, format!("{v} is the initial value of {k}"));
        }
        let more = writers.len().saturating_sub(3);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        steps.push(format!(
            "Where {v} could come from: {}{tail}.",
            sources.join("; ")
        ));
        // The classic argument: every source of the value finished before some other write
        // began, and that write finished before the culprit began.
        if writers.iter().all(|w| w.required()) {
            let sources_done = writers.iter().filter_map(|w| w.ret).max().unwrap_or(0);
            let overwriter = self
                .key
                .ops
                .iter()
                .filter(|o| o.required() && o.ret.is_some_and(|r| r < culprit.call))
                .filter(|o| Self::writes(o).is_some_and(|w| w != needed))
                .filter(|o| o.call > sources_done || (writers.is_empty() && needed == INITIAL))
                .max_by_key(|o| o.ret);
            if let Some(w) = overwriter {
                let done = &self.history.events[w.ret.unwrap_or(w.call)];
                let gone = if writers.is_empty() {
                    format!("so {k} no longer held its initial value {v}")
                } else {
                    format!("after every write of {v} to {k} had completed")
                };
                let p = self.process(culprit);
                let began = at(self.invocation(culprit));
                let then = match culprit.action {
                    Action::Read(_) => format!("process {p} read {k} {began}, after that write, and saw {v}"),
                    _ => format!(
                        "process {p} began its compare-and-set of {k} expecting {v} {began}, after that write, and it succeeded"
                    ),
                };
                steps.push(format!(
                    "{} and was acknowledged {}, {gone}; {then}.",
                    self.deed(w),
                    at(done)
                ));
            }
        }
        steps
    }
}

/// What the search found for a failing key (indices into its operations).
pub(crate) struct Found<'a> {
    /// The longest legal order found.
    pub longest: &'a [u32],
    /// False when the search for `longest` was cut short by its budget.
    pub complete: bool,
    /// The operation that could not be placed after it.
    pub culprit: u32,
    /// The register state after `longest`.
    pub state: u32,
}

/// Builds the failure record and the anomaly for one key.
pub(crate) fn explain(
    history: &History,
    model: Model,
    key: &KeyHistory,
    found: &Found,
) -> (KeyFailure, Anomaly) {
    let Found {
        longest,
        complete,
        culprit,
        state,
    } = *found;
    let ex = Explainer {
        history,
        key,
        name: key_label(&key.key),
    };
    let x = &key.ops[culprit as usize];
    let x_end = x.ret.unwrap_or(usize::MAX);
    let concurrent: Vec<&LinOp> = key
        .ops
        .iter()
        .filter(|o| o.op != x.op && o.call < x_end && x.call < o.ret.unwrap_or(usize::MAX))
        .collect();
    let k = &ex.name;
    let mut steps = Vec::new();
    let last_set = longest
        .iter()
        .rev()
        .map(|&i| &key.ops[i as usize])
        .find(|o| Explainer::writes(o).is_some());
    let holder = match last_set {
        Some(w) => format!("{k} holds {}, last set when {}", ex.value(state), ex.describe(w)),
        None => format!("{k} still holds its initial value {}", ex.value(state)),
    };
    let cut_short = if complete {
        ""
    } else {
        " (the search for a longer one stopped at its budget; the verdict does not depend on it)"
    };
    steps.push(format!(
        "The longest linearizable prefix found orders {} of the {} operations on {k} (listed in the JSON details){cut_short}; after it, {holder}.",
        longest.len(),
        key.ops.len()
    ));
    let overlap = match concurrent.len() {
        0 => "no other operation overlaps it in time".to_string(),
        1 => "the one operation overlapping it in time (see the JSON details) cannot be ordered to allow it"
            .to_string(),
        n => format!(
            "no order of the {n} operations overlapping it in time (listed in the JSON details) allows it before it completed"
        ),
    };
    steps.push(format!(
        "Next, {}: that cannot take effect after the prefix, and {overlap}.",
        ex.describe(x)
    ));
    if let Some(needed) = ex.needed(x) {
        steps.extend(ex.provenance(x, needed));
    }
    steps.push(format!("So the history of {k} is not linearizable as a {model}."));
    let mut events = vec![history.events[x.call].index];
    if let Some(c) = history.ops[x.op].complete {
        events.push(history.events[c].index);
    }
    for o in &concurrent {
        events.push(history.events[o.call].index);
    }
    let details = json!({
        "key": key.key,
        "culprit": ex.op_json(x),
        "concurrent": concurrent.iter().map(|o| ex.op_json(o)).collect::<Vec<_>>(),
        "longest_linearization": longest.iter().map(|&i| ex.op_json(&key.ops[i as usize])).collect::<Vec<_>>(),
        "state_after_longest": key.values[state as usize],
        "longest_search_complete": complete,
        "operations": key.ops.len(),
        "dropped_operations": key.dropped,
    });
    let failure = KeyFailure {
        key: key.key.clone(),
        ops: key.ops.iter().map(|o| o.op).collect(),
        culprit: x.op,
        concurrent: concurrent.iter().map(|o| o.op).collect(),
        longest: longest.iter().map(|&i| key.ops[i as usize].op).collect(),
        state: key.values[state as usize].clone(),
    };
    let anomaly = Anomaly {
        kind: "nonlinearizable".to_string(),
        key: key.key.clone(),
        steps,
        events,
        details,
    };
    (failure, anomaly)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(key_label(&None), "the register");
        assert_eq!(key_label(&Some(json!("k1"))), "k1");
        assert_eq!(key_label(&Some(json!(7))), "key 7");
        assert_eq!(value_label(&Value::Null), "nil");
        assert_eq!(format_time(1_200_000_000), "t=1.200s");
        assert_eq!(format_time(3_500_000), "t=3.500ms");
        assert_eq!(format_time(1_500), "t=1.500µs");
    }
}
