//! etcd 3.4 run by the harness: three members in their own network namespaces, a register
//! served over the v3 JSON gateway, and a new leader elected when the leader is cut off, while
//! the cut-off member takes no write and serves no read. Needs root and etcd (scripts/setup).

use faultline::systems::SystemOutcome;
use faultline::systems::etcd::{EtcdClient, EtcdCluster};
use std::time::{Duration, Instant};

/// Each member's own id and the leader it follows, once all `members` agree on a leader.
async fn agreed_leader(
    client: &EtcdClient,
    cluster: &EtcdCluster,
    members: &[usize],
    not: Option<&str>,
) -> (Vec<String>, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut ids = Vec::new();
        let mut leaders = Vec::new();
        for &m in members {
            if let Some((me, leader)) = client.status(&cluster.client_url(m)).await {
                ids.push(me);
                leaders.push(leader);
            }
        }
        if leaders.len() == members.len()
            && leaders.iter().all(|l| *l == leaders[0] && l != "0")
            && Some(leaders[0].as_str()) != not
        {
            return (ids, leaders[0].clone());
        }
        assert!(Instant::now() < deadline, "no agreed leader: {leaders:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_register_on_etcd_in_namespaces_fails_over_when_its_leader_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = EtcdCluster::start(3, dir.path()).unwrap();
    let client = EtcdClient::new(Duration::from_secs(2)).unwrap();
    let url = |n: usize| cluster.client_url(n);

    let (ids, leader_id) = agreed_leader(&client, &cluster, &[0, 1, 2], None).await;
    let leader = ids.iter().position(|id| *id == leader_id).unwrap();

    assert_eq!(client.read(&url(0), "absent").await, SystemOutcome::Ok(None));
    assert_eq!(client.write(&url(0), "k", 1).await, SystemOutcome::Ok(()));
    for n in 0..3 {
        assert_eq!(
            client.read(&url(n), "k").await,
            SystemOutcome::Ok(Some(1)),
            "node {n}"
        );
    }
    assert_eq!(client.cas(&url(1), "k", 1, 2).await, SystemOutcome::Ok(true));
    assert_eq!(client.cas(&url(2), "k", 1, 3).await, SystemOutcome::Ok(false));
    assert_eq!(client.read(&url(leader), "k").await, SystemOutcome::Ok(Some(2)));

    // Cut the leader off both ways: the other two elect a new leader and take writes.
    let others: Vec<usize> = (0..3).filter(|&n| n != leader).collect();
    let cuts: Vec<(usize, usize)> = others.iter().flat_map(|&o| [(leader, o), (o, leader)]).collect();
    cluster.fabric().cut(&cuts).unwrap();
    let (_, new_leader_id) = agreed_leader(&client, &cluster, &others, Some(&leader_id)).await;
    assert_ne!(new_leader_id, leader_id);
    assert_eq!(client.write(&url(others[0]), "k", 4).await, SystemOutcome::Ok(()));
    assert_eq!(
        client.read(&url(others[1]), "k").await,
        SystemOutcome::Ok(Some(4))
    );

    // The cut-off member can neither commit a write nor serve a linearizable read.
    let write = client.write(&url(leader), "k", 5).await;
    assert!(matches!(write, SystemOutcome::Info(_)), "{write:?}");
    let read = client.read(&url(leader), "k").await;
    assert!(matches!(read, SystemOutcome::Fail(_)), "{read:?}");

    // Healed, it catches up; the write it could not commit never surfaces as acknowledged.
    cluster.fabric().heal().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let read = client.read(&url(leader), "k").await;
        if let SystemOutcome::Ok(Some(v)) = read {
            assert!(v == 4 || v == 5, "read {v} after the heal");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the healed member never served a read: {read:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let namespace = cluster.fabric().namespace(0);
    drop(cluster);
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&namespace),
        "namespaces removed"
    );
}
