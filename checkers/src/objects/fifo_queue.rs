//! Knossos's `fifo-queue`: `:enqueue x` and `:dequeue` on a first-in first-out queue per key,
//! starting empty. An `ok` dequeue returned the head of the queue; an `ok` dequeue that
//! returned nil found the queue empty (Knossos calls any dequeue from an empty queue
//! inconsistent; Jepsen's queue clients mostly record an empty dequeue as `:fail`, which did
//! nothing and is dropped). An `info` dequeue may have removed the head at any point, or
//! nothing. Values compare exactly as written; an enqueue of nil is refused, since nil is what
//! an empty dequeue returns.

use super::prepare::{KeyOps, ShapeError, Shaped, unknown_f};
use super::search::SearchOp;
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
    /// Per value, where the first `ok` dequeue returning it completed (a search hint).
    first_dequeued: rustc_hash::FxHashMap<u32, u64>,
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
/// Also records, for the search's hint, where each value was first dequeued.
pub(crate) fn drop_unobserved(key: &mut KeyOps<FifoQueue, QueueOp>) -> usize {
    let seen = &mut key.context.first_dequeued;
    for o in &key.ops {
        if let (QueueOp::Dequeue(Dequeued::Value(v)), Some(r)) = (o.op, o.ret) {
            let at = seen.entry(v).or_insert(u64::MAX);
            *at = (*at).min(r as u64);
        }
    }
    let before = key.ops.len();
    key.ops
        .retain(|o| !matches!(o.op, QueueOp::Enqueue(v) if o.ret.is_none() && !seen.contains_key(&v)));
    before - key.ops.len()
}

impl Spec for FifoQueue {
    type State = VecDeque<u32>;

    fn state_bytes(&self, state: &Self::State) -> usize {
        std::mem::size_of::<Self::State>() + state.capacity() * std::mem::size_of::<u32>()
    }
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

    /// Dequeues that return a value or nothing first (each can only take the head, or needs
    /// the queue empty); then enqueues in the order their values were first dequeued, so that
    /// a valid history's enqueue order is found without trying the others. An `info` dequeue
    /// goes first when the head is a value no `ok` dequeue returned (only an `info` dequeue
    /// can remove it), last otherwise.
    fn priority(&self, q: &VecDeque<u32>, op: &QueueOp) -> u64 {
        match *op {
            QueueOp::Dequeue(Dequeued::Unknown) => match q.front() {
                Some(head) if !self.first_dequeued.contains_key(head) => 0,
                _ => u64::MAX,
            },
            QueueOp::Dequeue(_) => 0,
            QueueOp::Enqueue(v) => self.first_dequeued.get(&v).map_or(u64::MAX - 1, |&r| r + 1),
        }
    }

    /// Values enqueued once and returned by exactly one `ok` dequeue form the chain, ordered
    /// by when that dequeue returned. If x's enqueue took effect before y's, x was ahead of y
    /// in the queue and so was dequeued first; so when y's dequeue returned before x's began,
    /// y's enqueue must take effect before x's. Exact, and it cuts off a wrong enqueue order
    /// as soon as it is tried rather than when the dequeues find it out.
    fn chain(&self, ops: &[SearchOp<QueueOp>]) -> Vec<Option<(u32, u32)>> {
        let mut enqueues: rustc_hash::FxHashMap<u32, (usize, u32)> = rustc_hash::FxHashMap::default();
        let mut dequeues: rustc_hash::FxHashMap<u32, (usize, u32, usize, usize)> =
            rustc_hash::FxHashMap::default();
        for (i, o) in ops.iter().enumerate() {
            match o.op {
                QueueOp::Enqueue(v) => enqueues.entry(v).or_insert((i, 0)).1 += 1,
                QueueOp::Dequeue(Dequeued::Value(v)) => {
                    let d = dequeues
                        .entry(v)
                        .or_insert((i, 0, o.call, o.ret.unwrap_or(usize::MAX)));
                    d.1 += 1;
                }
                QueueOp::Dequeue(_) => {}
            }
        }
        // (enqueue op, its dequeue's call, its dequeue's return), for chain values.
        let mut links: Vec<(usize, usize, usize)> = enqueues
            .iter()
            .filter(|(_, (_, n))| *n == 1)
            .filter_map(|(v, (e, _))| match dequeues.get(v) {
                Some(&(_, 1, call, ret)) => Some((*e, call, ret)),
                _ => None,
            })
            .collect();
        links.sort_by_key(|&(_, _, ret)| ret);
        let returns: Vec<usize> = links.iter().map(|&(_, _, ret)| ret).collect();
        let mut out = vec![None; ops.len()];
        for (pos, &(e, call, _)) in links.iter().enumerate() {
            let needs = returns.partition_point(|&r| r < call);
            out[e] = Some((pos as u32, needs as u32));
        }
        out
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
