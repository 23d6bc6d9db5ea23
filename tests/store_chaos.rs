//! Robustness under mixed faults, in every mode: concurrent clients while links are cut and healed
//! at random and nodes are killed and restarted; afterwards no node has crashed and, once healed,
//! every replica converges to the same state.

mod store_support;

use faultline::client::{Options, StoreClient};
use rand::RngExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use store_support::{TestCluster, local};

const ALL: [&str; 3] = ["n1", "n2", "n3"];
const KEYS: usize = 8;

async fn chaos(args: &[&str]) -> TestCluster {
    let mut t = TestCluster::start_proxied(3, args).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for p in 0..6 {
        let (c, stop) = (t.client.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let node = ALL[(p + i) % 3];
                let key = format!("k{}", (p * 7 + i) % KEYS);
                let o = Options::default();
                match i % 4 {
                    0 => drop(c.write(node, &key, json!(i), &o).await),
                    1 => drop(
                        c.append(node, &format!("l{}", i % KEYS), json!(p * 100_000 + i), &o)
                            .await,
                    ),
                    2 => drop(
                        c.txn(
                            node,
                            json!([["append", format!("l{}", i % KEYS), i], ["r", key, null]]),
                            &o,
                        )
                        .await,
                    ),
                    _ => drop(c.read(node, &key, &o).await),
                }
                i += 1;
            }
        }));
    }
    let end = Instant::now() + Duration::from_secs(4);
    while Instant::now() < end {
        let (a, b) = (
            ALL[rand::rng().random_range(0..3)],
            ALL[rand::rng().random_range(0..3)],
        );
        match rand::rng().random_range(0..4) {
            0 | 1 if a != b => t.set_link(a, b, false),
            2 => {
                for x in ALL {
                    for y in ALL {
                        if x != y {
                            t.set_link(x, y, true);
                        }
                    }
                }
            }
            3 => t
                .node(a)
                .restart()
                .unwrap_or_else(|e| panic!("restarting {a}: {e:#}")),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(50..300))).await;
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    for x in ALL {
        for y in ALL {
            if x != y {
                t.set_link(x, y, true);
            }
        }
        assert!(t.node(x).exited().is_none(), "{x} crashed");
    }
    t
}

/// Waits until `read(node, key)` is the same on every node for every key.
async fn converges(c: &StoreClient, opts: &Options, before_each: impl AsyncFn(&str)) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let keys: Vec<String> = (0..KEYS)
        .flat_map(|k| [format!("k{k}"), format!("l{k}")])
        .collect();
    loop {
        let mut views: Vec<Vec<Value>> = Vec::new();
        for node in ALL {
            let mut view = Vec::new();
            for key in &keys {
                before_each(key).await;
                view.push(
                    c.read(node, key, opts)
                        .await
                        .ok()
                        .map(|s| s.value.clone())
                        .unwrap_or(json!("?")),
                );
            }
            views.push(view);
        }
        if views.windows(2).all(|w| w[0] == w[1]) && !views[0].contains(&json!("?")) {
            return;
        }
        if Instant::now() > deadline {
            for (k, key) in keys.iter().enumerate() {
                let column: Vec<String> = views.iter().map(|v| summary(&v[k])).collect();
                eprintln!("{key}: {column:?}");
            }
            panic!("replicas did not converge (values per node above)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A short description of a value: lists by length and last element.
fn summary(v: &Value) -> String {
    match v.as_array() {
        Some(items) => format!("list of {} ending {:?}", items.len(), items.last()),
        None => v.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn single_leader_survives_chaos_and_converges() {
    let t = chaos(&["--replication", "semi-sync"]).await;
    t.wait_leader(&ALL, Duration::from_secs(15)).await;
    let any = Options {
        read: Some("any".into()),
        ..Options::default()
    };
    converges(&t.client, &any, async |_| {}).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_leader_survives_chaos_and_converges() {
    let t = chaos(&["--mode", "multi-leader"]).await;
    converges(&t.client, &local(), async |_| {}).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn leaderless_survives_chaos_and_converges_after_read_repair() {
    let t = chaos(&["--mode", "leaderless"]).await;
    let all_three = Options {
        r: Some(3),
        ..Options::default()
    };
    let c = t.client.clone();
    converges(&t.client, &local(), async |key: &str| {
        let _ = c.read("n1", key, &all_three).await;
    })
    .await;
}
