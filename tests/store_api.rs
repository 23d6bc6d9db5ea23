//! The store's client API on a real node process: registers, lists, cas, transactions, versions
//! and positions in every answer, the admin endpoints, and bad input (4xx JSON errors that say
//! what is wrong, the node still serving and its data untouched).

mod store_support;

use faultline::client::{Options, Outcome};
use faultline_store::auth::ClusterToken;
use serde_json::{Value, json};
use std::time::Duration;
use store_support::{TestCluster, ok_value};

/// A patient commit timeout: on a loaded machine an fsync can take seconds, and these tests are
/// about the API, not about timeouts.
const PATIENT: &[&str] = &["--op-timeout-ms", "20000"];

/// A request as any HTTP client would send it, with the cluster token (which the admin routes
/// need and the client routes ignore).
async fn raw(method: &str, url: &str, body: Vec<u8>, token: &ClusterToken) -> (u16, Value) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let req = http
        .request(method.parse().unwrap(), url)
        .header("authorization", token.bearer())
        .body(body);
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn registers_lists_cas_and_transactions_on_a_single_leader() {
    let t = TestCluster::start(1, PATIENT);
    let c = &t.client;
    let o = Options::default();
    assert_eq!(ok_value(c.read("n1", "x", &o).await, "read absent"), Value::Null);
    let w = c.write("n1", "x", json!(1), &o).await;
    let w = w.ok().expect("write ok").clone();
    assert_eq!(w.node, "n1");
    assert_eq!(w.pos, 1);
    assert_eq!(w.version, json!({"term": 1, "index": 1}));
    let r = c.read("n1", "x", &o).await;
    assert_eq!(r.ok().unwrap().value, json!(1));
    assert_eq!(r.ok().unwrap().version, json!({"term": 1, "index": 1}));

    let mismatch = c.cas("n1", "x", json!(2), json!(3), &o).await;
    assert_eq!(mismatch.kind(), "fail");
    assert_eq!(mismatch.failure().unwrap().code, "cas_mismatch");
    assert_eq!(c.cas("n1", "x", json!(1), json!(3), &o).await.kind(), "ok");
    assert_eq!(ok_value(c.read("n1", "x", &o).await, "read"), json!(3));

    assert!(c.append("n1", "l", json!(1), &o).await.is_ok());
    let txn = c
        .txn(
            "n1",
            json!([
                ["append", "l", 2],
                ["r", "l", null],
                ["r", 9, null],
                ["w", 9, "v"]
            ]),
            &o,
        )
        .await;
    let txn = txn.ok().expect("txn ok").clone();
    assert_eq!(
        txn.ops,
        vec![
            json!(["append", "l", 2]),
            json!(["r", "l", [1, 2]]),
            json!(["r", 9, null]),
            json!(["w", 9, "v"])
        ]
    );
    assert_eq!(ok_value(c.read("n1", "9", &o).await, "int key"), json!("v"));

    let wrong = c.append("n1", "x", json!(1), &o).await;
    assert_eq!(
        (wrong.kind(), wrong.failure().unwrap().code.as_str()),
        ("fail", "wrong_type")
    );
    // A failing transaction changes nothing, not even its earlier micro-ops.
    let bad_txn = c.txn("n1", json!([["append", "l", 3], ["w", "l", 0]]), &o).await;
    assert_eq!(bad_txn.failure().unwrap().code, "wrong_type");
    assert_eq!(ok_value(c.read("n1", "l", &o).await, "list"), json!([1, 2]));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_json_error_and_leaves_the_data_alone() {
    let t = TestCluster::start(1, &["--max-body-bytes", "4096", "--op-timeout-ms", "20000"]);
    let c = &t.client;
    let o = Options::default();
    let first = c.write("n1", "k", json!({"keep": true}), &o).await;
    assert!(first.is_ok(), "the first write: {first:?}");
    let url = t.cluster.nodes[0].url();
    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "PUT",
            format!("{url}/kv/k"),
            b"{not json".to_vec(),
            400,
            "not valid JSON",
        ),
        (
            "PUT",
            format!("{url}/kv/k"),
            b"[1,2]".to_vec(),
            400,
            "must be a JSON object",
        ),
        (
            "PUT",
            format!("{url}/kv/k"),
            b"{\"valu\":1}".to_vec(),
            400,
            "lacks the field `value`",
        ),
        (
            "PUT",
            format!("{url}/kv/k"),
            b"{\"value\":1,\"x\":2}".to_vec(),
            400,
            "unknown field `x`",
        ),
        ("PUT", format!("{url}/kv/k"), b"".to_vec(), 400, "empty"),
        (
            "POST",
            format!("{url}/kv/k/cas"),
            b"{\"from\":1}".to_vec(),
            400,
            "lacks the field `to`",
        ),
        (
            "POST",
            format!("{url}/txn"),
            b"{\"ops\":[[\"incr\",\"k\",1]]}".to_vec(),
            400,
            "unknown operation",
        ),
        (
            "POST",
            format!("{url}/txn"),
            b"{\"ops\":[[\"r\",{},null]]}".to_vec(),
            400,
            "string or an integer",
        ),
        (
            "POST",
            format!("{url}/txn"),
            b"{\"ops\":\"r\"}".to_vec(),
            400,
            "must be an array",
        ),
        (
            "GET",
            format!("{url}/kv/k?read=bogus"),
            vec![],
            400,
            "not a single-leader read mode",
        ),
        (
            "GET",
            format!("{url}/kv/k?after=x"),
            vec![],
            400,
            "non-negative integer",
        ),
        ("GET", format!("{url}/kv/k?r=2"), vec![], 400, "leaderless"),
        (
            "GET",
            format!("{url}/kv/k?zzz=1"),
            vec![],
            400,
            "unknown query parameter",
        ),
        (
            "PUT",
            format!("{url}/kv/k"),
            vec![b'x'; 10_000],
            413,
            "larger than the limit of 4096",
        ),
        (
            "GET",
            format!("{url}/nowhere"),
            vec![],
            404,
            "no endpoint /nowhere",
        ),
        (
            "DELETE",
            format!("{url}/kv/k"),
            vec![],
            405,
            "does not take that method",
        ),
        (
            "POST",
            format!("{url}/admin/clock/bump"),
            b"{\"delta_ms\":\"soon\"}".to_vec(),
            400,
            "must be an integer",
        ),
        (
            "POST",
            format!("{url}/admin/clock/strobe"),
            b"{\"delta_ms\":5}".to_vec(),
            400,
            "lacks the field `period_ms`",
        ),
    ];
    for (method, target, body, status, needle) in cases {
        let (got, answer) = raw(method, &target, body, &t.cluster.token).await;
        assert_eq!(got, status, "{method} {target}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{method} {target}: {message:?} lacks {needle:?}"
        );
        assert_eq!(answer["definite"], json!(true));
        assert_eq!(answer["node"], json!("n1"));
    }
    assert_eq!(
        ok_value(c.read("n1", "k", &o).await, "after bad input"),
        json!({"keep": true})
    );
    let status = c.status("n1").await.unwrap();
    assert_eq!(status.applied, 1, "no bad request reached the log: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_clock_controls() {
    let t = TestCluster::start(1, PATIENT);
    let c = &t.client;
    let s = c.status("n1").await.unwrap();
    assert_eq!((s.id.as_str(), s.mode.as_str()), ("n1", "single-leader"));
    assert_eq!(
        (s.term, s.applied, s.addr),
        (1, 0, t.cluster.nodes[0].addr.to_string())
    );
    assert_eq!(s.pid, t.cluster.nodes[0].pid().unwrap());
    assert_eq!((s.role.as_str(), s.leader.as_deref()), ("leader", Some("n1")));
    let before = s.clock_now_ns;
    let bumped = c.clock_bump("n1", -60_000).await.unwrap();
    assert_eq!(bumped.clock_offset_ms, -60000.0);
    let skewed = c.status("n1").await.unwrap();
    assert!(skewed.clock_now_ns + 50_000_000_000 < before);
    c.clock_strobe("n1", 1000, 10, 10_000).await.unwrap();
    assert!(c.status("n1").await.unwrap().clock_strobing);
    let reset = c.clock_reset("n1").await.unwrap();
    assert_eq!((reset.clock_offset_ns, reset.clock_strobing), (0, false));
    // The client classifies a refused connection as a definite failure.
    let dead = faultline::client::StoreClient::new(
        vec![("n9".into(), "http://127.0.0.1:1".into())],
        Duration::from_secs(2),
    )
    .unwrap();
    let refused = dead.write("n9", "x", json!(1), &Options::default()).await;
    assert!(
        matches!(refused, Outcome::Fail(ref f) if f.code == "connect"),
        "{refused:?}"
    );
}
