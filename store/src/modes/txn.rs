//! Runs a transaction of micro-ops against a node's locked local state.
//!
//! Types are checked first for the whole transaction (a `w` on a list key or an `append` on a
//! register key fails it before anything changes), then the micro-ops run in order, each seeing
//! the ones before it. Because the caller holds its state lock throughout, the transaction is
//! atomic on the node that runs it.

use super::OpResult;
use crate::error::ApiError;
use crate::ops::{MicroFn, MicroOp};
use serde_json::Value;
use std::collections::HashMap;

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Register,
    List,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Register => "a register",
            Kind::List => "a list",
        }
    }
}

/// A local state a transaction can run against. Writers stamp versions their own way.
pub trait LocalStore {
    /// What the key holds, if anything.
    fn kind(&self, key: &str) -> Option<Kind>;
    /// The key's value (null when absent) and version (null when absent).
    fn read(&self, key: &str) -> (Value, Value);
    /// Sets the key's register; returns the new version.
    fn write(&mut self, key: &str, value: Value) -> Value;
    /// Appends to the key's list; returns the new version.
    fn append(&mut self, key: &str, value: Value) -> Value;
}

/// Fails if any micro-op would use a key as the wrong type (accounting for earlier micro-ops).
pub fn check_types(store: &impl LocalStore, ops: &[MicroOp]) -> Result<(), ApiError> {
    let mut created: HashMap<&str, Kind> = HashMap::new();
    for op in ops {
        let wanted = match op.f {
            MicroFn::Read => continue,
            MicroFn::Write => Kind::Register,
            MicroFn::Append => Kind::List,
        };
        let holds = created
            .get(op.key.as_str())
            .copied()
            .or_else(|| store.kind(&op.key));
        match holds {
            Some(k) if k != wanted => {
                let verb = if wanted == Kind::Register {
                    "write a register value to"
                } else {
                    "append to"
                };
                return Err(ApiError::wrong_type(&op.key, k.name(), verb));
            }
            Some(_) => {}
            None => {
                created.insert(&op.key, wanted);
            }
        }
    }
    Ok(())
}

/// Runs the micro-ops in order (types must have been checked). For reads the result is the value
/// read; for writes and appends, the argument.
pub fn run(store: &mut impl LocalStore, ops: &[MicroOp]) -> Vec<OpResult> {
    ops.iter()
        .map(|op| match op.f {
            MicroFn::Read => {
                let (value, version) = store.read(&op.key);
                OpResult { value, version }
            }
            MicroFn::Write => OpResult {
                version: store.write(&op.key, op.value.clone()),
                value: op.value.clone(),
            },
            MicroFn::Append => OpResult {
                version: store.append(&op.key, op.value.clone()),
                value: op.value.clone(),
            },
        })
        .collect()
}

/// Checks a compare-and-set against the store: the key must hold a register (or nothing, which
/// reads as null) whose value equals `from`.
pub fn check_cas(store: &impl LocalStore, key: &str, from: &Value) -> Result<(), ApiError> {
    if store.kind(key) == Some(Kind::List) {
        return Err(ApiError::wrong_type(key, "a list", "compare-and-set"));
    }
    let (current, _) = store.read(key);
    if &current != from {
        return Err(ApiError::cas_mismatch(key, from, &current));
    }
    Ok(())
}
