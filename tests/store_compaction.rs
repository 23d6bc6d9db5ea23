//! WAL compaction on real node processes, in every mode: the log stays bounded while the same
//! keys are rewritten over and over (and grows without bound with compaction off), and a node
//! SIGKILLed inside a compaction (between writing the new log and renaming it over the old one,
//! held open by the `--wal-rewrite-pause-ms` test hook) recovers, so that every acknowledged
//! append is read back from every node.

mod store_support;

use faultline::client::Options;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store_support::{TestCluster, any, data_dir, local, ok_value, wait_value};

const WAIT: Duration = Duration::from_secs(15);
const MODES: [&str; 3] = ["single-leader", "multi-leader", "leaderless"];

fn wal_bytes(t: &TestCluster, id: &str) -> u64 {
    std::fs::metadata(data_dir(t.dir.path(), id).join("wal.log"))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// The WAL of a node that rewrites the same ten keys 3,000 times (about 400 KB of records)
/// stays within a small multiple of `--wal-compact-bytes`; with compaction off it holds them all.
/// Either way a restart reads back the last values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_when_compaction_is_on_and_grows_when_it_is_off() {
    for mode in MODES {
        for compact in ["4096", "0"] {
            let what = format!("{mode}, --wal-compact-bytes {compact}");
            let mut t = TestCluster::start(
                1,
                &["--mode", mode, "--fsync", "never", "--wal-compact-bytes", compact],
            );
            let c = t.client.clone();
            let o = Options::default();
            if mode == "single-leader" {
                t.wait_leader(&["n1"], WAIT).await;
            }
            for i in 0..3000 {
                let key = format!("k{}", i % 10);
                let value = json!({"round": i, "pad": "x".repeat(40)});
                assert!(c.write("n1", &key, value, &o).await.is_ok(), "{what}: write {i}");
            }
            // Let a compaction that is due run (the node checks every 100 ms).
            tokio::time::sleep(Duration::from_millis(500)).await;
            let size = wal_bytes(&t, "n1");
            if compact == "0" {
                assert!(size > 300_000, "{what}: the WAL holds every write: {size} bytes");
            } else {
                assert!(size < 64_000, "{what}: the WAL is bounded: {size} bytes");
                let log = std::fs::read_to_string(t.log_path("n1")).unwrap();
                assert!(log.contains("WAL compacted"), "{what}: {log}");
            }
            t.node("n1").kill();
            t.node("n1").restart().unwrap();
            if mode == "single-leader" {
                t.wait_leader(&["n1"], WAIT).await;
            }
            for k in 0..10 {
                let value = ok_value(c.read("n1", &format!("k{k}"), &o).await, &what);
                assert_eq!(value["round"], json!(2990 + k), "{what}: k{k}");
            }
        }
    }
}

/// How many compactions `id` has started to rename (lines the test hook logs).
fn paused_rewrites(t: &TestCluster, id: &str) -> usize {
    std::fs::read_to_string(t.log_path(id))
        .unwrap_or_default()
        .matches("(--wal-rewrite-pause-ms)")
        .count()
}

const KEYS: u64 = 5;

/// Appends unique values to `l0`..`l4` through every node in turn until `stop`; returns the
/// acknowledged ones per key and how many were attempted.
fn start_appender(t: &TestCluster, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(Vec<Vec<u64>>, u64)> {
    let c = t.client.clone();
    let ids: Vec<String> = t.cluster.endpoints().into_iter().map(|(id, _)| id).collect();
    tokio::spawn(async move {
        let mut acked = vec![Vec::new(); KEYS as usize];
        let mut next = 0u64;
        let o = Options::default();
        while !stop.load(Ordering::SeqCst) {
            let key = next % KEYS;
            let node = &ids[(next / KEYS) as usize % ids.len()];
            if c.append(node, &format!("l{key}"), json!(next), &o).await.is_ok() {
                acked[key as usize].push(next);
            } else {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            next += 1;
        }
        (acked, next)
    })
}

/// Four rounds: writes go on through every node while the round's node (single-leader: the
/// leader) compacts its WAL; inside the compaction's pause it is SIGKILLed (the new log is
/// written, not yet renamed: `wal.tmp` is left behind), then restarted. At the end every
/// acknowledged append is in its list on every node, and no list holds a value never sent.
async fn kill_during_compaction(mode: &str) {
    let ids = ["n1", "n2", "n3"];
    let mut args = vec![
        "--mode",
        mode,
        "--wal-compact-bytes",
        "2048",
        "--wal-rewrite-pause-ms",
        "600",
    ];
    if mode == "single-leader" {
        args.extend(["--replication", "sync"]);
    }
    let mut t = TestCluster::start(3, &args);
    if mode == "single-leader" {
        t.wait_leader(&ids, WAIT).await;
    } else {
        t.wait_peers_reachable(WAIT).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let appender = start_appender(&t, stop.clone());
    let killed = Arc::new(Mutex::new(Vec::new()));
    for round in 0..4 {
        let target = if mode == "single-leader" {
            t.wait_leader(&ids, WAIT).await
        } else {
            ids[round % 3].to_string()
        };
        let before = paused_rewrites(&t, &target);
        let deadline = Instant::now() + Duration::from_secs(60);
        while paused_rewrites(&t, &target) == before {
            assert!(Instant::now() < deadline, "{mode}: {target} never compacted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        t.node(&target).kill();
        let tmp = data_dir(t.dir.path(), &target).join("wal.tmp");
        assert!(
            tmp.exists(),
            "{mode}: {target} was killed inside its compaction (the new log not yet renamed)"
        );
        killed.lock().unwrap().push(target.clone());
        t.node(&target).restart().unwrap();
        assert!(
            !tmp.exists(),
            "{mode}: the restarted node removes the unrenamed log"
        );
        if mode == "single-leader" {
            t.wait_leader(&ids, WAIT).await;
        } else {
            t.wait_peers_reachable(WAIT).await;
        }
    }
    // A few more acknowledged writes after the last restart, then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (acked, attempted) = appender.await.unwrap();
    let total: usize = acked.iter().map(Vec::len).sum();
    assert!(total >= 50, "{mode}: only {total} appends acknowledged");
    let opts = match mode {
        "single-leader" => any(),
        "multi-leader" => local(),
        _ => Options::default(),
    };
    for id in ids {
        for (key, values) in acked.iter().enumerate() {
            let key = format!("l{key}");
            let list = wait_value(&t.client, id, &key, &opts, WAIT, |v| {
                let have: Vec<u64> = v
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                values.iter().all(|x| have.contains(x))
            })
            .await;
            let have: Vec<u64> = list
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_u64)
                .collect();
            let mut unique = have.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), have.len(), "{mode}: {id}: {key} repeats a value");
            assert!(
                have.iter().all(|x| *x < attempted),
                "{mode}: {id}: {key} holds a value never sent"
            );
        }
    }
    eprintln!(
        "{mode}: killed inside a compaction: {:?}; {total} appends acknowledged of {attempted}",
        killed.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_leader_loses_no_acknowledged_append_when_killed_during_compaction() {
    kill_during_compaction("single-leader").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_leader_loses_no_acknowledged_append_when_killed_during_compaction() {
    kill_during_compaction("multi-leader").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderless_loses_no_acknowledged_append_when_killed_during_compaction() {
    kill_during_compaction("leaderless").await;
}
