//! Words for evidence: how transactions, values and reads are named in explanations, and the
//! skeleton of an [`Anomaly`] (its events and the "Let T1 be ..." steps).

use super::txn::{Span, TxnSet, compact};
use crate::history::{History, Outcome};
use crate::report::Anomaly;
use serde_json::Value;

/// What explanations need: the history (for indices, processes, values) and its transactions.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub history: &'a History,
    pub set: &'a TxnSet,
}

impl<'a> Ctx<'a> {
    /// A key or value id as text.
    pub(crate) fn s(&self, id: u32) -> String {
        self.set.scalar(id).to_string()
    }

    /// A key or value id as JSON.
    pub(crate) fn json(&self, id: u32) -> Value {
        self.set.scalar(id).to_json()
    }

    /// A list of value ids as text, Elle style: `[1 2 3]`.
    pub(crate) fn list(&self, ids: &[u32]) -> String {
        let items: Vec<String> = ids.iter().map(|&v| self.s(v)).collect();
        format!("[{}]", items.join(" "))
    }

    /// A read span as text.
    pub(crate) fn span(&self, span: Span) -> String {
        self.list(self.set.values(span))
    }

    /// The history index of a transaction's invocation.
    pub(crate) fn index(&self, t: usize) -> u64 {
        let op = &self.history.ops[self.set.txns[t].op as usize];
        self.history.events[op.invoke].index
    }

    /// History indices of a transaction's events (invocation, and completion if any).
    pub(crate) fn events(&self, t: usize) -> Vec<u64> {
        let op = &self.history.ops[self.set.txns[t].op as usize];
        let mut e = vec![self.history.events[op.invoke].index];
        if let Some(c) = op.complete {
            e.push(self.history.events[c].index);
        }
        e
    }

    /// A transaction in words: `index 12 by process 3 (ok): [append 5 1] [r 5 [1]]`.
    pub(crate) fn describe(&self, t: usize) -> String {
        let txn = &self.set.txns[t];
        let op = &self.history.ops[txn.op as usize];
        let pos = match (txn.outcome, op.complete) {
            (Outcome::Ok, Some(c)) => c,
            _ => op.invoke,
        };
        // A lean history keeps the value as text (read back here, for the few explained).
        let parsed: Option<Value> = self
            .set
            .raw
            .read_back(pos)
            .and_then(|t| serde_json::from_str(&t).ok());
        let value = parsed.as_ref().unwrap_or(&self.history.events[pos].value);
        let mops = value
            .as_array()
            .map(|m| m.iter().map(micro_op_text).collect::<Vec<_>>().join(" "));
        let outcome = match txn.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "failed",
            Outcome::Info => "info: may or may not have committed",
        };
        format!(
            "index {} by process {} ({outcome}): {}",
            self.index(t),
            txn.process,
            mops.unwrap_or_else(|| compact(value))
        )
    }

    /// An anomaly with the given transactions labelled T1, T2, ... in `order`, starting with a
    /// "Let Tn be ..." step for each.
    pub(crate) fn anomaly(&self, txns: &[usize], key: Option<u32>) -> Anomaly {
        let mut steps = Vec::new();
        let mut events = Vec::new();
        for (i, &t) in txns.iter().enumerate() {
            steps.push(format!(
                "Let T{} be the transaction at {}.",
                i + 1,
                self.describe(t)
            ));
            events.extend(self.events(t));
        }
        Anomaly {
            kind: String::new(),
            key: key.map(|k| self.json(k)),
            steps,
            events,
            details: Value::Null,
        }
    }
}

/// One micro-op in Elle's style: `[append 5 1]`, `[r 5 [1 2]]`, `[r 5 nil]`.
fn micro_op_text(m: &Value) -> String {
    match m.as_array() {
        Some(parts) => {
            let items: Vec<String> = parts.iter().map(value_text).collect();
            format!("[{}]", items.join(" "))
        }
        None => compact(m),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", inner.join(" "))
        }
        other => compact(other),
    }
}
