//! A failing key's evidence in words and JSON: the longest linearizable prefix the search
//! found, the state it left, the operation that cannot take effect next and why, and the
//! operations overlapping it in time. Same shape as the register checkers' (`linear::explain`):
//! the anomaly kind is `nonlinearizable` and the details name the same fields.

use super::prepare::KeyOps;
use super::search::SearchOp;
use super::spec::Spec;
use crate::history::{History, Outcome};
use crate::linear::KeyFailure;
use crate::plain::when;
use crate::report::Anomaly;
use serde_json::{Value, json};

/// Operations overlapping the culprit named in the text; the JSON lists them all.
const NAMED_OVERLAPS: usize = 4;

/// What the search handed back for a failing key.
pub(crate) struct Found<'a, St> {
    pub longest: &'a [usize],
    pub culprit: usize,
    pub state: &'a St,
    pub configurations: u64,
}

/// The key in prose: a string key itself, `key 7`, or the model's object when none.
pub(crate) fn key_label(key: &Option<Value>, object: &str) -> String {
    match key {
        None => object.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => format!("key {v}"),
    }
}

/// "process 3: enqueue 5 (invoked at t=1.000s (line 4), ok at t=1.2s (line 6))".
fn describe<S: Spec>(history: &History, spec: &S, o: &SearchOp<S::Op>) -> String {
    let h = &history.ops[o.id];
    let done = match (h.outcome, h.complete) {
        (Outcome::Info, Some(c)) => format!(", info (outcome unknown) {}", when(history, c)),
        (_, Some(c)) => format!(", {} {}", history.events[c].kind, when(history, c)),
        (_, None) => ", never completed".to_string(),
    };
    format!(
        "process {}: {} (invoked {}{done})",
        h.process,
        spec.describe_op(&o.op),
        when(history, o.call)
    )
}

fn op_json<O>(history: &History, o: &SearchOp<O>) -> Value {
    let h = &history.ops[o.id];
    let inv = &history.events[h.invoke];
    let done = h.complete.map(|c| &history.events[c]);
    json!({
        "process": h.process,
        "f": h.f,
        "value": history.value(h),
        "type": h.outcome,
        "invoke_index": inv.index,
        "complete_index": done.map(|e| e.index),
        "invoke_line": inv.line,
        "complete_line": done.map(|e| e.line),
        "invoke_time": inv.time,
        "complete_time": done.and_then(|e| e.time),
    })
}

/// The evidence for one failing key.
pub(crate) fn explain<S: Spec>(
    history: &History,
    model: &str,
    object: &str,
    key: &KeyOps<S, S::Op>,
    found: &Found<'_, S::State>,
) -> (KeyFailure, Anomaly) {
    let spec = &key.context;
    let k = key_label(&key.key, object);
    let x = &key.ops[found.culprit];
    let x_ret = x.ret.unwrap_or(usize::MAX);
    let concurrent: Vec<&SearchOp<S::Op>> = key
        .ops
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != found.culprit && o.call < x_ret && o.ret.is_none_or(|r| r > x.call))
        .map(|(_, o)| o)
        .collect();
    let mut steps = Vec::new();
    let last = match found.longest.last() {
        Some(&i) => format!(
            ", the last to take effect being: {}",
            describe(history, spec, &key.ops[i])
        ),
        None => String::new(),
    };
    steps.push(format!(
        "The longest linearizable prefix found orders {} of the {} operations on {k} (listed in the JSON details); after it, {}{last}.",
        found.longest.len(),
        key.ops.len(),
        spec.describe_state(found.state)
    ));
    steps.push(format!(
        "Next, {}: it must take effect before it completed, but it cannot after that prefix: {}.",
        describe(history, spec, x),
        spec.why_not(found.state, &x.op)
    ));
    let overlap = match concurrent.len() {
        0 => "No other operation overlaps it in time, so none could have taken effect just before it"
            .to_string(),
        n => {
            let named: Vec<String> = concurrent
                .iter()
                .take(NAMED_OVERLAPS)
                .map(|o| describe(history, spec, o))
                .collect();
            let more = if n > NAMED_OVERLAPS {
                format!(", and {} more (in the JSON details)", n - NAMED_OVERLAPS)
            } else {
                String::new()
            };
            format!(
                "{n} operation{} overlap{} it in time: {}{more}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                named.join("; ")
            )
        }
    };
    steps.push(format!(
        "{overlap}. The search tried every order of the operations that real time allows ({} configurations), and in none can every acknowledged operation take effect.",
        found.configurations
    ));
    steps.push(format!("So the history of {k} is not linearizable as a {model}."));
    let mut events = vec![history.events[x.call].index];
    if let Some(c) = history.ops[x.id].complete {
        events.push(history.events[c].index);
    }
    events.extend(concurrent.iter().map(|o| history.events[o.call].index));
    let state = spec.state_json(found.state);
    let details = json!({
        "key": key.key,
        "culprit": op_json(history, x),
        "concurrent": concurrent.iter().map(|o| op_json(history, o)).collect::<Vec<_>>(),
        "longest_linearization": found.longest.iter().map(|&i| op_json(history, &key.ops[i])).collect::<Vec<_>>(),
        "state_after_longest": state,
        "operations": key.ops.len(),
        "dropped_operations": key.dropped,
    });
    let failure = KeyFailure {
        key: key.key.clone(),
        ops: key.ops.iter().map(|o| o.id).collect(),
        culprit: x.id,
        concurrent: concurrent.iter().map(|o| o.id).collect(),
        longest: found.longest.iter().map(|&i| key.ops[i].id).collect(),
        state,
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
