//! Knossos's `fifo-queue`: `:enqueue x` and `:dequeue` on a first-in first-out queue per key,
//! starting empty. An `ok` dequeue returned the head of the queue; an `ok` dequeue that
//! returned nil found the queue empty (Knossos calls any dequeue from an empty queue
//! inconsistent; Jepsen's queue clients mostly record an empty dequeue as `:fail`, which did
//! nothing and is dropped). An `info` dequeue may have removed the head at any point, or
//! nothing. Values compare exactly as written; an enqueue of nil is refused, since nil is what
//! an empty dequeue returns.

use super::prepare::{KeyOps, ShapeError, Shaped, unknown_f};
use super::spec::{Spec, Values};
use serde_json::Value;
use std::collections::VecDeque;

/// What a dequeue returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Dequeued {
    /// This value.
    Value(u32),
    /// Nothing: the queue was empty.
    Empty,
    /// Unknown (`info`).
    Unknown,
}

/// A queue operation, values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum QueueOp {
    Enqueue(u32),
    Dequeue(Dequeued),
}

/// The FIFO queue model of one key: its interned values.
#[derive(Debug, Clone, Default)]
pub(crate) struct FifoQueue {
    values: Values,
}

/// Compiles one operation: `enqueue` with a non-nil value, or `dequeue`.
pub(crate) fn compile(q: &mut FifoQueue, s: &Shaped<'_>) -> Result<QueueOp, ShapeError> {
    match s.op.f.as_str() {
        "enqueue" if s.argument.is_null() => Err(ShapeError::Invocation(
            "an enqueue's value must not be nil: nil is what a dequeue of an empty queue returns".into(),
        )),
        "enqueue" => Ok(QueueOp::Enqueue(q.values.intern(s.argument))),
        "dequeue" => Ok(QueueOp::Dequeue(match s.result {
            None => Dequeued::Unknown,
            Some(Value::Null) => Dequeued::Empty,
            Some(v) => Dequeued::Value(q.values.intern(v)),
        })),
        other => Err(unknown_f(other, "fifo-queue", "enqueue, dequeue", "")),
    }
}

/// Leaves out the `info` enqueues of values no `ok` dequeue returned. Sound and complete: in a
/// linearization that places such an enqueue of x, x is either never dequeued (it stays behind
/// every value any dequeue returned, so removing it changes no dequeue's result and can only
/// empty the queue at moments nothing returned a value) or removed by an `info` dequeue (then
/// removing both changes nothing else). Without this, every unobserved `info` enqueue could be
/// placed at every point of the search.
pub(crate) fn drop_unobserved(key: &mut KeyOps<FifoQueue, QueueOp>) -> usize {
    let seen: rustc_hash::FxHashSet<u32> = key
        .ops
        .iter()
        .filter_map(|o| match o.op {
            QueueOp::Dequeue(Dequeued::Value(v)) => Some(v),
            _ => None,
        })
        .collect();
    let before = key.ops.len();
    key.ops
        .retain(|o| !matches!(o.op, QueueOp::Enqueue(v) if o.ret.is_none() && !seen.contains(&v)));
    before - key.ops.len()
}

impl Spec for FifoQueue {
    type State = VecDeque<u32>;
    type Op = QueueOp;

    fn init(&self) -> VecDeque<u32> {
        VecDeque::new()
    }

    fn step(&self, q: &VecDeque<u32>, op: &QueueOp) -> Option<VecDeque<u32>> {
        match op {
            QueueOp::Enqueue(v) => {
                let mut next = q.clone();
                next.push_back(*v);
                Some(next)
            }
            QueueOp::Dequeue(Dequeued::Value(v)) if q.front() == Some(v) => {
                let mut next = q.clone();
                next.pop_front();
                Some(next)
            }
            QueueOp::Dequeue(Dequeued::Empty) if q.is_empty() => Some(q.clone()),
            // Taking effect on an empty queue would change nothing: the same as never.
            QueueOp::Dequeue(Dequeued::Unknown) if !q.is_empty() => {
                let mut next = q.clone();
                next.pop_front();
                Some(next)
            }
            QueueOp::Dequeue(_) => None,
        }
    }

    fn describe_op(&self, op: &QueueOp) -> String {
        match op {
            QueueOp::Enqueue(v) => format!("enqueue {}", self.values.label(*v)),
            QueueOp::Dequeue(Dequeued::Value(v)) => format!("dequeue {}", self.values.label(*v)),
            QueueOp::Dequeue(Dequeued::Empty) => "dequeue and find the queue empty".into(),
            QueueOp::Dequeue(Dequeued::Unknown) => "dequeue (outcome unknown)".into(),
        }
    }

    fn describe_state(&self, q: &VecDeque<u32>) -> String {
        if q.is_empty() {
            return "the queue is empty".into();
        }
        const SHOWN: usize = 10;
        let mut items: Vec<String> = q.iter().take(SHOWN).map(|v| self.values.label(*v)).collect();
        if q.len() > SHOWN {
            items.push(format!("... ({} more)", q.len() - SHOWN));
        }
        format!("the queue holds [{}] (head first)", items.join(", "))
    }

    fn state_json(&self, q: &VecDeque<u32>) -> Value {
        Value::Array(q.iter().map(|v| self.values.get(*v).clone()).collect())
    }

    fn why_not(&self, q: &VecDeque<u32>, op: &QueueOp) -> String {
        let head = q.front().map(|v| self.values.label(*v));
        match (op, head) {
            (QueueOp::Dequeue(Dequeued::Value(v)), None) => {
                format!(
                    "the queue is empty, so no dequeue can return {}",
                    self.values.label(*v)
                )
            }
            (QueueOp::Dequeue(Dequeued::Value(v)), Some(h)) if q.contains(v) => format!(
                "{} is in the queue, but behind {h}: a FIFO queue returns its head first",
                self.values.label(*v)
            ),
            (QueueOp::Dequeue(Dequeued::Value(v)), Some(h)) => format!(
                "{} is not in the queue (its head is {h}): it was never enqueued, or already dequeued",
                self.values.label(*v)
            ),
            (QueueOp::Dequeue(Dequeued::Empty), Some(h)) => {
                format!("the queue is not empty (its head is {h}), yet the dequeue returned nothing")
            }
            _ => "the model accepts it here".into(),
        }
    }
}
