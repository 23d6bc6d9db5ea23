//! Leaderless repair beyond read repair, on real node processes: a replica that was down, or cut
//! off from the others, while writes went on at W = 1 (N = 3) holds none of them afterwards
//! unless something repairs it without a client reading the keys. With neither repair on, its
//! local reads stay empty; with `--hinted-handoff` (the coordinator delivers the writes it kept
//! for it) or `--anti-entropy-ms` (the replicas exchange per-key versions and repair the keys
//! that differ) alone, it converges to every acknowledged write.

mod store_support;

use faultline::client::Options;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store_support::{TestCluster, local, ok_value};

const WAIT: Duration = Duration::from_secs(15);
const KEYS: usize = 20;

/// How n3 misses the writes.
#[derive(Clone, Copy)]
enum Miss {
    /// n3 is killed during the writes and restarted after them.
    Down,
    /// n3's links to and from the others are cut during the writes and restored after them.
    Cut,
}

/// n3 misses 20 register writes and 5 appends made through n1 and n2 at W = 1; returns how many
/// of the 21 keys n3's own replica holds afterwards (local reads only, so no read repair),
/// polled until all are there or `within` passes.
async fn keys_on_the_lagging_replica(flags: &[&str], miss: Miss, within: Duration) -> usize {
    let mut args = vec!["--mode", "leaderless", "--n", "3", "--fsync", "never"];
    args.extend_from_slice(flags);
    let mut t = match miss {
        Miss::Down => TestCluster::start(3, &args),
        Miss::Cut => TestCluster::start_proxied(3, &args).await,
    };
    t.wait_peers_reachable(WAIT).await;
    let c = t.client.clone();
    let o = Options {
        w: Some(1),
        ..Options::default()
    };
    match miss {
        Miss::Down => t.node("n3").kill(),
        Miss::Cut => {
            t.set_links("n3", "n1", false);
            t.set_links("n3", "n2", false);
        }
    }
    for i in 0..KEYS {
        let outcome = c.write("n1", &format!("k{i}"), json!(i), &o).await;
        assert!(outcome.is_ok(), "write k{i}: {outcome:?}");
    }
    for i in 0..5 {
        assert!(c.append("n2", "list", json!(i), &o).await.is_ok());
    }
    match miss {
        Miss::Down => t.node("n3").restart().unwrap(),
        Miss::Cut => {
            t.set_links("n3", "n1", true);
            t.set_links("n3", "n2", true);
        }
    }
    t.wait_peers_reachable(WAIT).await;
    let deadline = Instant::now() + within;
    loop {
        let mut held = 0;
        for i in 0..KEYS {
            let v = ok_value(c.read("n3", &format!("k{i}"), &local()).await, "local read");
            if v == json!(i) {
                held += 1;
            }
        }
        let list = ok_value(c.read("n3", "list", &local()).await, "local read");
        if list == json!([0, 1, 2, 3, 4]) {
            held += 1;
        } else {
            assert!(
                list.as_array().is_none_or(|a| a.iter().all(Value::is_u64)),
                "{list}"
            );
        }
        if held == KEYS + 1 || Instant::now() > deadline {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_anti_entropy_or_hinted_handoff_the_missed_writes_stay_missing() {
    for miss in [Miss::Down, Miss::Cut] {
        let held = keys_on_the_lagging_replica(&[], miss, Duration::from_secs(3)).await;
        assert_eq!(held, 0, "nothing repairs a replica no client reads through");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hinted_handoff_delivers_the_writes_a_down_replica_missed() {
    let held = keys_on_the_lagging_replica(&["--hinted-handoff"], Miss::Down, WAIT).await;
    assert_eq!(held, KEYS + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hinted_handoff_delivers_the_writes_a_cut_off_replica_missed() {
    let held = keys_on_the_lagging_replica(&["--hinted-handoff"], Miss::Cut, WAIT).await;
    assert_eq!(held, KEYS + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anti_entropy_repairs_a_replica_that_was_down() {
    let held = keys_on_the_lagging_replica(&["--anti-entropy-ms", "200"], Miss::Down, WAIT).await;
    assert_eq!(held, KEYS + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anti_entropy_repairs_a_replica_that_was_cut_off() {
    let held = keys_on_the_lagging_replica(&["--anti-entropy-ms", "200"], Miss::Cut, WAIT).await;
    assert_eq!(held, KEYS + 1);
}
