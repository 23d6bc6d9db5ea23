//! `faultline run --stop-on-violation` end to end: a configuration that breaks linearizability
//! ends long before its time limit once a check of the history so far finds a violation, still
//! heals, settles and reads, and its verdict is the one `faultline check` gives on the saved
//! history; a configuration that keeps its guarantee runs to the time limit. The same for
//! list-append and rw-register, whose watch infers the graph as transactions complete.

mod process_support;

use assert_cmd::Command;
use process_support::{binary, processes_mentioning, workload};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn run(out: &Path, name: &str, time_limit: &str) -> (Option<i32>, String, PathBuf) {
    let assert = Command::new(binary())
        .arg("run")
        .arg(workload(name))
        .args(["--time-limit", time_limit, "--stop-on-violation", "--out"])
        .arg(out)
        .timeout(Duration::from_secs(180))
        .assert();
    let output = assert.get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let dir = std::fs::canonicalize(out.join("latest")).expect("a latest link to the run directory");
    (output.status.code(), stderr, dir)
}

fn json(text: &[u8]) -> serde_json::Value {
    serde_json::from_slice(text).expect("JSON")
}

/// (kind, key) of every anomaly in a linearizability report, sorted.
fn anomalies(report: &serde_json::Value) -> Vec<String> {
    let mut all: Vec<String> = report["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["kind"], a["key"]))
        .collect();
    all.sort();
    all
}

#[test]
fn a_broken_guarantee_ends_the_run_early_with_the_verdict_check_gives() {
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, dir) = run(out.path(), "single-leader-async-follower-reads", "60s");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Stopped early (--stop-on-violation)"), "{stderr}");
    let results = json(&std::fs::read(dir.join("results.json")).unwrap());
    let early = &results["early_stop"];
    assert_eq!(early["checker"], "linearizability", "{results}");
    let at = early["at_s"].as_f64().unwrap();
    assert!(at < 50.0, "found at {at} s of a 60 s run: {results}");
    assert!(
        results["duration_s"].as_f64().unwrap() < 58.0,
        "the run ended before its time limit: {results}"
    );
    assert_eq!(results["verdict"], "invalid");
    assert_eq!(
        early["incremental"], true,
        "the incremental check, fed each event once, found it: {results}"
    );
    // The heal and the final reads still happened after the early end.
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = history.lines().map(|l| json(l.as_bytes())).collect();
    let heal = events
        .iter()
        .position(|e| e["f"] == "heal-all")
        .expect("every fault healed at the end");
    let reads_after_heal = events[heal..]
        .iter()
        .filter(|e| e["f"] == "read" && e["type"] == "ok")
        .count();
    assert!(reads_after_heal > 0, "the final reads followed the heal");
    // The same verdict and anomalies as `faultline check` on the saved history.
    let check = Command::new(binary())
        .args(["check", "--model", "cas-register", "--all-keys", "--json"])
        .arg(dir.join("history.jsonl"))
        .assert()
        .code(1);
    let checked = json(&check.get_output().stdout);
    let from_check = &checked["files"][0]["report"];
    assert_eq!(from_check["verdict"], results["checkers"][0]["verdict"]);
    assert_eq!(anomalies(from_check), anomalies(&results["checkers"][0]));
    let failing_keys: Vec<&serde_json::Value> = (from_check["anomalies"].as_array().unwrap().iter())
        .map(|a| &a["key"])
        .collect();
    assert!(
        failing_keys.contains(&&early["key"]),
        "the key the watch found is one the full check finds: {results}"
    );
    assert_eq!(
        processes_mentioning(out.path().to_str().unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn a_kept_guarantee_runs_to_the_time_limit() {
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, dir) = run(out.path(), "single-leader-sync", "6s");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("Stopped early"), "{stderr}");
    let results = json(&std::fs::read(dir.join("results.json")).unwrap());
    assert!(results.get("early_stop").is_none(), "{results}");
    assert!(results["duration_s"].as_f64().unwrap() >= 6.0, "{results}");
    // The watch looked several times, linearizability incrementally to the end, and it fed
    // events: it watched, and found nothing to stop for.
    let watch = &results["violation_watch"];
    assert!(watch["looks"].as_u64().unwrap() >= 3, "{results}");
    assert_eq!(watch["linear_incremental"], true, "{results}");
    assert!(watch["linear_events_fed"].as_u64().unwrap() > 100, "{results}");
    assert_eq!(
        processes_mentioning(out.path().to_str().unwrap()),
        Vec::<String>::new()
    );
}

/// The dependency graph is inferred as transactions complete; the whole prefix is checked only
/// when that inference sees something: a read that misses the client's own write does
/// (list-append: an async follower; rw-register: a leaderless store writing one replica and
/// reading another).
#[test]
fn a_broken_session_guarantee_on_a_graph_workload_ends_the_run_early() {
    for (name, model, models) in [
        (
            "single-leader-follower-reads-sessions",
            "list-append",
            "read-your-writes,monotonic-reads",
        ),
        ("leaderless-r1-w1", "rw-register", "read-your-writes"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let (code, stderr, dir) = run(out.path(), name, "60s");
        assert_eq!(code, Some(1), "{name}: {stderr}");
        let results = json(&std::fs::read(dir.join("results.json")).unwrap());
        let early = &results["early_stop"];
        assert_eq!(early["checker"], model, "{results}");
        assert!(early["at_s"].as_f64().unwrap() < 50.0, "{results}");
        assert_eq!(results["verdict"], "invalid");
        let watch = &results["violation_watch"];
        assert_eq!(watch["graph_incremental"], true, "{results}");
        assert!(watch["graph_txns_fed"].as_u64().unwrap() > 0, "{results}");
        // The kind that stopped it is one the full check of the saved history reports.
        let check = Command::new(binary())
            .args(["check", "--model", model, "--json", "--consistency-model", models])
            .arg(dir.join("history.jsonl"))
            .assert()
            .code(1);
        let checked = json(&check.get_output().stdout);
        let kinds: Vec<&serde_json::Value> = (checked["files"][0]["report"]["anomalies"]
            .as_array()
            .unwrap()
            .iter())
        .map(|a| &a["kind"])
        .collect();
        assert!(kinds.contains(&&early["kind"]), "{results}\n{checked}");
        assert_eq!(
            processes_mentioning(out.path().to_str().unwrap()),
            Vec::<String>::new()
        );
    }
}

/// A valid list-append run (leader reads, semi-synchronous replication, the leader killed):
/// the inference fed every transaction and never needed the whole prefix checked.
#[test]
fn a_valid_list_append_run_is_watched_without_checking_its_whole_prefix() {
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, dir) = run(out.path(), "single-leader-semi-sync-kill-leader", "8s");
    assert_eq!(code, Some(0), "{stderr}");
    let results = json(&std::fs::read(dir.join("results.json")).unwrap());
    assert!(results.get("early_stop").is_none(), "{results}");
    let watch = &results["violation_watch"];
    assert!(watch["looks"].as_u64().unwrap() >= 3, "{results}");
    assert_eq!(watch["graph_incremental"], true, "{results}");
    assert!(watch["graph_txns_fed"].as_u64().unwrap() > 100, "{results}");
    assert!(watch["graph_edges"].as_u64().unwrap() > 100, "{results}");
    assert_eq!(watch["graph_full_checks"], 0, "{results}");
    assert_eq!(
        processes_mentioning(out.path().to_str().unwrap()),
        Vec::<String>::new()
    );
}
