//! Knossos's `mutex`: one lock per key, `:acquire` and `:release` (values ignored). Acquiring
//! a held lock or releasing a free one is inconsistent; the lock starts free. As in Knossos,
//! the model does not track which process holds the lock, only whether it is held.

use super::prepare::{ShapeError, Shaped, unknown_f};
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
