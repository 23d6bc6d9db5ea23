//! Jepsen's `jepsen.independent` histories for checkers that do not split by key themselves:
//! each client op's value is a tuple `[key value]`, and the ops of one key form a history of
//! their own. [`split_independent`] recognises such a history and returns one sub-history per
//! key, with the tuples unwrapped, the events' indices, times and lines kept (so anomalies
//! still point into the original file), and every nemesis event in each.

use super::{Event, History, HistoryError, Process};
use serde_json::Value;
use std::collections::BTreeMap;

/// The `[key inner]` of a tuple whose inner value is a transaction (a list of micro-op lists).
fn txn_tuple(value: &Value) -> Option<(&Value, &Value)> {
    match value.as_array().map(Vec::as_slice) {
        Some([key, inner @ Value::Array(mops)])
            if !key.is_array() && !key.is_object() && mops.iter().all(Value::is_array) =>
        {
            Some((key, inner))
        }
        _ => None,
    }
}

/// True when `value` is a `[key transaction]` tuple.
pub fn is_independent_txn(value: &Value) -> bool {
    txn_tuple(value).is_some()
}

/// True when some client op's value is a `[key transaction]` tuple.
pub fn has_independent_txns(history: &History) -> bool {
    history
        .ops
        .iter()
        .any(|op| txn_tuple(&history.events[op.invoke].value).is_some())
}

/// One sub-history per independent key, in key order, when every client op's value is a
/// `[key transaction]` tuple (an op whose completion carries no value takes its invocation's
/// key). `Ok(None)` when no op is such a tuple; an error naming the line of the first op that
/// is not one when only some are.
pub fn split_independent(history: &History) -> Result<Option<Vec<(Value, History)>>, HistoryError> {
    if !has_independent_txns(history) {
        return Ok(None);
    }
    let mut groups: BTreeMap<String, (Value, Vec<usize>)> = BTreeMap::new();
    for op in &history.ops {
        let invoke = &history.events[op.invoke];
        let tuple = txn_tuple(&invoke.value)
            .or_else(|| op.complete.and_then(|c| txn_tuple(&history.events[c].value)));
        let Some((key, _)) = tuple else {
            return Err(history.error_at(
                op.invoke,
                "other ops are jepsen.independent tuples [key transaction], this one is not: give every op a key, or none".to_string(),
            ));
        };
        let group = groups
            .entry(key.to_string())
            .or_insert_with(|| (key.clone(), Vec::new()));
        group.1.push(op.invoke);
        group.1.extend(op.complete);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (_, (key, mut positions)) in groups {
        positions.extend(history.nemesis.iter().copied());
        positions.sort_unstable();
        let events: Vec<Event> = positions
            .iter()
            .map(|&p| {
                let mut e = history.events[p].clone();
                if e.process != Process::Nemesis
                    && let Some((_, inner)) = txn_tuple(&e.value)
                {
                    e.value = inner.clone();
                }
                e
            })
            .collect();
        let mut sub = History::from_events(history.source.clone(), events)?;
        sub.skipped_lines = history.skipped_lines;
        out.push((key, sub));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;

    const TWO_KEYS: &str = r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[1,[["append","x",1]]]}
{"index":1,"process":1,"type":"invoke","f":"txn","value":[2,[["append","x",1]]]}
{"index":2,"process":0,"type":"ok","f":"txn","value":[1,[["append","x",1]]]}
{"index":3,"process":"nemesis","type":"info","f":"start-partition","value":null}
{"index":4,"process":1,"type":"info","f":"txn","value":null}
{"index":5,"process":0,"type":"invoke","f":"txn","value":[1,[["r","x",null]]]}
{"index":6,"process":0,"type":"ok","f":"txn","value":[1,[["r","x",[1]]]]}
"#;

    #[test]
    fn each_key_gets_its_ops_unwrapped_and_every_nemesis_event() {
        let h = History::parse("t.jsonl", TWO_KEYS, Format::Jsonl).unwrap();
        let split = split_independent(&h).unwrap().expect("tuples");
        assert_eq!(split.len(), 2);
        let (k1, h1) = &split[0];
        assert_eq!(k1, &serde_json::json!(1));
        assert_eq!(h1.ops.len(), 2);
        assert_eq!(h1.nemesis.len(), 1);
        assert_eq!(h1.events[0].value, serde_json::json!([["append", "x", 1]]));
        assert_eq!(
            h1.events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![0, 2, 3, 5, 6]
        );
        let (k2, h2) = &split[1];
        assert_eq!(k2, &serde_json::json!(2));
        assert_eq!(
            h2.ops.len(),
            1,
            "the info completion with no value stays with its invocation"
        );
        assert!(h2.ops[0].complete.is_some());
    }

    #[test]
    fn plain_transactions_are_not_split_and_a_mixture_is_an_error() {
        let plain = TWO_KEYS
            .replace("[1,[[", "[[")
            .replace("[2,[[", "[[")
            .replace("]]]}", "]]}");
        let h = History::parse("t.jsonl", &plain, Format::Jsonl).unwrap();
        assert!(split_independent(&h).unwrap().is_none());
        let mixed = TWO_KEYS.replacen("[2,[[\"append\",\"x\",1]]]", "[[\"append\",\"x\",1]]", 1);
        let h = History::parse("t.jsonl", &mixed, Format::Jsonl).unwrap();
        let e = split_independent(&h).unwrap_err().to_string();
        assert!(e.contains("t.jsonl:2"), "{e}");
    }
}

/// The history with every client op's `[key value]` tuple read as its `key` and `value` (what
/// `--independent` means for the models that group ops by key: set, set-full, counter, bank,
/// unordered-queue, long-fork). A completion with no value (an `info` that never answered)
/// takes its invocation's key. An op whose invocation is not such a tuple is an error at its
/// line.
pub fn keyed_by_tuples(history: &History) -> Result<History, HistoryError> {
    let tuple = |v: &Value| match v.as_array().map(Vec::as_slice) {
        Some([key, inner]) if !key.is_array() && !key.is_object() => Some((key.clone(), inner.clone())),
        _ => None,
    };
    let mut events = history.events.clone();
    for op in &history.ops {
        let Some((key, inner)) = tuple(&history.events[op.invoke].value) else {
            return Err(history.error_at(
                op.invoke,
                "--independent: this op's value is not a jepsen.independent tuple [key value]".to_string(),
            ));
        };
        events[op.invoke].key = Some(key.clone());
        events[op.invoke].value = inner;
        if let Some(c) = op.complete {
            let done = &mut events[c];
            match tuple(&done.value) {
                Some((k, v)) if k == key => done.value = v,
                Some(_) => {
                    return Err(history.error_at(
                        c,
                        "--independent: this completion names another key than its invocation".to_string(),
                    ));
                }
                None if done.value.is_null() => {}
                None => {
                    return Err(history.error_at(
                        c,
                        "--independent: this completion's value is not a jepsen.independent tuple [key value]".to_string(),
                    ));
                }
            }
            done.key = Some(key);
        }
    }
    let mut keyed = History::from_events(history.source.clone(), events)?;
    keyed.skipped_lines = history.skipped_lines;
    keyed.warnings = history.warnings.clone();
    Ok(keyed)
}

#[cfg(test)]
mod keyed_tests {
    use super::*;
    use crate::history::Format;

    #[test]
    fn tuples_become_keys_and_values() {
        let text = "{:type :invoke, :f :add, :value [1 5], :process 0}\n{:type :ok, :f :add, :value [1 5], :process 0}\n{:type :invoke, :f :read, :value [2 nil], :process 1}\n{:type :info, :f :read, :value nil, :process 1}\n";
        let h = History::parse("t.edn", text, Format::Edn).unwrap();
        let k = keyed_by_tuples(&h).unwrap();
        assert_eq!(k.ops[0].key, Some(serde_json::json!(1)));
        assert_eq!(k.events[k.ops[0].invoke].value, serde_json::json!(5));
        assert_eq!(k.events[k.ops[0].complete.unwrap()].value, serde_json::json!(5));
        assert_eq!(k.ops[1].key, Some(serde_json::json!(2)));
        let plain = History::parse(
            "t.edn",
            "{:type :invoke, :f :add, :value 5, :process 0}\n",
            Format::Edn,
        )
        .unwrap();
        let e = keyed_by_tuples(&plain).unwrap_err().to_string();
        assert!(
            e.contains("t.edn:1") && e.contains("not a jepsen.independent tuple"),
            "{e}"
        );
    }
}
