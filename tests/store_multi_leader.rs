//! Multi-leader mode on real node processes: every node accepts writes and they reach every other
//! node; conflicts resolve by last-write-wins on each node's own (skewable) clock, so a node whose
//! clock runs behind really loses its later writes; partitioned writers converge after healing.

mod store_support;

use faultline::client::Options;
use serde_json::{Value, json};
use std::time::Duration;
use store_support::{TestCluster, local, ok_value, wait_value};

const ALL: [&str; 3] = ["n1", "n2", "n3"];
const WAIT: Duration = Duration::from_secs(10);
const MODE: &[&str] = &["--mode", "multi-leader"];

#[tokio::test(flavor = "multi_thread")]
async fn writes_on_every_node_reach_every_node() {
    let t = TestCluster::start(3, MODE);
    let c = &t.client;
    for (n, node) in ALL.iter().enumerate() {
        for i in 0..10 {
            let w = c
                .write(node, &format!("{node}-{i}"), json!(i), &Options::default())
                .await;
            assert!(w.is_ok(), "{node}: {w:?}");
            assert!(
                c.append(node, "shared", json!(n * 100 + i), &Options::default())
                    .await
                    .is_ok()
            );
        }
        let txn = c
            .txn(
                node,
                json!([["append", "t", n], ["r", "t", null]]),
                &Options::default(),
            )
            .await;
        assert!(txn.is_ok(), "{txn:?}");
    }
    let mut lists = Vec::new();
    for node in ALL {
        for writer in ALL {
            for i in 0..10 {
                wait_value(c, node, &format!("{writer}-{i}"), &local(), WAIT, |v| {
                    *v == json!(i)
                })
                .await;
            }
        }
        let list = wait_value(c, node, "shared", &local(), WAIT, |v| {
            v.as_array().is_some_and(|a| a.len() == 30)
        })
        .await;
        lists.push(list);
    }
    assert!(
        lists.windows(2).all(|w| w[0] == w[1]),
        "replicas disagree on the list order: {lists:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_running_behind_makes_a_later_acknowledged_write_lose() {
    let t = TestCluster::start(3, MODE);
    let c = &t.client;
    c.clock_bump("n1", -60_000).await.unwrap();
    assert!(
        c.write("n2", "x", json!("earlier"), &Options::default())
            .await
            .is_ok()
    );
    // Every node holds it first, so what follows compares stamps, not arrival order.
    for node in ALL {
        wait_value(c, node, "x", &local(), WAIT, |v| *v == json!("earlier")).await;
    }
    // Written later in real time, acknowledged, but stamped a minute in the past.
    let later = c.write("n1", "x", json!("later"), &Options::default()).await;
    assert!(later.is_ok(), "{later:?}");
    assert_eq!(
        ok_value(c.read("n1", "x", &local()).await, "n1"),
        json!("earlier")
    );
    for node in ["n2", "n3"] {
        wait_until_shipped(&t, node, "n1", 1).await;
        assert_eq!(
            ok_value(c.read(node, "x", &local()).await, node),
            json!("earlier")
        );
    }
    // With the clock put right, n1 wins again.
    c.clock_reset("n1").await.unwrap();
    assert!(
        c.write("n1", "x", json!("fixed"), &Options::default())
            .await
            .is_ok()
    );
    for node in ALL {
        wait_value(c, node, "x", &local(), WAIT, |v| *v == json!("fixed")).await;
    }
}

async fn wait_until_shipped(t: &TestCluster, at: &str, origin: &str, writes: u64) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = t.client.status(at).await.unwrap();
        if status.detail["have"][origin].as_u64().unwrap_or(0) >= writes {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{at} never got {writes} writes of {origin}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn partitioned_writers_converge_on_the_highest_stamp() {
    let t = TestCluster::start_proxied(3, MODE).await;
    let c = &t.client;
    t.set_links("n1", "n2", false);
    t.set_links("n1", "n3", false);
    let a = c.write("n1", "x", json!("a"), &Options::default()).await;
    let b = c.write("n2", "x", json!("b"), &Options::default()).await;
    let (a, b) = (
        a.ok().expect("n1 accepts").clone(),
        b.ok().expect("n2 accepts").clone(),
    );
    assert_eq!(ok_value(c.read("n1", "x", &local()).await, "n1"), json!("a"));
    wait_value(c, "n3", "x", &local(), WAIT, |v| *v == json!("b")).await;
    t.set_links("n1", "n2", true);
    t.set_links("n1", "n3", true);
    let stamp = |v: &Value| (v["ts"].as_u64().unwrap(), v["node"].as_str().unwrap().to_string());
    let winner = if stamp(&a.version) > stamp(&b.version) {
        "a"
    } else {
        "b"
    };
    for node in ALL {
        wait_value(c, node, "x", &local(), WAIT, |v| *v == json!(winner)).await;
    }
}
