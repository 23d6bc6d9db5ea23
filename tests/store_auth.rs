//! The cluster secret on real node processes: node-to-node (`/internal/*`) and admin
//! (`/admin/*`) requests without the cluster token, or with a wrong one, are refused with a JSON
//! 401 and change nothing (terms, clocks and every committed value stay as they were), while the
//! client routes stay open; the token reaches a node through its environment or a file, never
//! its command line; a node without a token does not start; a node bound to a non-loopback
//! address warns.

mod store_support;

use faultline::cluster::launch::{NodeProcess, NodeSpec};
use faultline_store::auth::{ClusterToken, TOKEN_ENV};
use faultline_store::wire::ErrorBody;
use serde_json::{Value, json};
use std::time::Duration;
use store_support::{TestCluster, any, wait_value};

const WAIT: Duration = Duration::from_secs(10);

/// Sends a request with the given `Authorization` header (if any); the status and the body.
async fn send(method: &str, url: &str, body: Option<&Value>, authorization: Option<&str>) -> (u16, String) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// Every guarded request a hostile local process could forge against a single-leader node of
/// term `term`: each would move the node to a far higher term, replace its data by nothing, or
/// skew its clock.
fn forged_requests(term: u64) -> Vec<(&'static str, &'static str, Option<Value>)> {
    let higher = term + 100;
    vec![
        (
            "POST",
            "/internal/sl/snapshot",
            Some(json!({
                "term": higher, "leader": "n3",
                "base": {"term": higher, "index": 0}, "data": [], "entries": []
            })),
        ),
        (
            "POST",
            "/internal/sl/append",
            Some(json!({
                "term": higher, "leader": "n3",
                "prev": {"term": 0, "index": 0}, "entries": [], "commit": 0
            })),
        ),
        (
            "POST",
            "/internal/sl/vote",
            Some(json!({"term": higher, "candidate": "n3", "last_term": higher, "last_index": 1_000_000})),
        ),
        ("POST", "/internal/ping", Some(json!({}))),
        ("POST", "/admin/clock/bump", Some(json!({"delta_ms": -600_000}))),
        (
            "POST",
            "/admin/clock/strobe",
            Some(json!({"delta_ms": 600_000, "period_ms": 10, "duration_ms": 60_000})),
        ),
        ("POST", "/admin/clock/reset", Some(json!({}))),
        ("GET", "/admin/status", None),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_internal_and_admin_requests_without_the_token_are_refused_and_change_nothing() {
    let t = TestCluster::start(3, &["--replication", "sync"]);
    let c = &t.client;
    let ids = ["n1", "n2", "n3"];
    let leader = t.wait_leader(&ids, WAIT).await;
    let o = faultline::client::Options::default();
    for i in 0..20 {
        assert!(c.write(&leader, &format!("k{i}"), json!(i), &o).await.is_ok());
        assert!(c.append(&leader, "list", json!(i), &o).await.is_ok());
    }
    let list: Vec<Value> = (0..20).map(|i| json!(i)).collect();
    let mut terms = Vec::new();
    for id in ids {
        terms.push(c.status(id).await.unwrap().term);
    }
    let term = terms[0];
    let other = ClusterToken::generate();
    let wrong_headers = [
        None,
        Some(other.bearer()),
        Some(t.cluster.token.secret().to_string()),
        Some(format!("Bearer {}x", t.cluster.token.secret())),
        Some("Bearer ".to_string()),
    ];
    for node in &t.cluster.nodes {
        let id = &node.spec.id;
        for (method, path, body) in forged_requests(term) {
            for header in &wrong_headers {
                let url = format!("{}{path}", node.url());
                let (status, text) = send(method, &url, body.as_ref(), header.as_deref()).await;
                assert_eq!(status, 401, "{method} {path} on {id} with {header:?}: {text}");
                let error: ErrorBody =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an error body ({e}): {text}"));
                assert_eq!(
                    (error.error.as_str(), error.definite, error.node.as_str()),
                    ("unauthorized", true, id.as_str()),
                    "{text}"
                );
                assert!(error.message.contains("cluster token"), "{text}");
            }
        }
        // The client routes need no token.
        let (status, text) = send("GET", &format!("{}/kv/k0?read=any", node.url()), None, None).await;
        assert_eq!(status, 200, "{text}");
    }
    // Nothing changed: the same term and leader, no clock offset, every committed value on
    // every node, and the cluster still takes writes.
    for (id, before) in ids.iter().zip(&terms) {
        let status = c.status(id).await.unwrap();
        assert_eq!(status.term, *before, "{id}: {status:?}");
        assert_eq!(status.leader.as_ref(), Some(&leader), "{id}: {status:?}");
        assert_eq!(
            (status.clock_offset_ns, status.clock_strobing),
            (0, false),
            "{id}: {status:?}"
        );
        for i in 0..20 {
            wait_value(c, id, &format!("k{i}"), &any(), WAIT, |v| *v == json!(i)).await;
        }
        wait_value(c, id, "list", &any(), WAIT, |v| *v == json!(list)).await;
    }
    assert!(c.write(&leader, "after", json!(1), &o).await.is_ok());
    // The same forged snapshot WITH the token is taken: the refusals above were the guard, not
    // a malformed request.
    let follower = ids.iter().find(|id| **id != leader).unwrap();
    let node = t.cluster.nodes.iter().find(|n| n.spec.id == *follower).unwrap();
    let (method, path, body) = forged_requests(term).swap_remove(0);
    let url = format!("{}{path}", node.url());
    let bearer = t.cluster.token.bearer();
    let (status, text) = send(method, &url, body.as_ref(), Some(&bearer)).await;
    assert_eq!(status, 200, "{text}");
    let moved = c.status(follower).await.unwrap().term;
    assert!(
        moved >= term + 100,
        "{follower} is at term {moved} after a snapshot of term {}",
        term + 100
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_reaches_nodes_through_the_environment_never_the_command_line() {
    let t = TestCluster::start(2, &[]);
    let secret = t.cluster.token.secret().as_bytes();
    for node in &t.cluster.nodes {
        let pid = node.pid().expect("running");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let holds = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == secret);
        assert!(
            !holds(&cmdline),
            "{}: the token is on the command line",
            node.spec.id
        );
        assert!(
            holds(&environ),
            "{}: the token is not in its environment",
            node.spec.id
        );
    }
}

#[test]
fn a_node_without_a_token_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new(store_support::binary())
        .args(["node", "--id", "solo", "--data-dir"])
        .arg(dir.path().join("solo"))
        .env_remove(TOKEN_ENV)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(254), "{stderr}");
    assert!(
        stderr.contains("no cluster token") && stderr.contains(TOKEN_ENV),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_file_wins_and_a_non_loopback_address_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = ClusterToken::generate();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", from_file.secret())).unwrap();
    let from_env = ClusterToken::generate();
    let spec = NodeSpec {
        id: "solo".into(),
        listen: "0.0.0.0:0".parse().unwrap(),
        peers: Vec::new(),
        data_dir: dir.path().join("solo"),
        args: vec!["--token-file".into(), token_file.display().to_string()],
        token: from_env.clone(),
    };
    let log = dir.path().join("solo.log");
    let node = NodeProcess::start(&store_support::binary(), spec, log.clone()).unwrap();
    let url = format!("http://127.0.0.1:{}/admin/status", node.addr.port());
    let (status, text) = send("GET", &url, None, Some(&from_file.bearer())).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = send("GET", &url, None, Some(&from_env.bearer())).await;
    assert_eq!(
        status, 401,
        "the environment's token is not the one in force: {text}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("WARNING: listening on 0.0.0.0:") && text.contains("not a loopback address"),
        "{text}"
    );
    // A node on loopback says nothing of the kind.
    let t = TestCluster::start(1, &[]);
    let text = std::fs::read_to_string(t.log_path("n1")).unwrap();
    assert!(!text.contains("WARNING"), "{text}");
}
