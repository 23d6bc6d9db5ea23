//! Leaderless (Dynamo-style) mode on real node processes: with R+W>N every read returns the
//! newest acknowledged value, through any coordinator; a replica that missed a write is repaired
//! by a quorum read; too few reachable replicas is a definite `no_quorum`; and R+W<=N really
//! serves stale reads.

mod store_support;

use faultline::client::Options;
use serde_json::json;
use std::time::Duration;
use store_support::{TestCluster, local, ok_value, wait_value};

const ALL: [&str; 3] = ["n1", "n2", "n3"];
const WAIT: Duration = Duration::from_secs(10);
const MODE: &[&str] = &["--mode", "leaderless", "--n", "3", "--r", "2", "--w", "2"];

#[tokio::test(flavor = "multi_thread")]
async fn quorum_reads_return_the_newest_acknowledged_value() {
    let t = TestCluster::start(3, MODE);
    t.wait_peers_reachable(WAIT).await;
    let c = &t.client;
    let o = Options::default();
    for i in 0..60usize {
        let writer = ALL[i % 3];
        let reader = ALL[(i + 1) % 3];
        let key = format!("k{}", i % 4);
        let w = c.write(writer, &key, json!(i), &o).await;
        assert!(w.is_ok(), "write {key}={i} via {writer}: {w:?}");
        let got = ok_value(c.read(reader, &key, &o).await, "quorum read");
        assert_eq!(
            got,
            json!(i),
            "read of {key} via {reader} after writing {i} via {writer}"
        );
        assert!(c.append(writer, "list", json!(i), &o).await.is_ok());
        let list = ok_value(c.read(reader, "list", &o).await, "list read");
        assert_eq!(
            list.as_array().map(|a| a.len()),
            Some(i + 1),
            "list via {reader}: {list}"
        );
    }
    let txn = c
        .txn(
            "n2",
            json!([
                ["append", "t", 1],
                ["r", "t", null],
                ["w", "u", 5],
                ["r", "u", null]
            ]),
            &o,
        )
        .await;
    let txn = txn.ok().expect("txn").clone();
    assert_eq!(txn.ops[1], json!(["r", "t", [1]]));
    assert_eq!(txn.ops[3], json!(["r", "u", 5]));
    assert_eq!(c.cas("n3", "u", json!(5), json!(6), &o).await.kind(), "ok");
    assert_eq!(
        c.cas("n1", "u", json!(5), json!(7), &o)
            .await
            .failure()
            .unwrap()
            .code,
        "cas_mismatch"
    );
    assert_eq!(ok_value(c.read("n2", "u", &o).await, "u"), json!(6));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quorum_read_repairs_a_replica_that_missed_a_write() {
    let t = TestCluster::start_proxied(3, MODE).await;
    let c = &t.client;
    t.set_link("n1", "n3", false);
    t.set_link("n2", "n3", false);
    assert!(c.write("n1", "x", json!(1), &Options::default()).await.is_ok());
    assert_eq!(
        ok_value(c.read("n3", "x", &local()).await, "n3 local"),
        json!(null),
        "n3 missed the write"
    );
    t.set_link("n1", "n3", true);
    t.set_link("n2", "n3", true);
    let all_three = Options {
        r: Some(3),
        ..Options::default()
    };
    wait_value(c, "n1", "x", &all_three, WAIT, |v| *v == json!(1)).await;
    wait_value(c, "n3", "x", &local(), WAIT, |v| *v == json!(1)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_replicas_mean_no_quorum_and_small_quorums_read_stale() {
    let t = TestCluster::start_proxied(3, MODE).await;
    let c = &t.client;
    assert!(
        c.write("n1", "x", json!("old"), &Options::default())
            .await
            .is_ok()
    );
    wait_value(c, "n3", "x", &local(), WAIT, |v| *v == json!("old")).await;
    wait_value(c, "n2", "x", &local(), WAIT, |v| *v == json!("old")).await;
    for other in ["n2", "n3"] {
        t.set_links("n1", other, false);
    }
    // n1 alone: once its pings fail, a W=2 write is refused before anything is sent.
    let deadline = std::time::Instant::now() + WAIT;
    let refused = loop {
        let w = c.write("n1", "x", json!("never"), &Options::default()).await;
        if w.failure().is_some_and(|f| f.code == "no_quorum") {
            break w;
        }
        assert!(std::time::Instant::now() < deadline, "no no_quorum: {w:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.kind(), "fail");
    // With W=1 the write is acknowledged by n1 alone; R=1 elsewhere cannot see it.
    let small = Options {
        r: Some(1),
        w: Some(1),
        ..Options::default()
    };
    assert!(c.write("n1", "x", json!("new"), &small).await.is_ok());
    assert_eq!(
        ok_value(c.read("n2", "x", &small).await, "R=1 via n2"),
        json!("old"),
        "expected a stale read"
    );
    for other in ["n2", "n3"] {
        t.set_links("n1", other, true);
    }
    let all_three = Options {
        r: Some(3),
        ..Options::default()
    };
    wait_value(c, "n2", "x", &all_three, WAIT, |v| *v == json!("new")).await;
}
