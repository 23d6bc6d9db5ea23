//! The single-leader commit point on real node processes: a write that is in logs but not
//! committed (sync replication with a follower cut off) is never visible to a leader read, a
//! follower read or an `after=` read, nor does a refusal reveal it; once committed it is visible
//! everywhere. A deposed (isolated or killed) sync leader's uncommitted write is never seen,
//! before or after the new leader, which lacks it, takes over.

mod store_support;

use faultline::client::{Options, Outcome, StoreClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store_support::{TestCluster, any, ok_value, wait_value};

const ALL: [&str; 3] = ["n1", "n2", "n3"];
const WAIT: Duration = Duration::from_secs(10);

/// Reads `key` on `node` with `opts`: the value if served, `None` if refused (not_leader,
/// behind) or the node is down; panics on anything else.
async fn read_or_refused(c: &StoreClient, node: &str, key: &str, opts: &Options) -> Option<Value> {
    match c.read(node, key, opts).await {
        Outcome::Ok(s) => Some(s.value),
        Outcome::Fail(f) if ["not_leader", "behind", "connect"].contains(&f.code.as_str()) => None,
        other => panic!("read {key} on {node}: {other:?}"),
    }
}

/// For `during`, reads `key` on every node (leader reads and follower reads) and asserts that
/// none returns `forbidden`.
async fn never_seen(c: &StoreClient, key: &str, forbidden: &Value, during: Duration) {
    let end = Instant::now() + during;
    while Instant::now() < end {
        for node in ALL {
            for opts in [Options::default(), any()] {
                if let Some(v) = read_or_refused(c, node, key, &opts).await {
                    assert_ne!(
                        &v, forbidden,
                        "{node} ({:?}) served the uncommitted value",
                        opts.read
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn last_log_index(c: &StoreClient, node: &str) -> u64 {
    c.status(node).await.unwrap().detail["last_log_index"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_uncommitted_sync_write_is_invisible_until_committed() {
    let t = TestCluster::start_proxied(3, &["--replication", "sync"]).await;
    let c = t.client.clone();
    assert_eq!(t.wait_leader(&ALL, WAIT).await, "n1");
    assert!(c.write("n1", "x", json!(0), &Options::default()).await.is_ok());
    wait_value(&c, "n3", "x", &any(), WAIT, |v| *v == json!(0)).await;
    t.set_link("n1", "n3", false);
    let writer = {
        let c = c.clone();
        tokio::spawn(async move { c.write("n1", "x", json!(1), &Options::default()).await })
    };
    // The entry reaches n1's and n2's logs, but sync cannot commit it without n3.
    let deadline = Instant::now() + WAIT;
    while last_log_index(&c, "n2").await < 2 {
        assert!(Instant::now() < deadline, "the write never reached n2's log");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pos = last_log_index(&c, "n2").await;
    assert_eq!(c.status("n2").await.unwrap().applied, pos - 1);
    never_seen(&c, "x", &json!(1), Duration::from_millis(300)).await;
    assert_eq!(
        ok_value(c.read("n1", "x", &Options::default()).await, "leader read"),
        json!(0)
    );
    // A read-your-writes read for that position waits for it to commit, not just to arrive.
    let after = Options {
        read: Some("any".into()),
        after: Some(pos),
        ..Options::default()
    };
    let behind = c.read("n2", "x", &after).await;
    assert_eq!(
        behind.failure().map(|f| f.code.as_str()),
        Some("behind"),
        "{behind:?}"
    );
    // A cas decided against the uncommitted entry does not reveal it: it waits for the entry to
    // commit and, as that does not happen in time, fails without naming a value.
    let cas = c.cas("n1", "x", json!(0), json!(5), &Options::default()).await;
    let failure = cas.failure().expect("the cas must fail");
    assert_eq!(
        (cas.kind(), failure.code.as_str()),
        ("fail", "unavailable"),
        "{cas:?}"
    );
    let w = writer.await.unwrap();
    assert_eq!(
        (w.kind(), w.failure().map(|f| f.code.as_str())),
        ("info", Some("timeout")),
        "{w:?}"
    );
    never_seen(&c, "x", &json!(1), Duration::from_millis(200)).await;
    // Healed: n3 gets the entry, it commits, and it is visible everywhere. (n3, which heard no
    // leader meanwhile, has stood for elections in higher terms: n1 may have stepped down for a
    // new leader, which commits the entry in its own term.)
    t.set_link("n1", "n3", true);
    for node in ALL {
        wait_value(&c, node, "x", &after, WAIT, |v| *v == json!(1)).await;
    }
    let leader = t.wait_leader(&ALL, WAIT).await;
    let read = wait_value(&c, &leader, "x", &Options::default(), WAIT, |_| true).await;
    assert_eq!(read, json!(1));
    let cas = c.cas(&leader, "x", json!(0), json!(5), &Options::default()).await;
    assert_eq!(
        cas.failure().map(|f| f.code.as_str()),
        Some("cas_mismatch"),
        "{cas:?}"
    );
}

/// The old leader n1 gets a write into its own log only (its outgoing links are cut), then is
/// isolated or killed; the new leader lacks the write, which must never be seen.
async fn deposed_leader_write_is_never_seen(kill: bool) {
    let mut t = TestCluster::start_proxied(3, &["--replication", "sync"]).await;
    let c = t.client.clone();
    assert_eq!(t.wait_leader(&ALL, WAIT).await, "n1");
    assert!(c.write("n1", "x", json!(0), &Options::default()).await.is_ok());
    for node in ["n2", "n3"] {
        wait_value(&c, node, "x", &any(), WAIT, |v| *v == json!(0)).await;
    }
    t.set_link("n1", "n2", false);
    t.set_link("n1", "n3", false);
    let writer = {
        let c = c.clone();
        tokio::spawn(async move { c.write("n1", "x", json!("lost"), &Options::default()).await })
    };
    let deadline = Instant::now() + WAIT;
    while last_log_index(&c, "n1").await < 2 {
        assert!(Instant::now() < deadline, "the write never reached n1's log");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // n1 still leads for a moment: its leader reads do not see the entry.
    if let Some(v) = read_or_refused(&c, "n1", "x", &Options::default()).await {
        assert_eq!(v, json!(0));
    }
    if kill {
        t.node("n1").kill();
    } else {
        t.set_link("n2", "n1", false);
        t.set_link("n3", "n1", false);
    }
    let new_leader = t.wait_leader(&["n2", "n3"], WAIT).await;
    let lost = writer.await.unwrap();
    assert_eq!(lost.kind(), "info", "{lost:?}");
    // The new leader had committed everything it had when elected: it serves leader reads.
    assert_eq!(
        ok_value(
            c.read(&new_leader, "x", &Options::default()).await,
            "new leader read"
        ),
        json!(0)
    );
    // A write in the new term cannot commit without n1 (sync), but it makes the new leader's
    // log more up-to-date than n1's, so n1 cannot win an election when it is back.
    let y = c.write(&new_leader, "y", json!(1), &Options::default()).await;
    assert_eq!(y.kind(), "info", "sync write with n1 out: {y:?}");
    never_seen(&c, "x", &json!("lost"), Duration::from_millis(200)).await;
    if kill {
        t.node("n1").restart().unwrap();
    } else {
        for (a, b) in [("n1", "n2"), ("n1", "n3"), ("n2", "n1"), ("n3", "n1")] {
            t.set_link(a, b, true);
        }
    }
    // n1 follows the new leader (possibly after disrupting it with the terms it stood for
    // alone): its uncommitted tail is replaced, and y commits.
    for node in ALL {
        wait_value(&c, node, "y", &any(), WAIT, |v| *v == json!(1)).await;
    }
    never_seen(&c, "x", &json!("lost"), Duration::from_millis(500)).await;
    let leader = t.wait_leader(&ALL, WAIT).await;
    assert_ne!(leader, "n1", "n1's log is less up-to-date than the others'");
    let read = wait_value(&c, &leader, "x", &Options::default(), WAIT, |_| true).await;
    assert_eq!(read, json!(0));
    let log = std::fs::read_to_string(t.log_path("n1")).unwrap();
    assert!(log.contains("dropping uncommitted entries 2..=2"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_isolated_sync_leaders_uncommitted_write_is_never_seen() {
    deposed_leader_write_is_never_seen(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_sync_leaders_uncommitted_write_is_never_seen() {
    deposed_leader_write_is_never_seen(true).await;
}
