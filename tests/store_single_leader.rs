//! Single-leader mode on real node processes: every replication setting replicates (and has the
//! entry in the followers' logs when it acknowledges); sync keeps every acknowledged write across
//! a SIGKILL of the leader; async with follower reads really serves stale reads; read-your-writes
//! waits for the position; an isolated old leader steps down and its unreplicated writes are
//! really lost; a follower cut off for several election timeouts rejoins without deposing the
//! leader (pre-vote), and after the leader dies the most up-to-date follower is elected even
//! when the other lost its pre-votes all along. The commit-point tests (uncommitted writes are never read) are in
//! `store_commit.rs`.

mod store_support;

use faultline::client::{Options, Outcome, StoreClient};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store_support::{TestCluster, any, ok_value, wait_value};

const ALL: [&str; 3] = ["n1", "n2", "n3"];
const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn every_replication_setting_replicates_to_the_followers() {
    for replication in ["sync", "semi-sync", "async"] {
        let t = TestCluster::start(3, &["--replication", replication]);
        let c = &t.client;
        let leader = t.wait_leader(&ALL, WAIT).await;
        let followers: Vec<&str> = ALL.iter().copied().filter(|n| *n != leader).collect();
        for i in 0..20 {
            let w = c
                .write(&leader, &format!("k{i}"), json!(i), &Options::default())
                .await;
            let pos = w
                .ok()
                .unwrap_or_else(|| panic!("{replication}: write k{i}: {w:?}"))
                .pos;
            // What each setting promises at acknowledgement time: the entry is in the followers'
            // logs (they apply it once they learn it is committed, with the next append).
            let have = followers_hold(c, &followers, pos).await;
            match replication {
                "sync" => assert!(
                    have.iter().all(|h| *h),
                    "sync: k{i} acked before all followers had it"
                ),
                "semi-sync" => assert!(
                    have.iter().any(|h| *h),
                    "semi-sync: k{i} acked before any follower had it"
                ),
                _ => {}
            }
            assert!(
                c.append(&leader, "list", json!(i), &Options::default())
                    .await
                    .is_ok()
            );
        }
        let expected_list: Vec<i64> = (0..20).collect();
        for f in &followers {
            for i in 0..20 {
                wait_value(c, f, &format!("k{i}"), &any(), WAIT, |v| *v == json!(i)).await;
            }
            wait_value(c, f, "list", &any(), WAIT, |v| *v == json!(expected_list)).await;
            let refused = c.write(f, "k0", json!(-1), &Options::default()).await;
            let failure = refused.failure().expect("a follower refuses writes");
            assert_eq!((refused.kind(), failure.code.as_str()), ("fail", "not_leader"));
            assert_eq!(failure.leader.as_deref(), Some(leader.as_str()));
            let leader_read = c.read(f, "k0", &Options::default()).await;
            assert_eq!(leader_read.failure().map(|f| f.code.as_str()), Some("not_leader"));
        }
    }
}

/// Whether each node's log reaches index `pos` (its status `detail.last_log_index`).
async fn followers_hold(c: &StoreClient, nodes: &[&str], pos: u64) -> Vec<bool> {
    let mut have = Vec::new();
    for n in nodes {
        let status = c.status(n).await.unwrap();
        have.push(status.detail["last_log_index"].as_u64().unwrap() >= pos);
    }
    have
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_failover_keeps_every_acknowledged_write() {
    let mut t = TestCluster::start(3, &["--replication", "sync"]);
    let old_leader = t.wait_leader(&ALL, WAIT).await;
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (c, acked, stop) = (t.client.clone(), acked.clone(), stop.clone());
        let mut target = old_leader.clone();
        writers.push(tokio::spawn(async move {
            let mut i = 0i64;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("w{w}-{i}");
                match c.write(&target, &key, json!(i), &Options::default()).await {
                    Outcome::Ok(_) => acked.lock().unwrap().push((key, i)),
                    Outcome::Fail(f) if f.leader.is_some() => target = f.leader.unwrap(),
                    _ => {
                        // Try the nodes in turn until one leads.
                        let ids = c.node_ids();
                        let at = ids.iter().position(|id| *id == target).unwrap_or(0);
                        target = ids[(at + 1) % ids.len()].clone();
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before_kill = acked.lock().unwrap().len();
    assert!(before_kill > 0, "no write was acknowledged before the kill");
    t.node(&old_leader).kill();
    let survivors: Vec<&str> = ALL.iter().copied().filter(|n| *n != old_leader).collect();
    let new_leader = t.wait_leader(&survivors, WAIT).await;
    assert_ne!(new_leader, old_leader);
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // While the old leader is down, the new one cannot commit the entries it had when elected
    // (sync needs every follower), and some of them may have been acknowledged: it serves a
    // leader read only if it has committed them all, else refuses with `behind`. Never stale.
    let mut refused = 0;
    for (key, value) in &acked {
        match t.client.read(&new_leader, key, &Options::default()).await {
            Outcome::Ok(s) => assert_eq!(s.value, json!(value), "stale read of {key} on {new_leader}"),
            Outcome::Fail(f) if f.code == "behind" => refused += 1,
            other => panic!("read of {key} on {new_leader}: {other:?}"),
        }
        if refused > 0 {
            break;
        }
    }
    // The old leader comes back on its address and data, follows, and catches up; the new
    // leader then commits, serves reads, and sync writes go through again.
    t.node(&old_leader).restart().unwrap();
    for (key, value) in &acked {
        let got = wait_value(&t.client, &new_leader, key, &Options::default(), WAIT, |_| true).await;
        assert_eq!(
            got,
            json!(value),
            "acknowledged write {key}={value} lost in failover"
        );
    }
    let (last_key, last_value) = acked.last().cloned().unwrap();
    wait_value(&t.client, &old_leader, &last_key, &any(), WAIT, |v| {
        *v == json!(last_value)
    })
    .await;
    let after = t
        .client
        .write(&new_leader, "after", json!(1), &Options::default())
        .await;
    assert!(after.is_ok(), "write after the old leader rejoined: {after:?}");
    let status = t.client.status(&old_leader).await.unwrap();
    assert_eq!(
        (status.role.as_str(), status.leader.as_deref()),
        ("follower", Some(new_leader.as_str()))
    );
    eprintln!(
        "{} acknowledged writes ({before_kill} before the kill) all survived; leader reads refused during the outage: {refused}",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn async_follower_reads_are_stale_and_read_your_writes_waits() {
    let t = TestCluster::start_proxied(3, &["--replication", "async"]).await;
    let c = &t.client;
    let leader = t.wait_leader(&ALL, WAIT).await;
    assert_eq!(leader, "n1");
    assert!(c.write("n1", "x", json!(1), &Options::default()).await.is_ok());
    wait_value(c, "n3", "x", &any(), WAIT, |v| *v == json!(1)).await;
    t.set_link("n1", "n3", false);
    let acked = c.write("n1", "x", json!(2), &Options::default()).await;
    let pos = acked
        .ok()
        .expect("async write acknowledged by the leader alone")
        .pos;
    // The follower answers from its own state, which does not have the acknowledged write.
    let stale = c.read("n3", "x", &any()).await;
    assert_eq!(
        ok_value(stale.clone(), "stale read"),
        json!(1),
        "expected a stale read, got {stale:?}"
    );
    assert!(stale.ok().unwrap().pos < pos);
    let ryw = Options {
        read: Some("any".into()),
        after: Some(pos),
        ..Options::default()
    };
    let behind = c.read("n3", "x", &ryw).await;
    assert_eq!(
        (behind.kind(), behind.failure().map(|f| f.code.as_str())),
        ("fail", Some("behind"))
    );
    assert_eq!(ryw_read(c, "n2", &ryw).await, json!(2), "ryw on n2");
    t.set_link("n1", "n3", true);
    assert_eq!(ryw_read(c, "n3", &ryw).await, json!(2), "ryw after heal");
}

/// A read-your-writes read of `x` on `node`, retried while the node answers `behind` (it waits
/// up to `--ryw-wait-ms` each time, which a loaded machine can outlast), up to `WAIT`. Any
/// successful read is returned, so a stale one fails the caller's assertion.
async fn ryw_read(c: &StoreClient, node: &str, ryw: &Options) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let result = c.read(node, "x", ryw).await;
        let behind = result.failure().is_some_and(|f| f.code == "behind");
        if !behind || tokio::time::Instant::now() >= deadline {
            return ok_value(result, "read-your-writes read");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_your_writes_by_timestamp_waits_until_the_node_is_current() {
    let t = TestCluster::start_proxied(3, &["--replication", "async"]).await;
    let c = &t.client;
    t.wait_leader(&ALL, WAIT).await;
    assert!(c.write("n1", "x", json!(1), &Options::default()).await.is_ok());
    wait_value(c, "n3", "x", &any(), WAIT, |v| *v == json!(1)).await;
    t.set_link("n1", "n3", false);
    assert!(c.write("n1", "x", json!(2), &Options::default()).await.is_ok());
    let acked_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let ryw = Options {
        read: Some("any".into()),
        after_ts: Some(acked_at),
        ..Options::default()
    };
    // n3 hears nothing from the leader: it cannot claim to be current, so it refuses.
    let behind = c.read("n3", "x", &ryw).await;
    assert_eq!(
        (behind.kind(), behind.failure().map(|f| f.code.as_str())),
        ("fail", Some("behind")),
        "{behind:?}"
    );
    assert_eq!(ok_value(c.read("n2", "x", &ryw).await, "n2 is current"), json!(2));
    assert_eq!(ok_value(c.read("n1", "x", &ryw).await, "the leader"), json!(2));
    t.set_link("n1", "n3", true);
    assert_eq!(
        ok_value(c.read("n3", "x", &ryw).await, "n3 after the heal"),
        json!(2)
    );
    // With no write since, the heartbeats alone keep a follower current.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = Options {
        after_ts: Some(acked_at + 150_000_000),
        ..ryw
    };
    assert_eq!(ok_value(c.read("n3", "x", &later).await, "idle"), json!(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_needs_every_follower_and_semi_sync_one() {
    let semi = TestCluster::start_proxied(3, &["--replication", "semi-sync"]).await;
    semi.wait_leader(&ALL, WAIT).await;
    semi.set_link("n1", "n3", false);
    let w = semi.client.write("n1", "x", json!(1), &Options::default()).await;
    assert!(w.is_ok(), "semi-sync with one follower cut: {w:?}");
    drop(semi);

    let sync = TestCluster::start_proxied(3, &["--replication", "sync"]).await;
    sync.wait_leader(&ALL, WAIT).await;
    sync.set_link("n1", "n3", false);
    let w = sync.client.write("n1", "x", json!(1), &Options::default()).await;
    assert_eq!(
        w.kind(),
        "info",
        "sync write without one follower must be indeterminate: {w:?}"
    );
    assert_eq!(w.failure().unwrap().code, "timeout");
    // Indeterminate indeed: the write is in the leader's log and reaches n3 after the heal.
    sync.set_link("n1", "n3", true);
    wait_value(&sync.client, "n3", "x", &any(), WAIT, |v| *v == json!(1)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_isolated_async_leader_steps_down_and_its_unreplicated_writes_are_lost() {
    let t = TestCluster::start_proxied(3, &["--replication", "async"]).await;
    let c = &t.client;
    assert_eq!(t.wait_leader(&ALL, WAIT).await, "n1");
    assert!(
        c.write("n1", "x", json!("before"), &Options::default())
            .await
            .is_ok()
    );
    wait_value(c, "n2", "x", &any(), WAIT, |v| *v == json!("before")).await;
    wait_value(c, "n3", "x", &any(), WAIT, |v| *v == json!("before")).await;
    t.set_links("n1", "n2", false);
    t.set_links("n1", "n3", false);
    // Written at once, before n1 can notice: acknowledged by n1 alone, then lost in failover.
    let lost = c.write("n1", "x", json!("lost"), &Options::default()).await;
    let new_leader = t.wait_leader(&["n2", "n3"], WAIT).await;
    let deadline = std::time::Instant::now() + WAIT;
    while c.status("n1").await.unwrap().role == "leader" {
        assert!(
            std::time::Instant::now() < deadline,
            "isolated n1 never stepped down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let y = c.write(&new_leader, "y", json!(1), &Options::default()).await;
    assert!(y.is_ok(), "write to the new leader {new_leader}: {y:?}");
    t.set_links("n1", "n2", true);
    t.set_links("n1", "n3", true);
    // n1 rejoins as a follower of the higher term; its log is replaced by the new leader's.
    wait_value(c, "n1", "y", &any(), WAIT, |v| *v == json!(1)).await;
    let final_x = ok_value(c.read("n1", "x", &any()).await, "x on n1");
    assert_eq!(final_x, json!("before"));
    assert!(
        lost.is_ok(),
        "n1 should have acknowledged the write before noticing its isolation: {lost:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_leader_is_replaced_and_follows_when_resumed() {
    let mut t = TestCluster::start(3, &["--replication", "semi-sync"]);
    let c = t.client.clone();
    let old = t.wait_leader(&ALL, WAIT).await;
    assert!(c.write(&old, "x", json!(1), &Options::default()).await.is_ok());
    t.node(&old).pause().unwrap();
    let others: Vec<&str> = ALL.iter().copied().filter(|n| *n != old).collect();
    let new = t.wait_leader(&others, WAIT).await;
    assert_eq!(
        ok_value(
            c.read(&new, "x", &Options::default()).await,
            "x on the new leader"
        ),
        json!(1)
    );
    assert!(c.write(&new, "x", json!(2), &Options::default()).await.is_ok());
    t.node(&old).resume().unwrap();
    wait_value(&c, &old, "x", &any(), WAIT, |v| *v == json!(2)).await;
    let leader = t.wait_leader(&ALL, WAIT).await;
    let status = c.status(&old).await.unwrap();
    assert!(
        leader != old || status.term > 2,
        "the resumed node cannot lead its old term: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_cut_off_rejoins_without_deposing_the_leader() {
    let t = TestCluster::start_proxied(3, &["--replication", "async"]).await;
    let c = &t.client;
    assert_eq!(t.wait_leader(&ALL, WAIT).await, "n1");
    let before = c.status("n1").await.unwrap();
    t.set_links("n2", "n1", false);
    t.set_links("n2", "n3", false);
    // Many election timeouts: n2 hears no leader and asks for (pre-)votes it cannot get.
    tokio::time::sleep(Duration::from_secs(4)).await;
    t.set_links("n2", "n1", true);
    t.set_links("n2", "n3", true);
    assert!(c.write("n1", "x", json!(1), &Options::default()).await.is_ok());
    wait_value(c, "n2", "x", &any(), WAIT, |v| *v == json!(1)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = c.status("n1").await.unwrap();
    assert_eq!(
        (after.role.as_str(), after.term),
        ("leader", before.term),
        "n2's return deposed the leader: before {before:?}, after {after:?}"
    );
    assert_eq!(c.status("n2").await.unwrap().term, before.term);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_that_lost_its_pre_votes_still_elects_the_up_to_date_one_when_the_leader_dies() {
    let mut t = TestCluster::start_proxied(3, &["--replication", "async"]).await;
    assert_eq!(t.wait_leader(&ALL, WAIT).await, "n1");
    // n2 hears no leader and loses pre-vote after pre-vote (n3 still hears n1); n3 gets a
    // write n2 never sees, so only n3 can win once n1 is gone.
    t.set_links("n1", "n2", false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = t.client.clone();
    assert!(c.write("n1", "x", json!(1), &Options::default()).await.is_ok());
    wait_value(&c, "n3", "x", &any(), WAIT, |v| *v == json!(1)).await;
    t.node("n1").kill();
    assert_eq!(t.wait_leader(&["n2", "n3"], WAIT).await, "n3");
}
