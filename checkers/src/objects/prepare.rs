//! From a history to the search's input: each client operation's key, input and output, in
//! the shape Jepsen records them, grouped by key.
//!
//! A key is the native `key` field, or with `independent` the first element of a Jepsen
//! `jepsen.independent` `[key value]` tuple. Outcomes are Jepsen's: `ok` took effect (its
//! completion's value is what it returned), `fail` did not (dropped here), `info` and never
//! completed may take effect at any point after the invocation, or never (no output known).

use super::search::SearchOp;
use crate::history::{History, HistoryError, Operation, Outcome, quote};
use serde_json::Value;
use std::collections::BTreeMap;

/// One operation as a model compiles it.
pub(crate) struct Shaped<'h> {
    /// The operation.
    pub op: &'h Operation,
    /// What was invoked (the tuple's value with `independent`).
    pub argument: &'h Value,
    /// What an `ok` operation returned; `None` when it is `info` (unknown).
    pub result: Option<&'h Value>,
}

/// Where a model found a shape it does not accept.
pub(crate) enum ShapeError {
    /// In the invocation.
    Invocation(String),
    /// In the completion.
    Completion(String),
}

/// The operations of one key, ready for the search, with the model's per-key context.
pub(crate) struct KeyOps<C, O> {
    /// The key; `None` when the history names none.
    pub key: Option<Value>,
    /// The model's context for this key (interned values).
    pub context: C,
    /// Operations in invocation order.
    pub ops: Vec<SearchOp<O>>,
    /// Failed operations left out.
    pub dropped: usize,
}

fn split_tuple(v: &Value) -> Option<(&Value, &Value)> {
    match v.as_array().map(Vec::as_slice) {
        Some([k, inner]) => Some((k, inner)),
        _ => None,
    }
}

/// Groups `history`'s client operations by key and compiles each with `compile`, which gets
/// the key's context and returns the compiled op. Failed operations are dropped.
pub(crate) fn group<C: Default, O>(
    history: &History,
    model: &str,
    independent: bool,
    mut compile: impl FnMut(&mut C, &Shaped<'_>) -> Result<O, ShapeError>,
) -> Result<Vec<KeyOps<C, O>>, HistoryError> {
    if history.completion_only {
        return Err(HistoryError::whole(
            &history.source,
            format!(
                "no op is an invocation (a completion-only history): linearizability needs when each operation was invoked as well as when it completed, so {model} cannot check it; record invocations"
            ),
        ));
    }
    let mut keys: BTreeMap<String, KeyOps<C, O>> = BTreeMap::new();
    for op in &history.ops {
        let invocation = history.invocation(op);
        let completion = history.completion(op).filter(|_| op.outcome == Outcome::Ok);
        let (key, argument, result) = if independent {
            let tuple_error = |v: &Value| {
                format!(
                    "with --independent, a value must be a [key value] tuple, found {}",
                    quote(v)
                )
            };
            let (k, argument) = split_tuple(&invocation.value)
                .ok_or_else(|| history.error_at(op.invoke, tuple_error(&invocation.value)))?;
            let result = match (completion, op.complete) {
                (Some(c), Some(pos)) => {
                    let (ck, v) =
                        split_tuple(&c.value).ok_or_else(|| history.error_at(pos, tuple_error(&c.value)))?;
                    if ck != k {
                        return Err(history.error_at(
                            pos,
                            format!(
                                "the completion is for key {} but its invocation on line {} was for key {}",
                                quote(ck),
                                invocation.line,
                                quote(k)
                            ),
                        ));
                    }
                    Some(v)
                }
                _ => None,
            };
            (Some(k.clone()).filter(|k| !k.is_null()), argument, result)
        } else {
            (
                op.key.clone().filter(|k| !k.is_null()),
                &invocation.value,
                completion.map(|c| &c.value),
            )
        };
        let label = key.as_ref().map_or_else(String::new, Value::to_string);
        let entry = keys.entry(label).or_insert_with(|| KeyOps {
            key,
            context: C::default(),
            ops: Vec::new(),
            dropped: 0,
        });
        let shaped = Shaped { op, argument, result };
        let compiled = compile(&mut entry.context, &shaped).map_err(|e| match (e, op.complete) {
            (ShapeError::Completion(m), Some(pos)) => history.error_at(pos, m),
            (ShapeError::Completion(m) | ShapeError::Invocation(m), _) => history.error_at(op.invoke, m),
        })?;
        if op.outcome == Outcome::Fail {
            entry.dropped += 1;
            continue;
        }
        entry.ops.push(SearchOp {
            op: compiled,
            id: op.id,
            call: op.invoke,
            ret: match op.outcome {
                Outcome::Ok => op.complete,
                _ => None,
            },
        });
    }
    Ok(keys.into_values().collect())
}

/// The error for an `f` the model does not know.
pub(crate) fn unknown_f(f: &str, model: &str, expected: &str, hint: &str) -> ShapeError {
    ShapeError::Invocation(format!(
        "f=\"{f}\" is not an operation of the {model} model (expected {expected}){hint}"
    ))
}
