//! The store's limits through real node processes: what the client door refuses (with a clear
//! 4xx JSON error), and that everything it accepts survives being logged, replicated, killed
//! and recovered, in all three modes. The two crashes of issue 11 are the first two tests: an
//! acknowledged value nested about 124 deep made the WAL unreadable (every restart failed), and
//! made a sync cluster's followers refuse every append from then on.

mod store_support;

use faultline::client::{Options, Outcome, StoreClient};
use faultline_store::limits::{MAX_KEY_BYTES, MAX_TXN_OPS, MAX_VALUE_DEPTH};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use store_support::{TestCluster, any as read_any, local, wait_value};

const WAIT: Duration = Duration::from_secs(15);

/// The three modes as these tests run them. Leaderless writes wait for all three replicas
/// (`--w 3`), so every node holds every acknowledged write without read repair.
const MODES: [(&str, &[&str]); 3] = [
    ("single-leader", &["--replication", "sync", "--fsync", "never"]),
    ("multi-leader", &["--mode", "multi-leader", "--fsync", "never"]),
    (
        "leaderless",
        &["--mode", "leaderless", "--w", "3", "--fsync", "never"],
    ),
];

/// A value `levels` deep, alternating arrays and objects, with a unicode leaf.
fn nested(levels: usize, leaf: Value) -> Value {
    (0..levels).fold(leaf, |v, i| {
        if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "ключ": v })
        }
    })
}

/// The node to send writes to: the agreed leader (single-leader) or n1.
async fn writer(t: &TestCluster, mode: &str) -> String {
    if mode == "single-leader" {
        t.wait_leader(&["n1", "n2", "n3"], WAIT).await
    } else {
        t.wait_peers_reachable(WAIT).await;
        "n1".to_string()
    }
}

/// How to read a node's own copy in this mode.
fn own_copy(mode: &str) -> Options {
    if mode == "single-leader" {
        read_any()
    } else {
        local()
    }
}

/// Kills every node, then restarts them all on their data directories.
async fn kill_and_restart_all(t: &mut TestCluster) {
    for id in ["n1", "n2", "n3"] {
        t.node(id).kill();
    }
    for id in ["n1", "n2", "n3"] {
        t.node(id)
            .restart()
            .unwrap_or_else(|e| panic!("{id} did not restart: {e:#}"));
    }
}

/// Waits until every node's own copy of every key is exactly the expected value.
async fn every_node_holds(t: &TestCluster, mode: &str, expected: &BTreeMap<String, Value>) {
    for id in ["n1", "n2", "n3"] {
        for (key, value) in expected {
            wait_value(&t.client, id, key, &own_copy(mode), WAIT, |v| v == value).await;
        }
    }
}

fn expect_ok(outcome: Outcome, what: &str) {
    assert!(outcome.is_ok(), "{what}: {outcome:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn values_at_the_depth_limit_survive_a_kill_and_restart_in_every_mode() {
    for (mode, args) in MODES {
        let mut t = TestCluster::start(3, args);
        let c = t.client.clone();
        let o = Options::default();
        let node = writer(&t, mode).await;
        let deep = nested(MAX_VALUE_DEPTH, json!("☃ leaf"));
        let deeper = nested(MAX_VALUE_DEPTH, json!(u64::MAX));
        expect_ok(c.write(&node, "put", deep.clone(), &o).await, mode);
        expect_ok(c.append(&node, "list", deep.clone(), &o).await, mode);
        let txn = json!([["w", "txn", deep.clone()], ["append", "list", deeper.clone()]]);
        expect_ok(c.txn(&node, txn, &o).await, mode);
        expect_ok(c.write(&node, "cas", deep.clone(), &o).await, mode);
        expect_ok(c.cas(&node, "cas", deep.clone(), deeper.clone(), &o).await, mode);
        // One level more is refused at the door, saying why.
        let refused = c
            .write(&node, "too-deep", nested(MAX_VALUE_DEPTH + 1, json!(1)), &o)
            .await;
        match &refused {
            Outcome::Fail(f) => {
                assert_eq!((f.code.as_str(), f.status), ("bad_request", Some(400)), "{mode}");
                let limit = format!("at most {MAX_VALUE_DEPTH}");
                assert!(f.message.contains(&limit), "{mode}: {}", f.message);
            }
            other => panic!("{mode}: a value past the depth limit must be refused, got {other:?}"),
        }
        expect_ok(c.write(&node, "after", json!("still writing"), &o).await, mode);
        let expected: BTreeMap<String, Value> = [
            ("put", deep.clone()),
            ("list", json!([deep.clone(), deeper.clone()])),
            ("txn", deep.clone()),
            ("cas", deeper.clone()),
            ("too-deep", Value::Null),
            ("after", json!("still writing")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        every_node_holds(&t, mode, &expected).await;
        kill_and_restart_all(&mut t).await;
        let node = writer(&t, mode).await;
        every_node_holds(&t, mode, &expected).await;
        expect_ok(c.write(&node, "after-restart", deep.clone(), &o).await, mode);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_cluster_keeps_taking_writes_after_a_deep_value() {
    let t = TestCluster::start(3, &["--replication", "sync"]);
    let c = &t.client;
    let o = Options::default();
    let leader = t.wait_leader(&["n1", "n2", "n3"], WAIT).await;
    let term = c.status(&leader).await.unwrap()["term"].clone();
    let deep = nested(MAX_VALUE_DEPTH, json!(0));
    expect_ok(c.write(&leader, "deep", deep.clone(), &o).await, "the deep write");
    for i in 0..50 {
        expect_ok(c.append(&leader, "later", json!(i), &o).await, "a later write");
    }
    for id in ["n1", "n2", "n3"] {
        let status = c.status(id).await.unwrap();
        assert_eq!(status["term"], term, "no election since: {status}");
        assert_eq!(status["leader"], json!(leader), "{status}");
        wait_value(c, id, "deep", &read_any(), WAIT, |v| *v == deep).await;
    }
    // Multi-leader: the node that took the deep write keeps shipping its later writes.
    let t = TestCluster::start(3, &["--mode", "multi-leader"]);
    let c = &t.client;
    expect_ok(c.write("n1", "deep", deep.clone(), &o).await, "the deep write");
    for i in 0..20 {
        expect_ok(c.append("n1", "later", json!(i), &o).await, "a later write");
    }
    let later: Vec<Value> = (0..20).map(|i| json!(i)).collect();
    for id in ["n2", "n3"] {
        wait_value(c, id, "deep", &local(), WAIT, |v| *v == deep).await;
        wait_value(c, id, "later", &local(), WAIT, |v| *v == json!(later)).await;
    }
}

async fn raw(method: &str, url: &str, body: Vec<u8>) -> (u16, Value) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .request(method.parse().unwrap(), url)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_door_refuses_what_is_past_the_limits_and_changes_nothing() {
    let t = TestCluster::start(1, &["--max-body-bytes", "200000"]);
    let url = t.cluster.nodes[0].url();
    let o = Options::default();
    assert!(t.client.write("n1", "k", json!("kept"), &o).await.is_ok());
    let too_deep = nested(MAX_VALUE_DEPTH + 1, json!(1)).to_string();
    let at_limit = nested(MAX_VALUE_DEPTH, json!(1)).to_string();
    let long_key = "k".repeat(MAX_KEY_BYTES + 1);
    let many_ops: Vec<Value> = (0..=MAX_TXN_OPS).map(|i| json!(["r", i, null])).collect();
    let past_parser = format!("{{\"value\":{}1{}}}", "[".repeat(130), "]".repeat(130));
    let cases: Vec<(&str, String, String, u16, String)> = vec![
        (
            "PUT",
            "/kv/k".into(),
            format!("{{\"value\":{too_deep}}}"),
            400,
            "101 levels deep; at most 100".into(),
        ),
        (
            "POST",
            "/kv/k/append".into(),
            format!("{{\"value\":{too_deep}}}"),
            400,
            "at most 100".into(),
        ),
        (
            "POST",
            "/kv/k/cas".into(),
            format!("{{\"from\":\"kept\",\"to\":{too_deep}}}"),
            400,
            "`to` nests".into(),
        ),
        (
            "POST",
            "/kv/k/cas".into(),
            format!("{{\"from\":{too_deep},\"to\":1}}"),
            400,
            "`from` nests".into(),
        ),
        (
            "POST",
            "/txn".into(),
            format!("{{\"ops\":[[\"r\",\"a\",null],[\"w\",\"k\",{too_deep}]]}}"),
            400,
            "micro-op 1: its value nests".into(),
        ),
        // The value of issue 11, 124 deep.
        (
            "PUT",
            "/kv/k".into(),
            format!("{{\"value\":{}}}", nested(124, json!(1))),
            400,
            "124 levels deep".into(),
        ),
        (
            "PUT",
            "/kv/k".into(),
            past_parser,
            400,
            "at most 100 levels deep".into(),
        ),
        (
            "PUT",
            format!("/kv/{long_key}"),
            "{\"value\":1}".into(),
            400,
            format!("at most {MAX_KEY_BYTES} are allowed"),
        ),
        (
            "POST",
            "/txn".into(),
            format!("{{\"ops\":[[\"w\",\"{long_key}\",1]]}}"),
            400,
            "micro-op 0: the key is".into(),
        ),
        (
            "POST",
            "/txn".into(),
            json!({"ops": many_ops}).to_string(),
            400,
            format!("at most {MAX_TXN_OPS} are allowed"),
        ),
        (
            "PUT",
            "/kv/k".into(),
            "{\"value\":[1, 18446744073709551616]}".into(),
            400,
            "does not fit in 64 bits".into(),
        ),
        (
            "POST",
            "/txn".into(),
            "{\"ops\":[[\"w\",-9223372036854775809,1]]}".into(),
            400,
            "does not fit in 64 bits".into(),
        ),
        (
            "PUT",
            "/kv/k".into(),
            format!("{{\"value\":\"{}\"}}", "x".repeat(200_001)),
            413,
            "larger than the limit of 200000".into(),
        ),
    ];
    for (method, path, body, status, needle) in cases {
        let (got, answer) = raw(method, &format!("{url}{path}"), body.into_bytes()).await;
        let shown = &path[..path.len().min(40)];
        assert_eq!(got, status, "{method} {shown}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&needle),
            "{method} {shown}: {message:?} lacks {needle:?}"
        );
        assert_eq!(
            (answer["definite"].clone(), answer["node"].clone()),
            (json!(true), json!("n1"))
        );
    }
    let status = t.client.status("n1").await.unwrap();
    assert_eq!(
        status["applied"],
        json!(1),
        "nothing refused reached the log: {status}"
    );
    // Right at the limits, everything is taken.
    let (got, answer) = raw(
        "PUT",
        &format!("{url}/kv/k"),
        format!("{{\"value\":{at_limit}}}").into_bytes(),
    )
    .await;
    assert_eq!(got, 200, "{answer}");
    let key = "k".repeat(MAX_KEY_BYTES);
    assert!(
        t.client
            .write("n1", &key, json!([u64::MAX, i64::MIN]), &o)
            .await
            .is_ok()
    );
    let ops: Vec<Value> = (0..MAX_TXN_OPS).map(|i| json!(["append", i % 7, i])).collect();
    assert!(t.client.txn("n1", json!(ops), &o).await.is_ok());
}

/// JSON values at the edges: nesting up to the limit, long and unicode strings, the extreme
/// 64-bit integers, any finite double.
fn extreme_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(i64::MAX)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(-0.0)),
        Just(json!(5e-324)),
        Just(json!(f64::MAX)),
    ];
    let text = prop_oneof![
        "\\PC{0,40}".prop_map(Value::from),
        // Long strings, up to a few hundred kilobytes of two- and four-byte characters.
        (0usize..150_000, any::<bool>()).prop_map(|(n, wide)| Value::from(if wide {
            "𝄞é".repeat(n / 2)
        } else {
            "é".repeat(n)
        })),
        Just(Value::from("\u{0}\u{1f}\"\\/\u{2028}\u{fffd}")),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number,
        text
    ];
    let shaped = (
        leaf.clone(),
        prop_oneof![Just(MAX_VALUE_DEPTH), 0..=MAX_VALUE_DEPTH],
        prop::collection::vec(any::<bool>(), MAX_VALUE_DEPTH),
        "\\PC{0,8}",
    )
        .prop_map(|(leaf, levels, shapes, name)| {
            shapes[..levels].iter().fold(leaf, |v, &array| {
                if array {
                    json!([v, 1])
                } else {
                    let mut members = serde_json::Map::new();
                    members.insert(format!("k{name}"), v);
                    members.insert(String::new(), Value::Null);
                    Value::Object(members)
                }
            })
        });
    let wide = prop::collection::btree_map("\\PC{0,12}", leaf.clone(), 0..12)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    prop_oneof![leaf, shaped, wide]
}

/// How a generated value is written.
#[derive(Debug, Clone, Copy)]
enum Route {
    Put,
    Append,
    TxnWrite,
    TxnAppend,
    Cas,
}

fn route() -> impl Strategy<Value = Route> {
    prop_oneof![
        Just(Route::Put),
        Just(Route::Append),
        Just(Route::TxnWrite),
        Just(Route::TxnAppend),
        Just(Route::Cas),
    ]
}

/// A short description of a value for failure messages (values can be megabytes).
fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}... ({} bytes)", &s[..s.floor_char_boundary(300)], s.len())
    } else {
        s
    }
}

/// Writes every (route, value) to fresh keys; returns what every key must hold.
async fn write_all(
    c: &StoreClient,
    node: &str,
    case: usize,
    writes: &[(Route, Value)],
) -> Result<BTreeMap<String, Value>, TestCaseError> {
    let o = Options::default();
    let mut expected = BTreeMap::new();
    for (i, (route, value)) in writes.iter().enumerate() {
        let key = format!("c{case}-{i}");
        let list = format!("c{case}-list");
        let outcome = match route {
            Route::Put => c.write(node, &key, value.clone(), &o).await,
            Route::Append => c.append(node, &list, value.clone(), &o).await,
            Route::TxnWrite => {
                c.txn(node, json!([["w", key, value], ["r", key, null]]), &o)
                    .await
            }
            Route::TxnAppend => c.txn(node, json!([["append", list, value]]), &o).await,
            Route::Cas => {
                let first = c.write(node, &key, json!({"before": i}), &o).await;
                prop_assert!(first.is_ok(), "{first:?}");
                c.cas(node, &key, json!({"before": i}), value.clone(), &o).await
            }
        };
        prop_assert!(outcome.is_ok(), "{route:?} of {}: {outcome:?}", brief(value));
        match route {
            Route::Append | Route::TxnAppend => {
                let items = expected.entry(list).or_insert_with(|| json!([]));
                items.as_array_mut().expect("a list").push(value.clone());
            }
            _ => {
                expected.insert(key, value.clone());
            }
        }
    }
    Ok(expected)
}

#[test]
fn extreme_values_come_back_exactly_from_every_node_after_kill_and_restart() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (mode, args) in MODES {
        let cluster = std::cell::RefCell::new(TestCluster::start(3, args));
        let case = std::cell::Cell::new(0usize);
        let config = Config {
            cases: 4,
            max_shrink_iters: 8,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let writes = prop::collection::vec((route(), extreme_value()), 1..7);
        let result = runner.run(&writes, |writes| {
            case.set(case.get() + 1);
            rt.block_on(async {
                let mut t = cluster.borrow_mut();
                let node = writer(&t, mode).await;
                let expected = write_all(&t.client, &node, case.get(), &writes).await?;
                kill_and_restart_all(&mut t).await;
                writer(&t, mode).await;
                for id in ["n1", "n2", "n3"] {
                    for (key, value) in &expected {
                        let read = wait_for(&t.client, id, key, &own_copy(mode), value).await;
                        prop_assert!(
                            read.as_ref() == Some(value),
                            "{mode}: {id} holds {} for {key}, not {}",
                            read.as_ref().map(brief).unwrap_or_default(),
                            brief(value)
                        );
                    }
                }
                Ok(())
            })
        });
        if let Err(e) = result {
            panic!("{mode}: {e}");
        }
    }
}

/// Reads until the node holds `want` (or the wait is over); returns the last value read.
async fn wait_for(c: &StoreClient, node: &str, key: &str, opts: &Options, want: &Value) -> Option<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut last = None;
    while std::time::Instant::now() < deadline {
        if let Outcome::Ok(s) = c.read(node, key, opts).await {
            if &s.value == want {
                return Some(s.value);
            }
            last = Some(s.value);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    last
}
