//! Durability on real node processes: a node killed with SIGKILL and restarted on the same
//! address and data directory recovers every acknowledged write from its WAL (with
//! `--fsync always` and `--fsync never`: a process kill does not lose what was handed to the
//! operating system), in every mode; a follower that was down catches up.

mod store_support;

use faultline::client::Options;
use serde_json::{Value, json};
use std::time::Duration;
use store_support::{TestCluster, any, ok_value, wait_value};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_node_recovers_its_acknowledged_writes_from_the_wal() {
    for fsync in ["always", "never"] {
        for mode in ["single-leader", "multi-leader", "leaderless"] {
            let mut t = TestCluster::start(1, &["--mode", mode, "--fsync", fsync]);
            let c = t.client.clone();
            let o = Options::default();
            for i in 0..100 {
                assert!(c.write("n1", &format!("k{i}"), json!(i), &o).await.is_ok());
            }
            for i in 0..50 {
                assert!(c.append("n1", "list", json!(i), &o).await.is_ok());
            }
            assert!(
                c.txn("n1", json!([["append", "t", "a"], ["w", "u", {"deep": [1]}]]), &o)
                    .await
                    .is_ok()
            );
            assert_eq!(c.cas("n1", "k0", json!(0), json!("cas"), &o).await.kind(), "ok");
            let applied_before = c.status("n1").await.unwrap().applied;
            let addr = t.node("n1").addr;
            t.node("n1").kill();
            assert!(
                c.read("n1", "k1", &o).await.failure().is_some(),
                "the node is down"
            );
            t.node("n1").restart().unwrap();
            assert_eq!(t.node("n1").addr, addr, "restarted on the same address");
            let what = format!("{mode}, fsync {fsync}");
            if mode == "single-leader" {
                // A restarted node starts as a follower and elects itself after a timeout.
                t.wait_leader(&["n1"], WAIT).await;
            }
            assert_eq!(ok_value(c.read("n1", "k0", &o).await, &what), json!("cas"));
            for i in 1..100 {
                assert_eq!(
                    ok_value(c.read("n1", &format!("k{i}"), &o).await, &what),
                    json!(i),
                    "{what}"
                );
            }
            let list: Vec<Value> = (0..50).map(|i| json!(i)).collect();
            assert_eq!(
                ok_value(c.read("n1", "list", &o).await, &what),
                json!(list),
                "{what}"
            );
            assert_eq!(
                ok_value(c.read("n1", "t", &o).await, &what),
                json!(["a"]),
                "{what}"
            );
            assert_eq!(
                ok_value(c.read("n1", "u", &o).await, &what),
                json!({"deep": [1]}),
                "{what}"
            );
            assert_eq!(c.status("n1").await.unwrap().applied, applied_before, "{what}");
            // And it keeps serving writes after recovery.
            assert!(c.write("n1", "after", json!(1), &o).await.is_ok(), "{what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_follower_recovers_then_catches_up() {
    let mut t = TestCluster::start(3, &["--replication", "async", "--fsync", "never"]);
    let c = t.client.clone();
    let o = Options::default();
    let leader = t.wait_leader(&["n1", "n2", "n3"], WAIT).await;
    let follower = if leader == "n3" { "n2" } else { "n3" };
    for i in 0..50 {
        assert!(c.append(&leader, "l", json!(i), &o).await.is_ok());
    }
    wait_value(&c, follower, "l", &any(), WAIT, |v| {
        v.as_array().is_some_and(|a| a.len() == 50)
    })
    .await;
    t.node(follower).kill();
    for i in 50..100 {
        assert!(c.append(&leader, "l", json!(i), &o).await.is_ok());
    }
    t.node(follower).restart().unwrap();
    let expected: Vec<Value> = (0..100).map(|i| json!(i)).collect();
    wait_value(&c, follower, "l", &any(), WAIT, |v| *v == json!(expected)).await;
    let log = std::fs::read_to_string(t.log_path(follower)).unwrap();
    assert!(log.contains("recovered term 1, log up to index 50"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ephemeral_port_is_reported_and_reused_on_restart() {
    use faultline::cluster::launch::{NodeProcess, NodeSpec};
    let dir = tempfile::tempdir().unwrap();
    let spec = NodeSpec {
        id: "solo".into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        peers: Vec::new(),
        data_dir: dir.path().join("solo"),
        args: vec!["--mode".into(), "multi-leader".into()],
        token: faultline_store::auth::ClusterToken::generate(),
    };
    let mut node = NodeProcess::start(&store_support::binary(), spec, dir.path().join("solo.log")).unwrap();
    let addr = node.addr;
    assert_ne!(addr.port(), 0, "the ready file names the bound port");
    let ready: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("solo.ready")).unwrap()).unwrap();
    assert_eq!(ready["addr"], json!(addr.to_string()));
    assert_eq!(ready["pid"], json!(node.pid().unwrap()));
    let c = faultline::client::StoreClient::new(vec![("solo".into(), node.url())], WAIT).unwrap();
    assert!(c.write("solo", "k", json!(1), &Options::default()).await.is_ok());
    node.kill();
    node.restart().unwrap();
    assert_eq!(node.addr, addr);
    assert_eq!(
        ok_value(c.read("solo", "k", &Options::default()).await, "after restart"),
        json!(1)
    );
}
