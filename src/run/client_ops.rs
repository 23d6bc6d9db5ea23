//! Performs a generated operation against the store: picks the node to ask (leader, home node
//! or a random node, per the cluster's design and read routing), follows `not_leader` hints,
//! and turns the store's answer into the completion the history records.

use crate::client::{Failure, Options, Outcome, StoreClient};
use crate::workload::generator::GenOp;
use crate::workload::{ReadRouting, StoreMode};
use faultline_checkers::history::EventKind;
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// No leader known.
const NO_LEADER: usize = usize::MAX;

/// How clients reach the cluster; shared by every client.
pub struct Routing {
    pub mode: StoreMode,
    pub reads: ReadRouting,
    pub ids: Vec<String>,
    /// The node clients believe leads (single-leader), learnt from `not_leader` answers.
    leader_hint: AtomicUsize,
}

impl Routing {
    pub fn new(mode: StoreMode, reads: ReadRouting, ids: Vec<String>) -> Arc<Routing> {
        Arc::new(Routing {
            mode,
            reads,
            ids,
            leader_hint: AtomicUsize::new(NO_LEADER),
        })
    }

    fn leader(&self) -> Option<usize> {
        let l = self.leader_hint.load(Ordering::Relaxed);
        (l != NO_LEADER).then_some(l)
    }

    /// Records which node is believed to lead.
    pub fn set_leader(&self, node: Option<usize>) {
        self.leader_hint
            .store(node.unwrap_or(NO_LEADER), Ordering::Relaxed);
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }
}

/// One client's session: its process id, home node, and the log position of its last write.
pub struct Session {
    pub process: u64,
    pub home: usize,
    pub last_write_pos: Option<u64>,
    pub rng: Xoshiro256PlusPlus,
}

/// The completion to record for an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub kind: EventKind,
    pub value: Value,
    /// `node` that served it; `error` for fail / info.
    pub extra: Map<String, Value>,
}

/// Where a request goes first, and with which options.
fn route(op: &GenOp, routing: &Routing, session: &mut Session) -> (usize, Options) {
    let n = routing.ids.len();
    let is_read = op.f == "read" || (op.f == "txn" && read_only(&op.value));
    let mut opts = Options::default();
    let node = match routing.mode {
        StoreMode::SingleLeader => match (is_read, routing.reads) {
            (true, ReadRouting::Any) => {
                opts.read = Some("any".into());
                session.rng.random_range(0..n)
            }
            (true, ReadRouting::ReadYourWrites) => {
                opts.read = Some("any".into());
                opts.after = session.last_write_pos;
                session.rng.random_range(0..n)
            }
            _ => {
                if is_read {
                    opts.read = Some("leader".into());
                }
                routing.leader().unwrap_or(session.home)
            }
        },
        StoreMode::MultiLeader | StoreMode::Leaderless => session.home,
    };
    (node, opts)
}

fn read_only(micro_ops: &Value) -> bool {
    micro_ops
        .as_array()
        .is_some_and(|ops| ops.iter().all(|m| m.get(0).and_then(Value::as_str) == Some("r")))
}

/// Performs `op` and returns its completion. Definite refusals that say where to go instead
/// are followed within the one operation: `not_leader` to the named leader, and a node that
/// cannot be connected to (down: nothing happened) to the next node.
pub async fn execute(
    client: &StoreClient,
    routing: &Routing,
    session: &mut Session,
    op: &GenOp,
) -> Completion {
    let n = routing.ids.len();
    let (mut node, opts) = route(op, routing, session);
    let mut outcome = call(client, &routing.ids[node], op, &opts).await;
    for _ in 0..n + 2 {
        let Outcome::Fail(Failure { code, leader, .. }) = &outcome else {
            break;
        };
        let next = match code.as_str() {
            "connect" => {
                if routing.leader() == Some(node) {
                    routing.set_leader(None);
                }
                (node + 1) % n
            }
            "not_leader" => match leader.as_deref().and_then(|l| routing.index_of(l)) {
                Some(l) if l != node => {
                    routing.set_leader(Some(l));
                    l
                }
                _ => break,
            },
            _ => break,
        };
        node = next;
        outcome = call(client, &routing.ids[node], op, &opts).await;
    }
    if let Outcome::Ok(s) = &outcome
        && routing.mode == StoreMode::SingleLeader
        && op.f != "read"
        && !read_only(&op.value)
    {
        session.last_write_pos = Some(s.pos.max(session.last_write_pos.unwrap_or(0)));
        routing.set_leader(routing.index_of(&s.node));
    }
    completion(op, outcome)
}

async fn call(client: &StoreClient, node: &str, op: &GenOp, opts: &Options) -> Outcome {
    let key = op.key.map(|k| k.to_string()).unwrap_or_default();
    match op.f {
        "read" => client.read(node, &key, opts).await,
        "write" => client.write(node, &key, op.value.clone(), opts).await,
        "cas" => {
            let from = op.value.get(0).cloned().unwrap_or(Value::Null);
            let to = op.value.get(1).cloned().unwrap_or(Value::Null);
            client.cas(node, &key, from, to, opts).await
        }
        _ => client.txn(node, op.value.clone(), opts).await,
    }
}

fn completion(op: &GenOp, outcome: Outcome) -> Completion {
    let mut extra = Map::new();
    match outcome {
        Outcome::Ok(s) => {
            extra.insert("node".into(), Value::from(s.node));
            let value = match op.f {
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

fn failed(kind: EventKind, op: &GenOp, f: Failure, mut extra: Map<String, Value>) -> Completion {
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
    use rand::SeedableRng;
    use serde_json::json;

    fn session() -> Session {
        Session {
            process: 0,
            home: 1,
            last_write_pos: Some(7),
            rng: Xoshiro256PlusPlus::seed_from_u64(1),
        }
    }

    fn op(f: &'static str, value: Value) -> GenOp {
        GenOp {
            f,
            key: Some(1),
            value,
        }
    }

    #[test]
    fn routes_by_design_and_read_mode() {
        let ids = vec!["n1".into(), "n2".into(), "n3".into()];
        let r = Routing::new(StoreMode::SingleLeader, ReadRouting::ReadYourWrites, ids.clone());
        r.set_leader(Some(2));
        let (node, opts) = route(&op("write", json!(3)), &r, &mut session());
        assert_eq!((node, opts.read, opts.after), (2, None, None));
        let (_, opts) = route(&op("read", Value::Null), &r, &mut session());
        assert_eq!((opts.read.as_deref(), opts.after), (Some("any"), Some(7)));
        let txn = GenOp {
            f: "txn",
            key: None,
            value: json!([["r", 1, null]]),
        };
        assert_eq!(route(&txn, &r, &mut session()).1.read.as_deref(), Some("any"));
        let r = Routing::new(StoreMode::SingleLeader, ReadRouting::Leader, ids.clone());
        let (node, opts) = route(&op("read", Value::Null), &r, &mut session());
        assert_eq!(
            (node, opts.read.as_deref()),
            (1, Some("leader")),
            "no leader known: ask the home node"
        );
        let r = Routing::new(StoreMode::Leaderless, ReadRouting::Leader, ids);
        assert_eq!(route(&op("write", json!(1)), &r, &mut session()).0, 1);
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
