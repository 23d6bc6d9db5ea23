//! The failover manager's choice of standby under "semi-synchronous" replication
//! (`synchronous_standby_names = 'ANY 1 (*)'`), on real PostgreSQL 15 servers in namespaces:
//! n2 is cut off from the primary n1, a write is acknowledged (n3 alone has it), n1 is killed,
//! so n2 is up but behind and n3 has the write. Promoting the first standby
//! that answers (n2) loses the acknowledged write; promoting the most advanced standby (n3) keeps
//! it. The same scenario, two answers: the check that "most-advanced keeps every acknowledged
//! write" is shown able to fail. Needs root and PostgreSQL (scripts/setup).

use faultline::client::{Options, Outcome};
use faultline::systems::{System, postgres::PgSystem};
use faultline::workload::Workload;
use faultline::workload::generator::GenOp;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn workload(promotes: &str) -> Workload {
    let text = format!(
        r#"
name = "failover-choice"
[cluster]
system = "postgres"
nodes = 3
synchronous_standby_names = "ANY 1 (*)"
failover = true
failover_promotes = "{promotes}"
[generator]
kind = "register"
[client]
timeout = "2s"
[run]
time_limit = "10s"
[check]
checkers = ["linearizability"]
[expect]
verdict = "valid"
because = "not a run: the test drives the system itself"
"#
    );
    Workload::parse("failover-choice", &text).unwrap()
}

fn op(f: &'static str, value: Value) -> GenOp {
    GenOp {
        f,
        key: Some(7),
        value,
        object: Default::default(),
    }
}

/// Writes `value` at `node`; the outcome kind (`ok`, `fail`, `info`).
async fn write(system: &dyn System, node: usize, value: i64) -> &'static str {
    system
        .client()
        .invoke(node, &op("write", json!(value)), &Options::default())
        .await
        .kind()
}

/// The register as `node` reads it.
async fn read(system: &dyn System, node: usize) -> Option<Value> {
    match system
        .client()
        .invoke(node, &op("read", Value::Null), &Options::default())
        .await
    {
        Outcome::Ok(success) => Some(success.value),
        _ => None,
    }
}

/// Runs the scenario; returns the node promoted, the failover record, and the register as the
/// new primary reads it.
async fn scenario(promotes: &str) -> (usize, Value, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let mut system = PgSystem::start(&workload(promotes), dir.path()).await.unwrap();
    assert_eq!(
        write(&system, 0, 1).await,
        "ok",
        "a first write, on every standby"
    );
    let both = Instant::now() + Duration::from_secs(20);
    while read(&system, 1).await != Some(json!(1)) || read(&system, 2).await != Some(json!(1)) {
        assert!(Instant::now() < both, "the standbys never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    system.cut(&BTreeSet::from([(0, 1), (1, 0)])).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        write(&system, 0, 2).await,
        "ok",
        "ANY 1 acknowledges with n3 alone"
    );
    assert_eq!(
        read(&system, 1).await,
        Some(json!(1)),
        "n2 is cut off: it has not the write"
    );
    // n1 dies; n2 stays cut off from it (healed, the dead primary's kernel would still
    // retransmit the WAL it had sent n2), up and behind, while n3 has the write.
    system.kill(0).unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let failover = loop {
        let actions = System::watch(&mut system).await;
        if let Some((_, detail)) = actions.into_iter().find(|(f, _)| f == "failover") {
            break detail;
        }
        assert!(Instant::now() < deadline, "no failover within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let promoted = match failover["to"].as_str() {
        Some("n2") => 1,
        Some("n3") => 2,
        other => panic!("promoted {other:?}: {failover}"),
    };
    let value = read(&system, promoted).await;
    system.cut(&BTreeSet::new()).unwrap();
    system.stop();
    (promoted, failover, value)
}

#[tokio::test(flavor = "multi_thread")]
async fn under_any_1_promoting_the_most_advanced_standby_keeps_the_acknowledged_write_and_the_first_answering_loses_it()
 {
    let (promoted, failover, value) = scenario("most-advanced").await;
    assert_eq!(promoted, 2, "n3 had received the most WAL: {failover}");
    assert!(
        failover["received"]["n3"].is_string(),
        "the positions are recorded: {failover}"
    );
    assert_eq!(
        value,
        Some(json!(2)),
        "the acknowledged write survives the failover"
    );

    let (promoted, failover, value) = scenario("first-answering").await;
    assert_eq!(promoted, 1, "n2 answers first: {failover}");
    assert_eq!(value, Some(json!(1)), "the acknowledged write of 2 is lost on n2");
}
