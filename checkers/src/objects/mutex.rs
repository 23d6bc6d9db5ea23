//! Knossos's `mutex`: one lock per key, `:acquire` and `:release` (values ignored). Acquiring
//! a held lock or releasing a free one is inconsistent; the lock starts free. As in Knossos,
//! the model does not track which process holds the lock, only whether it is held.

use super::prepare::{KeyOps, ShapeError, Shaped, unknown_f};
use super::spec::Spec;
use serde_json::{Value, json};

/// A mutex operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MutexOp {
    Acquire,
    Release,
}

/// The mutex model (no per-key context: it has no values).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mutex;

/// Compiles one operation: its `f` must be `acquire` or `release`.
pub(crate) fn compile(_: &mut Mutex, s: &Shaped<'_>) -> Result<MutexOp, ShapeError> {
    match s.op.f.as_str() {
        "acquire" => Ok(MutexOp::Acquire),
        "release" => Ok(MutexOp::Release),
        other => Err(unknown_f(other, "mutex", "acquire, release", "")),
    }
}

/// Leaves out the `info` acquires after whose invocation no `ok` release returns, and the
/// `info` releases after whose invocation no `ok` acquire returns.
///
/// Exact. Leaving an `info` operation out can never make an invalid history valid (it may never
/// have taken effect). Conversely, take a linearization placing such an acquire A. The lock is
/// held after A, so the next operation placed after A, if any, is a release R; R is linearized
/// after A's invocation, so it returns (if ever) after it, so it is not `ok`: it is `info`.
/// Removing A and R leaves the lock free before and after the pair, so every other operation
/// sees the same state, and real time only loses constraints. A dropped release is the mirror
/// image (free after it; the next operation is an `info` acquire). The conditions name `ok`
/// operations only, which are never removed, so the removals can be made one after another.
/// Without this, each such `info` operation stays a candidate at every level of the search.
pub(crate) fn drop_unobserved(key: &mut KeyOps<Mutex, MutexOp>) -> usize {
    let last_ok = |of: MutexOp| key.ops.iter().filter(|o| o.op == of).filter_map(|o| o.ret).max();
    let (last_acquire, last_release) = (last_ok(MutexOp::Acquire), last_ok(MutexOp::Release));
    let before = key.ops.len();
    key.ops.retain(|o| {
        let partner = match o.op {
            MutexOp::Acquire => last_release,
            MutexOp::Release => last_acquire,
        };
        o.ret.is_some() || partner.is_some_and(|r| r > o.call)
    });
    before - key.ops.len()
}

impl Spec for Mutex {
    /// Whether the lock is held.
    type State = bool;
    type Op = MutexOp;

    fn init(&self) -> bool {
        false
    }

    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match (op, held) {
            (MutexOp::Acquire, false) => Some(true),
            (MutexOp::Release, true) => Some(false),
            _ => None,
        }
    }

    fn describe_op(&self, op: &MutexOp) -> String {
        match op {
            MutexOp::Acquire => "acquire the lock".into(),
            MutexOp::Release => "release the lock".into(),
        }
    }

    fn describe_state(&self, held: &bool) -> String {
        if *held {
            "the lock is held"
        } else {
            "the lock is free"
        }
        .into()
    }

    fn state_json(&self, held: &bool) -> Value {
        json!({ "held": held })
    }

    fn why_not(&self, held: &bool, op: &MutexOp) -> String {
        match op {
            MutexOp::Acquire if *held => {
                "the lock is already held: acquiring it again is inconsistent".into()
            }
            MutexOp::Release if !*held => "the lock is free: releasing it is inconsistent".into(),
            _ => "the model accepts it here".into(),
        }
    }
}
