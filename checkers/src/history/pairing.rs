//! Pairs each invocation with its completion, and checks that the history is well formed.
//!
//! Rules (Jepsen's): a client process is single-threaded, so it has at most one invocation in
//! flight; every completion answers the invocation in flight on its process, with the same `f`;
//! after an `info` completion the process never invokes again. An invocation that never
//! completes is treated as `info`. Nemesis events are not paired.

use super::error::HistoryError;
use super::event::{Event, EventKind, Process};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It took effect.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown (an `info` completion, or no completion at all): it may take effect at any
    /// point after its invocation, or never.
    Info,
}

/// One client operation: an invocation and its completion, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Position in [`super::History::ops`].
    pub id: usize,
    /// The client process that performed it.
    pub process: u64,
    /// The function (`read`, `write`, `cas`, `txn`, ...).
    pub f: String,
    /// The key, when the history names one.
    pub key: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// Position of the invocation in [`super::History::events`].
    pub invoke: usize,
    /// Position of the completion, or `None` if it never completed.
    pub complete: Option<usize>,
}

impl Operation {
    /// True if this operation finished (ok or fail) before `other` was invoked: the real-time
    /// order that linearizability and strict serializability respect. Info ops never finish.
    pub fn precedes(&self, other: &Operation) -> bool {
        self.outcome != Outcome::Info && self.complete.is_some_and(|c| c < other.invoke)
    }
}

/// True when the history has client completions and no invocation at all: Elle accepts such
/// *completion-only* histories (each op is its completion alone).
pub(crate) fn is_completion_only(events: &[Event]) -> bool {
    let mut clients = events.iter().filter(|e| e.process != Process::Nemesis).peekable();
    clients.peek().is_some() && clients.all(|e| e.kind != EventKind::Invoke)
}

/// The operations of a completion-only history: one per completion, which is both its
/// invocation and its completion (`invoke == complete`). Nothing orders them in time or per
/// process, so the pairing rules of a process do not apply.
pub(crate) fn completions_alone(events: &[Event]) -> (Vec<Operation>, Vec<usize>) {
    let mut ops = Vec::with_capacity(events.len());
    let mut nemesis = Vec::new();
    for (pos, e) in events.iter().enumerate() {
        let Process::Client(p) = e.process else {
            nemesis.push(pos);
            continue;
        };
        ops.push(Operation {
            id: ops.len(),
            process: p,
            f: e.f.clone(),
            key: e.key.clone(),
            outcome: match e.kind {
                EventKind::Ok => Outcome::Ok,
                EventKind::Fail => Outcome::Fail,
                _ => Outcome::Info,
            },
            invoke: pos,
            complete: Some(pos),
        });
    }
    (ops, nemesis)
}

/// Pairs events into operations; returns the operations and the positions of nemesis events.
pub(crate) fn pair(source: &str, events: &[Event]) -> Result<(Vec<Operation>, Vec<usize>), HistoryError> {
    let mut ops: Vec<Operation> = Vec::with_capacity(events.len() / 2 + 1);
    let mut nemesis = Vec::new();
    let mut pairer = Pairer::default();
    for pos in 0..events.len() {
        pairer.pair_next(source, events, pos, &mut ops, &mut nemesis)?;
    }
    Ok((ops, nemesis))
}

/// Pairs events one at a time, as they arrive: after each event the operations are those of
/// the history so far (an invocation not yet answered is an `info` operation without a
/// completion), so a history read as it is written is paired once, not again at every look.
#[derive(Debug, Default)]
pub(crate) struct Pairer {
    /// Process -> op id of its invocation in flight.
    in_flight: FxHashMap<u64, usize>,
    /// Process -> line of its info completion (such a process must not invoke again).
    crashed: FxHashMap<u64, u32>,
}

impl Pairer {
    /// Pairs `events[pos]` (every event before it paired already, into `ops` and `nemesis`).
    pub(crate) fn pair_next(
        &mut self,
        source: &str,
        events: &[Event],
        pos: usize,
        ops: &mut Vec<Operation>,
        nemesis: &mut Vec<usize>,
    ) -> Result<(), HistoryError> {
        let e = &events[pos];
        let err = |m: String| HistoryError::at(source, e.line as usize, m);
        let p = match e.process {
            Process::Nemesis => {
                nemesis.push(pos);
                return Ok(());
            }
            Process::Client(p) => p,
        };
        if e.kind == EventKind::Invoke {
            if let Some(&open) = self.in_flight.get(&p) {
                let first = &events[ops[open].invoke];
                return Err(err(format!(
                    "process {p} invokes {} while its {} invoked on line {} has not completed (a process runs one operation at a time)",
                    e.f, first.f, first.line
                )));
            }
            if let Some(&line) = self.crashed.get(&p) {
                return Err(err(format!(
                    "process {p} invokes {} after its info completion on line {line}; after an indeterminate result the process must not be reused (use a fresh process id)",
                    e.f
                )));
            }
            self.in_flight.insert(p, ops.len());
            ops.push(Operation {
                id: ops.len(),
                process: p,
                f: e.f.clone(),
                key: e.key.clone(),
                outcome: Outcome::Info,
                invoke: pos,
                complete: None,
            });
            return Ok(());
        }
        let Some(id) = self.in_flight.remove(&p) else {
            return Err(err(format!(
                "process {p} completes {} ({}) but has no invocation in flight",
                e.f, e.kind
            )));
        };
        let op = &mut ops[id];
        let inv = &events[op.invoke];
        if e.f != inv.f {
            return Err(err(format!(
                "process {p}'s completion is for f={} but its invocation on line {} was f={}",
                e.f, inv.line, inv.f
            )));
        }
        match (&op.key, &e.key) {
            (Some(a), Some(b)) if a != b => {
                return Err(err(format!(
                    "process {p}'s completion names key {b} but its invocation on line {} named key {a}",
                    inv.line
                )));
            }
            (None, Some(b)) => op.key = Some(b.clone()),
            _ => {}
        }
        op.complete = Some(pos);
        op.outcome = match e.kind {
            EventKind::Ok => Outcome::Ok,
            EventKind::Fail => Outcome::Fail,
            EventKind::Info => {
                self.crashed.insert(p, e.line);
                Outcome::Info
            }
            EventKind::Invoke => unreachable!("handled above"),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::history::{Format, History};

    fn h(text: &str) -> Result<History, crate::history::HistoryError> {
        History::parse("t", text, Format::JepsenLog)
    }

    #[test]
    fn pairs_and_treats_unmatched_as_info() {
        let hist = h("INFO jepsen.util - 0\t:invoke\t:write\t1\n\
                      INFO jepsen.util - 1\t:invoke\t:read\tnil\n\
                      INFO jepsen.util - 0\t:ok\t:write\t1\n\
                      INFO jepsen.util - 1\t:ok\t:read\t1\n\
                      INFO jepsen.util - 2\t:invoke\t:cas\t[1 2]\n\
                      INFO jepsen.util - 2\t:info\t:cas\t:timed-out\n\
                      INFO jepsen.util - 3\t:invoke\t:write\t5\n")
        .unwrap();
        use super::Outcome::*;
        let outcomes: Vec<_> = hist.ops.iter().map(|o| o.outcome).collect();
        assert_eq!(outcomes, vec![Ok, Ok, Info, Info]);
        assert_eq!(hist.value(&hist.ops[1]), &serde_json::json!(1));
        assert_eq!(
            hist.value(&hist.ops[2]),
            &serde_json::json!([1, 2]),
            "info keeps the invocation's value"
        );
        assert_eq!(hist.ops[3].complete, None);
        assert!(hist.ops[0].precedes(&hist.ops[2]));
        assert!(!hist.ops[0].precedes(&hist.ops[1]));
    }

    #[test]
    fn rejects_malformed_pairings_with_line_numbers() {
        let cases = [
            (
                "INFO jepsen.util - 1\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:ok\t:read\t1",
                2,
                "no invocation in flight",
            ),
            (
                "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:invoke\t:read\tnil",
                2,
                "has not completed",
            ),
            (
                "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:ok\t:write\t1",
                2,
                "was f=read",
            ),
            (
                "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:info\t:read\tnil\nINFO jepsen.util - 0\t:invoke\t:read\tnil",
                3,
                "must not be reused",
            ),
        ];
        for (text, line, needle) in cases {
            let e = h(text).unwrap_err();
            assert_eq!(e.line(), Some(line), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
