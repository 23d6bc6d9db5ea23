//! PostgreSQL 15 streaming replication run by the harness: a primary and two hot standbys in
//! their own namespaces, as the `postgres` user. Asynchronous standbys catch up but refuse
//! writes; with FIRST 2 and remote_apply, a commit is visible on every standby when it returns,
//! and commits stall while a standby is down; a promoted standby takes writes. Needs root and
//! PostgreSQL (scripts/setup).

use faultline::systems::SystemOutcome;
use faultline::systems::postgres::{PgClient, PgCluster, Replication};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(3);

async fn connect(cluster: &PgCluster, node: usize) -> PgClient {
    PgClient::connect(&cluster.address(node), TIMEOUT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn async_standbys_catch_up_refuse_writes_and_one_takes_over_when_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = PgCluster::start(2, &Replication::asynchronous(), dir.path())
        .await
        .unwrap();
    let primary = connect(&cluster, 0).await;
    primary.create_table().await.unwrap();
    assert_eq!(primary.write("k", 1).await, SystemOutcome::Ok(()));
    assert_eq!(primary.cas("k", 1, 2).await, SystemOutcome::Ok(true));
    assert_eq!(primary.cas("k", 1, 3).await, SystemOutcome::Ok(false));
    assert_eq!(primary.read("k").await, SystemOutcome::Ok(Some(2)));

    let standby = connect(&cluster, 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while standby.read("k").await != SystemOutcome::Ok(Some(2)) {
        assert!(Instant::now() < deadline, "the standby never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = standby.write("k", 9).await;
    assert!(
        matches!(&refused, SystemOutcome::Fail(e) if e.starts_with("25006")),
        "a hot standby refuses writes: {refused:?}"
    );

    standby.promote().await.unwrap();
    assert_eq!(standby.write("k", 4).await, SystemOutcome::Ok(()));
    assert_eq!(standby.read("k").await, SystemOutcome::Ok(Some(4)));
}

#[tokio::test(flavor = "multi_thread")]
async fn first_2_remote_apply_commits_are_visible_on_every_standby_and_stall_while_one_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let replication = Replication {
        standby_names: "FIRST 2 (n2, n3)".into(),
        commit: "remote_apply".into(),
    };
    let mut cluster = PgCluster::start(2, &replication, dir.path()).await.unwrap();
    let primary = connect(&cluster, 0).await;
    primary.create_table().await.unwrap();
    let standbys = [connect(&cluster, 1).await, connect(&cluster, 2).await];
    for value in 1..=20 {
        assert_eq!(primary.write("k", value).await, SystemOutcome::Ok(()));
        for (i, standby) in standbys.iter().enumerate() {
            assert_eq!(
                standby.read("k").await,
                SystemOutcome::Ok(Some(value)),
                "standby n{} right after the commit of {value}",
                i + 2
            );
        }
    }

    cluster.kill_node(2).unwrap();
    let stalled = primary.write("k", 21).await;
    assert!(
        matches!(stalled, SystemOutcome::Info(_)),
        "a commit waits for the dead standby: {stalled:?}"
    );
    cluster.start_node(2).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let primary = connect(&cluster, 0).await;
        if primary.write("k", 22).await == SystemOutcome::Ok(()) {
            break;
        }
        assert!(Instant::now() < deadline, "commits never resumed");
    }
}
