//! A counter's `add n` over a store of registers, as a client does it: read the key's register
//! (absent: 0), then compare-and-set it from the value read to that value plus n. A
//! compare-and-set refused because the value changed in between (`cas_mismatch`) did nothing,
//! so the add reads again and retries, at most [`MAX_CAS_TRIES`] times.
//!
//! The add's completion follows the history's rule: `ok` when one of its compare-and-sets was
//! acknowledged; `info` when one may have taken effect (no answer in time, or an answer that
//! says the outcome is unknown), and then it is not retried, since a second one could add n
//! twice; `fail` only when none can have: every compare-and-set was refused definitely, or a
//! read failed before the next one was sent.

use super::client_ops::{Completion, attempts, failed};
use super::routing::{Access, Attempt, Routing, Session};
use crate::client::{Failure, Options, Outcome};
use crate::systems::SystemClient;
use crate::workload::StoreMode;
use crate::workload::generator::{GenOp, KeyObject};
use faultline_checkers::history::EventKind;
use rand::RngExt;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Compare-and-sets one add tries before it gives up (`fail`: none took effect).
pub const MAX_CAS_TRIES: u64 = 10;

/// Performs the counter add `op` (its value is the amount) and returns its completion.
pub async fn perform(
    client: &dyn SystemClient,
    routing: &Routing,
    session: &mut Session,
    op: &GenOp,
) -> Completion {
    let Some(amount) = op.value.as_i64() else {
        return give_up(op, "bad_request", "an add's amount must be a 64-bit integer", 0);
    };
    for tries in 1..=MAX_CAS_TRIES {
        // Both requests go where a write goes (the leader, in single-leader mode): the value
        // the compare-and-set expects must come from where it is decided.
        let first = routing.first_attempt(Access::Write, session);
        let read = GenOp {
            f: "read",
            key: op.key,
            value: Value::Null,
            object: KeyObject::Counter,
        };
        let read_attempt = Attempt {
            opts: read_options(routing.mode),
            ..first.clone()
        };
        let served = match attempts(client, routing, session, &read, Access::Read, read_attempt).await {
            Outcome::Ok(s) => s,
            // A read changes nothing, and every earlier compare-and-set was refused.
            Outcome::Fail(f) | Outcome::Info(f) => return refused(op, f, "reading the counter", tries - 1),
        };
        let current = if served.value.is_null() {
            Some(0)
        } else {
            served.value.as_i64()
        };
        let Some(next) = current.and_then(|c| c.checked_add(amount)) else {
            let message = format!(
                "the key holds {}, which is not a counter that can take {amount} more",
                served.value
            );
            return give_up(op, "not_a_counter", &message, tries - 1);
        };
        let cas = GenOp {
            f: "cas",
            key: op.key,
            value: json!([served.value, next]),
            object: KeyObject::Counter,
        };
        let cas_attempt = Attempt {
            node: routing.index_of(&served.node).unwrap_or(first.node),
            opts: Options::default(),
            to_leader: first.to_leader,
        };
        match attempts(client, routing, session, &cas, Access::Write, cas_attempt).await {
            Outcome::Ok(s) => {
                let mut extra = Map::new();
                extra.insert("node".into(), Value::from(s.node));
                extra.insert("tries".into(), Value::from(tries));
                return Completion {
                    kind: EventKind::Ok,
                    value: op.value.clone(),
                    extra,
                };
            }
            Outcome::Info(f) => return with_tries(failed(EventKind::Info, op, f, Map::new()), tries),
            Outcome::Fail(f) if f.code == "cas_mismatch" => {
                // Someone else's add came in between; back off a little and read again.
                let pause = session.rng.random_range(0..=2 * tries);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Outcome::Fail(f) => return refused(op, f, "compare-and-set", tries),
        }
    }
    give_up(
        op,
        "contention",
        &format!("{MAX_CAS_TRIES} compare-and-sets were refused because the value changed each time"),
        MAX_CAS_TRIES,
    )
}

/// The read options of the read before a compare-and-set: at the leader in single-leader mode
/// (where the compare-and-set is decided), the node's default elsewhere.
fn read_options(mode: StoreMode) -> Options {
    match mode {
        StoreMode::SingleLeader => Options {
            read: Some("leader".into()),
            ..Options::default()
        },
        _ => Options::default(),
    }
}

/// `fail`: a definite refusal (or a failed read) while no compare-and-set of the add can have
/// taken effect.
fn refused(op: &GenOp, f: Failure, during: &str, tries: u64) -> Completion {
    let f = Failure {
        message: format!("{during}: {}", f.message),
        ..f
    };
    with_tries(failed(EventKind::Fail, op, f, Map::new()), tries)
}

fn give_up(op: &GenOp, code: &str, message: &str, tries: u64) -> Completion {
    let f = Failure {
        node: None,
        code: code.into(),
        message: message.into(),
        leader: None,
        status: None,
    };
    with_tries(failed(EventKind::Fail, op, f, Map::new()), tries)
}

/// Records how many compare-and-sets the add sent.
fn with_tries(mut c: Completion, tries: u64) -> Completion {
    c.extra.insert("tries".into(), Value::from(tries));
    c
}

#[cfg(test)]
mod tests {
    //! The outcome rule, over scripted answers: a real store cannot be made to answer a
    //! compare-and-set with a timeout on demand (the end-to-end runs in `tests/` use real
    //! nodes).
    use super::*;
    use crate::client::Success;
    use crate::systems::BoxFuture;
    use crate::workload::Workload;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;
    use std::sync::Mutex;

    /// Answers requests from a script, and records them as `(node, f, value)`.
    struct Scripted {
        answers: Mutex<Vec<Outcome>>,
        asked: Mutex<Vec<(usize, &'static str, Value)>>,
    }

    impl SystemClient for Scripted {
        fn invoke<'a>(&'a self, node: usize, op: &'a GenOp, _: &'a Options) -> BoxFuture<'a, Outcome> {
            self.asked.lock().unwrap().push((node, op.f, op.value.clone()));
            let answer = self.answers.lock().unwrap().remove(0);
            Box::pin(async move { answer })
        }
    }

    fn ok(node: &str, value: Value) -> Outcome {
        Outcome::Ok(Success {
            node: node.into(),
            pos: 1,
            value,
            version: Value::Null,
            ops: Vec::new(),
            versions: Vec::new(),
        })
    }

    fn failure(code: &str) -> Failure {
        Failure {
            node: Some("n2".into()),
            code: code.into(),
            message: "m".into(),
            leader: None,
            status: Some(500),
        }
    }

    /// Runs an add of `amount` (multi-leader, so no leader is looked for) over `answers`.
    fn add(amount: i64, answers: Vec<Outcome>) -> (Completion, Vec<(usize, &'static str, Value)>) {
        let text = "name = \"t\"\n[cluster]\nmode = \"multi-leader\"\n[routing]\npolicy = \"any\"\n\
                    [generator]\nkind = \"counter\"\n[run]\ntime_limit = \"5s\"\n\
                    [check]\ncheckers = [\"counter\"]\n[expect]\nverdict = \"valid\"\n";
        let w = Workload::parse("t.toml", text).unwrap();
        let routing = Routing::new(&w, vec!["n1".into(), "n2".into(), "n3".into()]);
        let mut session = Session::new(0, 0, Xoshiro256PlusPlus::seed_from_u64(1));
        let client = Scripted {
            answers: Mutex::new(answers),
            asked: Mutex::new(Vec::new()),
        };
        let op = GenOp {
            f: "add",
            key: Some(0),
            value: json!(amount),
            object: KeyObject::Counter,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let c = runtime.block_on(perform(&client, &routing, &mut session, &op));
        (c, client.asked.into_inner().unwrap())
    }

    #[test]
    fn an_add_reads_then_sets_from_the_value_read_at_the_node_that_served_it() {
        let (c, asked) = add(3, vec![ok("n2", Value::Null), ok("n2", json!(3))]);
        assert_eq!((c.kind, &c.value), (EventKind::Ok, &json!(3)));
        assert_eq!(c.extra["tries"], 1);
        assert_eq!(asked[0].1, "read");
        assert_eq!(asked[1], (1, "cas", json!([null, 3])), "absent reads as 0");
    }

    #[test]
    fn a_refusal_because_the_value_changed_is_retried_with_a_fresh_read() {
        let (c, asked) = add(
            -2,
            vec![
                ok("n1", json!(5)),
                Outcome::Fail(failure("cas_mismatch")),
                ok("n1", json!(7)),
                ok("n1", json!(5)),
            ],
        );
        assert_eq!(c.kind, EventKind::Ok);
        assert_eq!(c.extra["tries"], 2);
        assert_eq!(asked[1].2, json!([5, 3]));
        assert_eq!(asked[3].2, json!([7, 5]));
    }

    #[test]
    fn an_unknown_cas_makes_the_add_info_and_is_never_retried() {
        let (c, asked) = add(
            1,
            vec![
                ok("n1", json!(5)),
                Outcome::Fail(failure("cas_mismatch")),
                ok("n1", json!(6)),
                Outcome::Info(failure("timeout")),
            ],
        );
        assert_eq!(c.kind, EventKind::Info);
        assert_eq!(asked.len(), 4, "nothing sent after the unknown outcome");
    }

    #[test]
    fn an_add_fails_only_when_no_cas_of_it_can_have_taken_effect() {
        // The read times out: nothing was written.
        let (c, _) = add(1, vec![Outcome::Info(failure("timeout"))]);
        assert_eq!(c.kind, EventKind::Fail);
        // A definite refusal of the cas, not a value change: not retried, fail.
        let (c, asked) = add(1, vec![ok("n1", json!(1)), Outcome::Fail(failure("wrong_type"))]);
        assert_eq!((c.kind, asked.len()), (EventKind::Fail, 2));
        // A read after a refused cas fails: still nothing written.
        let (c, _) = add(
            1,
            vec![
                ok("n1", json!(1)),
                Outcome::Fail(failure("cas_mismatch")),
                Outcome::Info(failure("transport")),
            ],
        );
        assert_eq!(c.kind, EventKind::Fail);
        // Not a counter.
        let (c, asked) = add(1, vec![ok("n1", json!("x"))]);
        assert_eq!((c.kind, asked.len()), (EventKind::Fail, 1));
        assert!(c.extra["error"].as_str().unwrap().starts_with("not_a_counter"));
        // Contention: every cas refused because the value changed.
        let mut answers = Vec::new();
        for v in 0..MAX_CAS_TRIES {
            answers.push(ok("n1", json!(v)));
            answers.push(Outcome::Fail(failure("cas_mismatch")));
        }
        let (c, asked) = add(1, answers);
        assert_eq!(c.kind, EventKind::Fail);
        assert_eq!(asked.len() as u64, 2 * MAX_CAS_TRIES);
        assert!(c.extra["error"].as_str().unwrap().starts_with("contention"));
    }
}
