//! Performs a generated operation against the system under test: asks the node its routing
//! policy picks (see [`super::routing`]), retries definite refusals at another node within the
//! operation (following `not_leader` hints), and turns the answer into the completion the
//! history records. An absent key reads as its object's empty value (null, `[]` or 0).

use super::counter_add;
use super::routing::{Access, Attempt, Routing, Session};
use crate::client::{Failure, Outcome};
use crate::systems::SystemClient;
use crate::workload::generator::{GenOp, KeyObject};
use faultline_checkers::history::EventKind;
use serde_json::{Map, Value};

/// The completion to record for an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub kind: EventKind,
    pub value: Value,
    /// `node` that served it; `error` for fail / info.
    pub extra: Map<String, Value>,
}

/// Reads (served per the read policy) and writes (everything else, which may change state).
pub fn access_of(op: &GenOp) -> Access {
    let read_only_txn = op.f == "txn"
        && op
            .value
            .as_array()
            .is_some_and(|ops| ops.iter().all(|m| m.get(0).and_then(Value::as_str) == Some("r")));
    if op.f == "read" || read_only_txn {
        Access::Read
    } else {
        Access::Write
    }
}

/// Performs `op` (first at `target`, if given and the attempt need not reach the leader) and
/// returns its completion. A definite refusal (nothing happened) is retried at the node the
/// routing names next, each node at most once; a timeout is recorded as it is (`info`) and
/// makes the node a suspect for the next operations. A counter's `add` is several requests
/// ([`counter_add::perform`]).
pub async fn execute(
    client: &dyn SystemClient,
    routing: &Routing,
    session: &mut Session,
    op: &GenOp,
    target: Option<usize>,
) -> Completion {
    if op.f == "add" && op.object == KeyObject::Counter {
        return counter_add::perform(client, routing, session, op).await;
    }
    let access = access_of(op);
    let mut attempt = routing.first_attempt(access, session);
    if let Some(node) = target
        && !attempt.to_leader
    {
        attempt.node = node;
    }
    let outcome = attempts(client, routing, session, op, access, attempt).await;
    completion(op, outcome)
}

/// Performs `op` from `attempt` on: a definite refusal is retried where the routing says, each
/// node at most once; returns the last outcome.
pub async fn attempts(
    client: &dyn SystemClient,
    routing: &Routing,
    session: &mut Session,
    op: &GenOp,
    access: Access,
    mut attempt: Attempt,
) -> Outcome {
    let mut tried = vec![false; routing.ids.len()];
    loop {
        tried[attempt.node] = true;
        let outcome = client.invoke(attempt.node, op, &attempt.opts).await;
        match &outcome {
            Outcome::Ok(s) => routing.observe_ok(&attempt, access, s.pos, session),
            Outcome::Info(failure) => routing.observe_info(&attempt, failure),
            Outcome::Fail(failure) => {
                if let Some(next) = routing.next_attempt(&attempt, failure, &tried) {
                    attempt = next;
                    continue;
                }
            }
        }
        return outcome;
    }
}

fn completion(op: &GenOp, outcome: Outcome) -> Completion {
    let mut extra = Map::new();
    match outcome {
        Outcome::Ok(s) => {
            extra.insert("node".into(), Value::from(s.node));
            let value = match op.f {
                "read" if s.value.is_null() => op.object.empty(),
                "read" => s.value,
                "txn" => Value::Array(s.ops),
                _ => op.value.clone(),
            };
            Completion {
                kind: EventKind::Ok,
                value,
                extra,
            }
        }
        Outcome::Fail(f) => failed(EventKind::Fail, op, f, extra),
        Outcome::Info(f) => failed(EventKind::Info, op, f, extra),
    }
}

/// The completion of a failed operation: its own value, the node and the error.
pub fn failed(kind: EventKind, op: &GenOp, f: Failure, mut extra: Map<String, Value>) -> Completion {
    if let Some(node) = f.node {
        extra.insert("node".into(), Value::from(node));
    }
    extra.insert("error".into(), Value::from(format!("{}: {}", f.code, f.message)));
    Completion {
        kind,
        value: op.value.clone(),
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(f: &'static str, value: Value) -> GenOp {
        GenOp {
            f,
            key: Some(1),
            value,
            object: Default::default(),
        }
    }

    #[test]
    fn reads_and_read_only_transactions_are_reads() {
        assert_eq!(access_of(&op("read", Value::Null)), Access::Read);
        assert_eq!(access_of(&op("cas", json!([1, 2]))), Access::Write);
        assert_eq!(access_of(&op("txn", json!([["r", 1, null]]))), Access::Read);
        assert_eq!(
            access_of(&op("txn", json!([["r", 1, null], ["append", 1, 3]]))),
            Access::Write
        );
    }

    #[test]
    fn completions_carry_what_the_history_needs() {
        let f = Failure {
            node: Some("n2".into()),
            code: "timeout".into(),
            message: "no acks".into(),
            leader: None,
            status: Some(504),
        };
        let c = completion(&op("cas", json!([1, 2])), Outcome::Info(f));
        assert_eq!(c.kind, EventKind::Info);
        assert_eq!(c.value, json!([1, 2]));
        assert_eq!(c.extra["error"], "timeout: no acks");
        assert_eq!(c.extra["node"], "n2");
    }
}
